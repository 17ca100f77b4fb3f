/** What one console input line asks for. Pure parsing; the session carries it out. */
export type ConsoleCommand =
  | { kind: "empty" }
  | { kind: "slash"; command: string; text: string }
  | { kind: "help" }
  | { kind: "quit" }
  | { kind: "as"; who?: string }
  | { kind: "channel"; name?: string }
  | { kind: "press"; choice: number; option?: string }
  | { kind: "thread"; message: number }
  | { kind: "show"; message: number }
  | { kind: "history"; count?: number }
  | { kind: "wait"; seconds: number }
  | { kind: "home" }
  | { kind: "modal" }
  | { kind: "submit"; fields: Array<[string, string]> }
  | { kind: "cancel" }
  | { kind: "users" }
  | { kind: "say"; text: string }
  | { kind: "invalid"; message: string };

export const CONSOLE_HELP = [
  "Console commands (everything else starting with / goes to Slack as a slash command):",
  "  /crashtest <text>        run the slash command as the current user in the current channel",
  "  press <n> [option]       press button [n] (or pick an option of select [n]); a bare number works too",
  "  as @alice | as @bob      act as another user (`as` alone lists users and roles)",
  "  channel #security        switch channel (`channel dm` = your DM with the app; alone: list channels)",
  "  thread <n>               show message <n> and its thread replies",
  "  show <n>                 show message <n> again",
  "  history [count]          show the last messages of the current channel (default 10)",
  "  wait <seconds>           let time pass (scripts: give a scan time to run), printing what happens",
  "  say <text>               post a plain message as the current user",
  "  home                     open the app's Home tab",
  "  modal                    show the open modal again",
  '  submit key=value ...     fill in and submit the open modal (quote values with spaces: key="a b")',
  "  cancel                   close the open modal",
  "  help                     this list",
  "  quit                     stop the bot and exit (Ctrl-D works too)",
  "`# ` starts a comment, at the start of a line or after a console command other than say and submit.",
].join("\n");

/** Splits on spaces, keeping "quoted strings" and key="quoted values" together; quotes are removed. */
export function splitArgs(input: string): string[] {
  const out: string[] = [];
  let current = "";
  let quote: string | undefined;
  let started = false;
  for (const ch of input) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) out.push(current);
      current = "";
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (started) out.push(current);
  return out;
}

function positiveInt(word: string | undefined): number | undefined {
  return word !== undefined && /^\d+$/.test(word) && Number(word) > 0 ? Number(word) : undefined;
}

export function parseCommand(line: string): ConsoleCommand {
  const trimmed = line.trim();
  if (trimmed === "" || trimmed === "#" || trimmed.startsWith("# ")) return { kind: "empty" };
  if (trimmed.startsWith("/")) {
    const space = trimmed.search(/\s/);
    return space === -1
      ? { kind: "slash", command: trimmed, text: "" }
      : { kind: "slash", command: trimmed.slice(0, space), text: trimmed.slice(space + 1).trim() };
  }
  // A trailing "  # comment" belongs to the console line; slash text, `say` and `submit` keep their #s.
  const freeText = /^(say|submit)\s/i.test(trimmed);
  const [word = "", ...rest] = (freeText ? trimmed : trimmed.replace(/\s+#(\s.*)?$/, "")).split(/\s+/);
  const arg = rest.join(" ");
  const bare = positiveInt(word);
  if (bare !== undefined) return pressCommand(bare, rest);
  switch (word.toLowerCase()) {
    case "help":
    case "?":
      return { kind: "help" };
    case "quit":
    case "exit":
      return { kind: "quit" };
    case "as":
      return arg ? { kind: "as", who: arg } : { kind: "as" };
    case "channel":
    case "ch":
      return arg ? { kind: "channel", name: arg } : { kind: "channel" };
    case "channels":
      return { kind: "channel" };
    case "users":
    case "whoami":
      return { kind: "users" };
    case "press":
    case "p": {
      const choice = positiveInt(rest[0]);
      if (choice === undefined)
        return { kind: "invalid", message: "Usage: press <n> [option], e.g. press 2" };
      return pressCommand(choice, rest.slice(1));
    }
    case "thread":
    case "show": {
      const message = positiveInt(rest[0]);
      if (message === undefined) return { kind: "invalid", message: `Usage: ${word} <message number>` };
      return { kind: word.toLowerCase() as "thread" | "show", message };
    }
    case "history": {
      const count = positiveInt(rest[0]);
      if (rest.length > 0 && count === undefined)
        return { kind: "invalid", message: "Usage: history [count]" };
      return count === undefined ? { kind: "history" } : { kind: "history", count };
    }
    case "wait": {
      const seconds = positiveInt(rest[0]);
      if (seconds === undefined || seconds > 3600)
        return { kind: "invalid", message: "Usage: wait <seconds> (1-3600)" };
      return { kind: "wait", seconds };
    }
    case "home":
      return { kind: "home" };
    case "modal":
      return { kind: "modal" };
    case "cancel":
    case "close":
      return { kind: "cancel" };
    case "say":
      return arg ? { kind: "say", text: arg } : { kind: "invalid", message: "Usage: say <text>" };
    case "submit": {
      const fields: Array<[string, string]> = [];
      for (const part of splitArgs(arg)) {
        const eq = part.indexOf("=");
        if (eq <= 0) return { kind: "invalid", message: `Usage: submit key=value ... (got "${part}")` };
        fields.push([part.slice(0, eq), part.slice(eq + 1)]);
      }
      return { kind: "submit", fields };
    }
    default:
      return {
        kind: "invalid",
        message: `Unknown console command "${word}". Type \`help\` for the list, or /crashtest help for the bot's.`,
      };
  }
}

function pressCommand(choice: number, rest: string[]): ConsoleCommand {
  const option = splitArgs(rest.join(" ")).join(" ");
  return option ? { kind: "press", choice, option } : { kind: "press", choice };
}
