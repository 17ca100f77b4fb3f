import { clearLine, createInterface, cursorTo } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { webApi } from "@slack/bolt";
import { type Config, ConfigError, type Env, loadConfig } from "../../src/config.js";
import { AppError } from "../../src/domain/errors.js";
import type { HostResolver, LogLevel } from "../../src/domain/ports.js";
import { createLogger } from "../../src/logger.js";
import type { Bot, startBot } from "../../src/main.js";
import { describeStoreUrl } from "../../src/store/index.js";
import { SlackEmulator, type SlackEmulatorOptions } from "../slack-emulator/index.js";
import { ConsoleSession } from "./session.js";

export { CONSOLE_HELP, type ConsoleCommand, parseCommand, splitArgs } from "./commands.js";
export * from "./render.js";
export { ConsoleSession, escapeCommandText } from "./session.js";

/** Who may do what in the console unless the environment says otherwise: approval flows work at once. */
export const DEFAULT_CONSOLE_ROLES = {
  ADMIN_USERS: "U0ALICE",
  APPROVER_USERS: "U0ALICE,U0BOB",
  OPERATOR_USERS: "U0ALICE,U0BOB",
} as const;

const ROLE_NAMES: Record<keyof typeof DEFAULT_CONSOLE_ROLES, string> = {
  ADMIN_USERS: "admin",
  APPROVER_USERS: "approver",
  OPERATOR_USERS: "operator",
};

/**
 * The console's own store: demo projects and simulated scans never mix with a real run's records
 * (STORE_URL, from the environment or `.env`, is the real bot's). CONSOLE_STORE_URL moves it.
 */
export const CONSOLE_STORE_URL = "sqlite://data/console.sqlite";
const STORE_SETTINGS = ["STORE_URL", "STORE_URL_FILE"];

/** Settings that would point the bot at the real Slack; the console always replaces them. */
/**
 * The console never asks DNS (it must work offline, and the simulator reaches no site): every host name
 * points to one public address. Private addresses and internal names typed in a URL are still refused.
 */
const CONSOLE_DNS: HostResolver = { resolve: async () => ["93.184.215.14"] };

const SLACK_SETTINGS = [
  "SLACK_BOT_TOKEN",
  "SLACK_BOT_TOKEN_FILE",
  "SLACK_SIGNING_SECRET",
  "SLACK_SIGNING_SECRET_FILE",
  "SLACK_APP_TOKEN",
  "SLACK_APP_TOKEN_FILE",
  "SLACK_API_URL",
];

export interface ConsoleReady {
  emulator: SlackEmulator;
  bot: Bot;
  config: Config;
  session: ConsoleSession;
}

