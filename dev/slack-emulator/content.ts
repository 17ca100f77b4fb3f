import { isObject, MESSAGE_MAX_BLOCKS, validateBlocks } from "./block-kit.js";
import type { JsonObject, MessageVersion } from "./types.js";

/** A Slack Web API error, answered as {"ok":false,"error":code,...extra}. */
export class SlackApiError extends Error {
  constructor(
    readonly code: string,
    readonly extra: JsonObject = {},
  ) {
    super(code);
    this.name = "SlackApiError";
  }
}

export function invalidArguments(...messages: string[]): SlackApiError {
  return new SlackApiError("invalid_arguments", {
    response_metadata: { messages: messages.map((m) => `[ERROR] ${m}`) },
  });
}

/** Slack truncates rather than rejects longer message text. */
const MAX_TEXT = 40_000;
const MAX_ATTACHMENTS = 100;

/** Arguments Slack takes as JSON strings in form bodies; decoded once so recorded calls show structure. */
const JSON_FIELDS = ["blocks", "attachments", "view", "files", "metadata"];

export function decodeJsonFields(args: JsonObject): JsonObject {
  const decoded = { ...args };
  for (const key of JSON_FIELDS) {
    const value = decoded[key];
    if (typeof value !== "string" || value === "") continue;
    try {
      decoded[key] = JSON.parse(value);
    } catch {
      // Left as a string: the handler answers with Slack's "*_format" error for it.
    }
  }
  return decoded;
}

export function optString(args: JsonObject, key: string): string | undefined {
  const value = args[key];
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

export function requireString(args: JsonObject, key: string): string {
  const value = optString(args, key);
  if (value === undefined) throw invalidArguments(`missing required field: ${key}`);
  return value;
}

/** Form bodies carry booleans as "true"/"1", JSON bodies as booleans. */
export function optBool(args: JsonObject, key: string): boolean {
  const value = args[key];
  return value === true || value === 1 || value === "true" || value === "1";
}

function objectArray(value: unknown, formatError: string): JsonObject[] {
  if (!Array.isArray(value) || !value.every(isObject)) throw new SlackApiError(formatError);
  return value;
}

/** Message fields present in the arguments, validated; absent fields stay undefined. */
export function parseMessageFields(args: JsonObject): Partial<MessageVersion> {
  const fields: Partial<MessageVersion> = {};
  if (args.blocks !== undefined && args.blocks !== "") {
    const blocks = objectArray(args.blocks, "invalid_blocks_format");
    const errors = validateBlocks(blocks, MESSAGE_MAX_BLOCKS);
    if (errors.length > 0) {
      throw new SlackApiError("invalid_blocks", {
        errors,
        response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) },
      });
    }
    fields.blocks = blocks;
  }
  if (args.attachments !== undefined && args.attachments !== "") {
    const attachments = objectArray(args.attachments, "invalid_attachments");
    if (attachments.length > MAX_ATTACHMENTS) throw new SlackApiError("too_many_attachments");
    fields.attachments = attachments;
  }
  if (args.metadata !== undefined && args.metadata !== "") {
    if (!isObject(args.metadata)) throw new SlackApiError("invalid_metadata_format");
    // Event metadata needs a type name and an object payload.
    const { event_type: type, event_payload: payload } = args.metadata;
    if (
      (type !== undefined || payload !== undefined) &&
      (typeof type !== "string" || type === "" || !isObject(payload))
    ) {
      throw new SlackApiError("invalid_metadata_schema");
    }
    fields.metadata = args.metadata;
  }
  const text = optString(args, "text");
  if (text !== undefined) fields.text = text.slice(0, MAX_TEXT);
  return fields;
}

/** A new message: text, or non-empty blocks or attachments, is required (`no_text`). */
export function parseNewMessage(args: JsonObject): MessageVersion {
  const fields = parseMessageFields(args);
  const hasContent = fields.text !== undefined || !!fields.blocks?.length || !!fields.attachments?.length;
  if (!hasContent) throw new SlackApiError("no_text");
  return { ...fields, text: fields.text ?? "" };
}
