import { webApi } from "@slack/bolt";
import { AppError, type ErrorKind } from "../domain/errors.js";

/**
 * The one classifier of Slack failures, over @slack/web-api's typed errors
 * (https://docs.slack.dev/tools/node-slack-sdk/web-api#handle-errors): what a person is told, whether
 * the same request may succeed later, and how long Slack asked to wait.
 */

/** Slack errors a person can act on: what went wrong, and what to do. */
const ACTIONABLE: Record<string, [problem: string, advice?: string]> = {
  not_in_channel: ["The bot is not in this channel", "Invite it with `/invite @crashtest` and try again."],
  channel_not_found: [
    "The bot cannot see this channel",
    "Invite it with `/invite @crashtest` and try again.",
  ],
  is_archived: ["This channel is archived"],
  restricted_action: ["A workspace setting prevents the bot from posting here"],
  msg_too_long: ["The message was too long for Slack"],
};

/**
 * Upload refusals that retrying will not change; https://docs.slack.dev/reference/methods/files.getUploadURLExternal
 * lists the error names.
 */
const UPLOAD_REFUSALS: Record<string, string> = {
  file_uploads_disabled: "file uploads are disabled in this workspace",
  file_uploads_except_images_disabled: "this workspace only allows image uploads",
  file_upload_size_restricted: "the file is larger than this workspace allows",
  missing_scope: "the app lacks the files:write scope",
  not_allowed_token_type: "the bot token may not upload files",
  restricted_action: "a workspace setting prevents the bot from uploading here",
};

/** Slack errors that the same request will get again; all others are worth retrying later. */
const PERMANENT = new Set([
  ...Object.keys(ACTIONABLE),
  ...Object.keys(UPLOAD_REFUSALS),
  "message_not_found",
  "cant_update_message",
  "edit_window_closed",
  "thread_not_found",
  "invalid_blocks",
  "invalid_blocks_format",
  "invalid_metadata_format",
  "invalid_metadata_schema",
  "msg_blocks_too_long",
  "no_text",
  "invalid_arguments",
  "not_authed",
  "invalid_auth",
  "account_inactive",
  "token_revoked",
  "team_access_not_granted",
  "file_not_found",
]);

/** A failed Slack call: `code` is Slack's error name when Slack answered one. */
export class SlackError extends AppError {
  readonly code: string | undefined;
  /** Set for uploads Slack refuses for good: the reason in words, with the code. */
  readonly uploadRefusal: string | undefined;

  constructor(
    kind: ErrorKind,
    userMessage: string,
    options: ConstructorParameters<typeof AppError>[2] & { code?: string; uploadRefusal?: string },
  ) {
    super(kind, userMessage, options);
    this.name = "SlackError";
    this.code = options.code;
    this.uploadRefusal = options.uploadRefusal;
  }
}

/** What went wrong, from the Web client's typed errors. */
function describe(error: unknown): { code?: string; retryAfterMs?: number; reason: string } {
  if (error instanceof webApi.WebAPIPlatformError)
    return { code: error.data.error, reason: error.data.error };
  if (error instanceof webApi.WebAPIRateLimitedError) {
    return { code: "ratelimited", retryAfterMs: error.retryAfter * 1000, reason: "rate limited" };
  }
  if (error instanceof webApi.WebAPIHTTPError) return { reason: `HTTP ${error.statusCode}` };
  if (error instanceof webApi.WebAPIRequestError) return { reason: error.original.message };
  return { reason: error instanceof Error ? error.message : String(error) };
}

/** The one classifier: any failure of a Slack call (`action` names it for logs) as a SlackError. */
export function slackFailure(error: unknown, action: string): SlackError {
  if (error instanceof SlackError) return error;
  const { code, retryAfterMs, reason } = describe(error);
  const detail = `${action} failed: ${reason}`;
  const base = { cause: error, detail, ...(code ? { code } : {}) };
  const refusal = code === undefined ? undefined : UPLOAD_REFUSALS[code];
  if (refusal !== undefined && action.startsWith("files.")) {
    const uploadRefusal = `${refusal} (${code})`;
    return new SlackError("validation", `Slack refused the file: ${uploadRefusal}.`, {
      ...base,
      uploadRefusal,
    });
  }
  const actionable = code === undefined ? undefined : ACTIONABLE[code];
  if (actionable) {
    const [problem, advice] = actionable;
    return new SlackError("validation", `${problem} (${code}).${advice ? ` ${advice}` : ""}`, base);
  }
  if (retryAfterMs !== undefined) {
    return new SlackError("rate_limited", "Slack asked the bot to slow down.", {
      ...base,
      retryable: true,
      retryAfterMs,
    });
  }
  const permanent = code !== undefined && PERMANENT.has(code);
  return new SlackError(
    permanent ? "internal" : "unavailable",
    `Slack did not accept the bot's ${action.split(".")[0] === "files" ? "file" : "message"} (${code ?? "no answer"}).`,
    { ...base, retryable: !permanent },
  );
}