export interface ConsoleOptions {
  /** The process environment (Slack settings in it are ignored: the bot talks to the local emulator). */
  env: Env;
  input: Readable;
  output: Writable;
  /** Ends the session as `quit` does (e.g. on SIGTERM). */
  signal?: AbortSignal;
  /** The bot's start function; defaults to the one in src/main.ts. */
  startBot?: typeof startBot;
  /** Emulator settings (users, channels, ack timeout). */
  emulator?: SlackEmulatorOptions;
  /** A command's effects are done once the emulator has been quiet this long; default 150 ms. */
  quietMs?: number;
  /** Upper bound of that wait; later changes are shown as they come. Default 5000 ms. */
  settleMaxMs?: number;
  /** Called once the bot is up, before the first input line (tests seed the workspace here). */
  onReady?: (ready: ConsoleReady) => void | Promise<void>;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

/**
 * The environment the bot runs with in the console: Slack settings point at the emulator, the store is
 * the console's own (CONSOLE_STORE_URL), PORT is picked freely, and the roles default to
 * DEFAULT_CONSOLE_ROLES where the environment does not set them.
 */
export function consoleEnv(
  env: Env,
  slack: { botToken: string; signingSecret: string; apiUrl: string },
): Env {
  const out: Env = { ...env };
  for (const name of [...SLACK_SETTINGS, ...STORE_SETTINGS]) delete out[name];
  for (const [name, value] of Object.entries(DEFAULT_CONSOLE_ROLES)) {
    if (nonEmpty(out[name]) === undefined) out[name] = value;
  }
  return {
    ...out,
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: slack.signingSecret,
    SLACK_API_URL: slack.apiUrl,
    STORE_URL: nonEmpty(env.CONSOLE_STORE_URL) ?? CONSOLE_STORE_URL,
    PORT: "0",
  };
}

/** Role names per user ID from the role settings; user group IDs (S…) count for their members. */
export function consoleRoles(
  env: Env,
  groups: ReadonlyArray<{ id: string; users: string[] }>,
): Map<string, string[]> {
  const roles = new Map<string, string[]>();
  for (const [name, role] of Object.entries(ROLE_NAMES)) {
    const ids = (env[name] ?? "").split(/[\s,]+/).filter(Boolean);
    const users = ids.flatMap((id) => groups.find((g) => g.id === id)?.users ?? [id]);
    for (const user of new Set(users)) roles.set(user, [...(roles.get(user) ?? []), role]);
  }
  return roles;
}

function logLine(line: string): string {
  try {
    const { time: _time, level, msg, ...fields } = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : "";
    const text = `${String(msg)}${extra}`;
    return `[bot ${String(level)}] ${text.length > 500 ? `${text.slice(0, 500)}…` : text}\n`;
  } catch {
    return `[bot] ${line}`;
  }
}

function banner(
  config: Config,
  bot: Bot,
  emulator: SlackEmulator,
  session: ConsoleSession,
  roles: Map<string, string[]>,
  ignored: string[],
): string {
  const people = emulator.users().filter((u) => !u.isBot && !u.deleted);
  const width = Math.max(...people.map((u) => u.name.length)) + 1;
  const userLines = people.map(
    (u, i) =>
      `${i === 0 ? "  Users:    " : "            "}${`@${u.name}`.padEnd(width + 1)} ${u.id.padEnd(10)} ${
        roles.get(u.id)?.join(", ") ?? "no role"
      }${u.id === session.user ? "   <- you" : ""}`,
  );
  const channels = emulator
    .channels()
    .filter((c) => !c.isIm && !c.isMpim)
    .map((c) => `#${c.name}`)
    .join(", ");
  const scanner =
    config.scanner === "simulator"
      ? "simulator (built in; no real target is scanned)"
      : `Crashtest API at ${config.crashtest.apiUrl}: scans are REAL and hit real targets`;
  return [
    "Crashtest ChatOps console: LOCAL ONLY. Slack is emulated on this machine; nothing reaches Slack.",
    ...(ignored.length > 0 ? [`  (${ignored.join(" and ")} in the environment are ignored here.)`] : []),
    `  Bot:      running in-process in HTTP mode on port ${bot.port}`,
    `  Store:    ${describeStoreUrl(config.storeUrl)}`,
    `  Scanner:  ${scanner}`,
    ...userLines,
    `  Channels: ${channels} (you are in ${session.channelLabel(session.channel)})`,
    "Type a slash command such as /crashtest help, or `help` for console commands; `quit` or Ctrl-D exits.",
    "",
  ].join("\n");
}

/**
 * Runs the bot against a local Slack emulator and lets a person drive it from a terminal, or a script
 * through a pipe (one command per line, each one's effects awaited). Resolves to the exit code.
 */
export async function runConsole(options: ConsoleOptions): Promise<number> {
  const { env, input, output } = options;
  const say = (text: string) => output.write(text.endsWith("\n") ? text : `${text}\n`);
  if (env.NODE_ENV === "production") {
    say("The console is a development tool and does not run with NODE_ENV=production.");
    return 1;
  }
  const start = options.startBot ?? (await import("../../src/main.js")).startBot;
  const quietMs = options.quietMs ?? 150;
  const settleMaxMs = options.settleMaxMs ?? 5000;

  // Output goes through `write`, which keeps an interactive prompt intact.
  let write: (text: string) => void = (text) => output.write(text);

  const emulator = await SlackEmulator.start(options.emulator);
  let config: Config;
  let bot: Bot;
  try {
    const botEnv = consoleEnv(env, emulator);
    config = loadConfig(botEnv);
    if (config.slack.mode === "unconfigured")
      throw new Error("the emulator's Slack settings were not accepted");
    const level: LogLevel = nonEmpty(env.LOG_LEVEL) !== undefined ? config.logLevel : "warn";
    const logger = createLogger({ level, secrets: config.secrets, write: (line) => write(logLine(line)) });
    bot = await start(config, config.slack, {
      logger,
      clientOptions: { retryConfig: webApi.retryPolicies.rapidRetryPolicy },
      resolver: CONSOLE_DNS,
    });
  } catch (error) {
    await emulator.close();
    if (error instanceof ConfigError) say(error.message);
    else if (error instanceof AppError) say(`Start-up failed: ${error.userMessage}`);
    else say(`Start-up failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  emulator.requestUrl = `http://127.0.0.1:${bot.port}/slack/events`;

  const people = emulator.users().filter((u) => !u.isBot && !u.deleted);
  const channels = emulator.channels().filter((c) => !c.isIm && !c.isMpim);
  const roles = consoleRoles(consoleEnv(env, emulator), emulator.userGroups());
  const session = new ConsoleSession({
    emulator,
    write: (text) => write(text),
    roles,
    user: people[0]?.id ?? "",
    channel: channels[0]?.id ?? "",
    quietMs,
    settleMaxMs,
  });
  const ignored = [
    ...(SLACK_SETTINGS.some((name) => nonEmpty(env[name]) !== undefined) ? ["the SLACK_* settings"] : []),
    ...(STORE_SETTINGS.some((name) => nonEmpty(env[name]) !== undefined)
      ? ["STORE_URL (CONSOLE_STORE_URL sets the console's store)"]
      : []),
  ];
  say(banner(config, bot, emulator, session, roles, ignored));

  const terminal = Boolean((input as { isTTY?: boolean }).isTTY && (output as { isTTY?: boolean }).isTTY);
  const rl = createInterface(terminal ? { input, output, terminal: true } : { input, terminal: false });
  const queue: string[] = [];
  let ended = false;
  let interrupted = false;
  let busy = false;
  let promptShown = false;
  let wake: (() => void) | undefined;
  const poke = () => wake?.();

  const showPrompt = () => {
    if (!terminal) return;
    rl.setPrompt(session.prompt());
    rl.prompt(true);
    promptShown = true;
  };
  if (terminal) {
    write = (text) => {
      if (promptShown) {
        clearLine(output, 0);
        cursorTo(output, 0);
        promptShown = false;
        setImmediate(() => {
          if (!busy && !ended && !promptShown) showPrompt();
        });
      }
      output.write(text);
    };
  }

  // Changes that arrive while the user is idle (a scan finishing) are shown once things are quiet.
  let background: NodeJS.Timeout | undefined;
  const flushLater = () => {
    clearTimeout(background);
    background = setTimeout(() => {
      if (!busy && session.hasPending) session.flush();
    }, quietMs);
  };
  session.onActivity = () => {
    if (!busy) flushLater();
  };

  rl.on("line", (line) => {
    queue.push(line);
    poke();
  });
  rl.on("close", () => {
    ended = true;
    poke();
  });
  rl.on("SIGINT", () => {
    write("\n");
    interrupted = true;
    ended = true;
    queue.length = 0;
    rl.close();
  });
  const abort = () => {
    ended = true;
    queue.length = 0;
    poke();
  };
  options.signal?.addEventListener("abort", abort, { once: true });
  if (options.signal?.aborted) abort();

  try {
    if (options.onReady) {
      busy = true;
      await options.onReady({ emulator, bot, config, session });
      await session.settle();
      busy = false;
    }
    for (;;) {
      const line = queue.shift();
      if (line === undefined) {
        if (ended) break;
        showPrompt();
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      busy = true;
      promptShown = false;
      clearTimeout(background);
      if (session.hasPending) session.flush();
      if (!terminal) write(`${session.prompt()}${line}\n`);
      const quit = await session.handle(line);
      busy = false;
      if (quit) break;
      // What came after the command's answer (while it was still busy) shows without another Enter.
      if (session.hasPending) flushLater();
    }
  } finally {
    busy = true;
    clearTimeout(background);
    if (promptShown) output.write("\n");
    options.signal?.removeEventListener("abort", abort);
    rl.close();
    // At the end of a script, let the last command finish its work (bounded) before stopping.
    if (!interrupted && !options.signal?.aborted) await session.settle();
    else if (session.hasPending) session.flush();
    say("Stopping the bot...");
    try {
      await bot.stop();
    } finally {
      if (session.hasPending) session.flush();
      session.close();
      await emulator.close();
    }
    say("Bye.");
  }
  return 0;
}
