import type { CommandSpec } from "../commands/table.js";
import { context, escapeText, header, message, type SlackMessage, section } from "./common.js";

const COMMAND = "/crashtest";

function synopsis(spec: CommandSpec<unknown>): string {
  return `\`${COMMAND} ${spec.name}${spec.usage ? ` ${escapeText(spec.usage)}` : ""}\``;
}

/** Slack cuts a section's text at 3,000 characters (https://api.slack.com/reference/block-kit/blocks#section). */
const SECTION_MAX_CHARS = 2900;

/** Lines packed into as few sections as fit, never splitting a line. */
function sections(lines: readonly string[]): string[] {
  const out: string[] = [];
  let current = "";
  for (const line of lines) {
    if (current !== "" && current.length + 1 + line.length > SECTION_MAX_CHARS) {
      out.push(current);
      current = "";
    }
    current = current === "" ? line : `${current}\n${line}`;
  }
  if (current !== "") out.push(current);
  return out;
}

/** Every command in the table's order, in as many sections as Slack's section limit needs. */
export function helpOverview(specs: readonly CommandSpec<unknown>[]): SlackMessage {
  const lines = specs.map((spec) => `${synopsis(spec)}  ${escapeText(spec.summary)}`);
  return message(`${COMMAND} commands:\n${lines.join("\n")}`, [
    header("Crashtest ChatOps"),
    ...sections(lines).map((text) => section(text)),
    context(`\`${COMMAND} help &lt;command&gt;\` explains one command.`),
  ]);
}

/** `help project`: the commands that start with that word, each with its synopsis. */
export function helpGroup(word: string, specs: readonly CommandSpec<unknown>[]): SlackMessage {
  const lines = specs.map((spec) => `${synopsis(spec)}  ${escapeText(spec.summary)}`);
  const aliases = specs.flatMap((spec) =>
    (spec.aliases ?? []).map(
      (alias) => `\`${COMMAND} ${escapeText(alias)}\` is short for \`${COMMAND} ${escapeText(spec.name)}\`.`,
    ),
  );
  const topic = escapeText(word);
  return message(`${COMMAND} ${word} commands:\n${lines.join("\n")}`, [
    section(`*\`${COMMAND} ${topic} …\`*\n${lines.join("\n")}`),
    context([...aliases, `\`${COMMAND} help ${topic} &lt;subcommand&gt;\` explains one.`].join(" ")),
  ]);
}

export function helpFor(spec: CommandSpec<unknown>): SlackMessage {
  const aliases = spec.aliases?.length
    ? `\nAlso: ${spec.aliases.map((a) => `\`${COMMAND} ${a}\``).join(", ")}`
    : "";
  const body = `${synopsis(spec)}\n${escapeText(spec.summary)}${spec.details ? `\n\n${spec.details}` : ""}${aliases}`;
  return message(`${COMMAND} ${spec.name}: ${spec.summary}`, [section(body)]);
}

export function unknownCommand(word: string, suggestions: string[]): SlackMessage {
  const hint =
    suggestions.length > 0
      ? `Did you mean ${suggestions.map((s) => `\`${COMMAND} ${s}\``).join(" or ")}?`
      : `Try \`${COMMAND} help\` for the list of commands.`;
  const text = `Unknown command \`${escapeText(word)}\`. ${hint}`;
  return message(text, [section(text)]);
}
