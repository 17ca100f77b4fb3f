import type { types } from "@slack/bolt";

export type KnownBlock = types.KnownBlock;

/**
 * Slack's Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks); builders enforce them
 * so Slack never rejects a message.
 */
export const LIMITS = {
  blocksPerMessage: 50,
  blocksPerView: 100,
  sectionText: 3000,
  fieldText: 2000,
  fieldsPerSection: 10,
  headerText: 150,
  contextElements: 10,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  messageText: 40_000,
} as const;

export interface SlackMessage {
  /** Notification and screen-reader fallback; always present. */
  text: string;
  blocks: KnownBlock[];
}

/** Escapes the three characters Slack treats as control characters, so user text cannot ping or disguise links. */
export function escapeText(input: string): string {
  // Most text has none of them: one scan instead of three replacements (cards render on every change).
  if (!NEEDS_ESCAPE.test(input)) return input;
  return input.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const NEEDS_ESCAPE = /[&<>]/;

// Control characters, and the invisible/bidirectional ones that can disguise text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/**
 * Report text made safe for mrkdwn: invisible and control characters removed, whitespace flattened
 * (a payload cannot fake new lines or blocks), cut to `max` characters (never inside a surrogate
 * pair), then escaped, so no `<!channel>`, `<@U…>` or `<url|label>` survives. Cutting happens before
 * escaping, so an entity is never cut in half.
 */
export function reportText(input: string, max: number): string {
  // Cut before any pattern runs: report text can be megabytes, and only `max` characters are shown.
  let head = input.length > max * 8 ? input.slice(0, max * 8) : input;
  if (head.length < input.length && /[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1);
  const flat = head.replace(HIDDEN, " ").replace(/\s+/g, " ").trim();
  // A string of at most `max` UTF-16 units has at most `max` characters: only a longer one is split.
  if (flat.length <= max) return escapeText(flat);
  const chars = Array.from(flat);
  const cut = chars.length <= max ? flat : `${chars.slice(0, Math.max(0, max - 1)).join("")}…`;
  return escapeText(cut);
}

/** Cuts to `max` characters, never leaving half an escape entity (`&am`) behind. */
export function truncate(input: string, max: number): string {
  if (input.length <= max) return input;
  return `${input.slice(0, Math.max(0, max - 1)).replace(/&[a-z]*$/, "")}…`;
}

export function section(markdown: string): KnownBlock {
  return { type: "section", text: { type: "mrkdwn", text: truncate(markdown, LIMITS.sectionText) } };
}

export function header(text: string): KnownBlock {
  return {
    type: "header",
    text: { type: "plain_text", text: truncate(text, LIMITS.headerText), emoji: true },
  };
}

export function context(...markdown: string[]): KnownBlock {
  return {
    type: "context",
    elements: markdown
      .slice(0, LIMITS.contextElements)
      .map((text) => ({ type: "mrkdwn" as const, text: truncate(text, LIMITS.sectionText) })),
  };
}

export function divider(): KnownBlock {
  return { type: "divider" };
}

/**
 * Caps a block list to Slack's per-message limit, replacing the overflow with a note so nothing is
 * silently dropped.
 */
export function capBlocks(blocks: KnownBlock[], max: number = LIMITS.blocksPerMessage): KnownBlock[] {
  if (blocks.length <= max) return blocks;
  const kept = blocks.slice(0, max - 1);
  return [...kept, context(`…and ${blocks.length - kept.length} more blocks not shown.`)];
}

export function message(text: string, blocks: KnownBlock[]): SlackMessage {
  return { text: truncate(text, LIMITS.messageText), blocks: capBlocks(blocks) };
}
