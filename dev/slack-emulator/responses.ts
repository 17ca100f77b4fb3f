import { optBool, optString, parseNewMessage } from "./content.js";
import type { Workspace } from "./state.js";
import type { JsonObject } from "./types.js";

/** Where a response_url (or a slash command's ack body) lands: the interaction's channel, user and message. */
export interface ResponseTarget {
  channel: string;
  user: string;
  original?: { kind: "message" | "ephemeral"; ts: string };
}

/**
 * Applies a message response as Slack does: `delete_original`, `replace_original` (edits the message the
 * interaction came from), `response_type: "in_channel"` (a new channel message from the app), else an
 * ephemeral message for the user. Throws SlackApiError (`no_text`, `invalid_blocks`, ...) for bad content.
 */
export function applyMessageResponse(
  ws: Workspace,
  target: ResponseTarget,
  body: JsonObject,
  source: "response_url" | "ack",
): void {
  const original = target.original;
  const message = original?.kind === "message" ? ws.findMessage(target.channel, original.ts) : undefined;
  const ephemeral = original?.kind === "ephemeral" ? ws.findEphemeral(target.user, original.ts) : undefined;
  if (optBool(body, "delete_original")) {
    if (message) ws.deleteMessage(message);
    if (ephemeral) ws.deleteEphemeral(ephemeral);
    return;
  }
  const content = parseNewMessage(body);
  if (optBool(body, "replace_original") && (message || ephemeral)) {
    if (message) ws.editMessage(message, content);
    if (ephemeral) ws.editEphemeral(ephemeral, content);
    return;
  }
  const threadTs = optString(body, "thread_ts");
  if (body.response_type === "in_channel") {
    const author = { user: ws.config.bot.userId, fromBot: true };
    ws.addMessage(target.channel, content, author, threadTs ? { threadTs, broadcast: false } : undefined);
  } else {
    ws.addEphemeral(target.channel, target.user, content, source, threadTs);
  }
}
