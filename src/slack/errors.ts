import { type AppError, type ErrorKind, toAppError } from "../domain/errors.js";
import type { Logger } from "../domain/ports.js";
import { escapeText, message, type SlackMessage, section } from "./blocks/common.js";

const ICON: Record<AppError["kind"], string> = {
  config: ":gear:",
  validation: ":warning:",
  auth: ":closed_lock_with_key:",
  permission: ":no_entry:",
  not_found: ":mag:",
  conflict: ":twisted_rightwards_arrows:",
  rate_limited: ":hourglass:",
  unavailable: ":hourglass:",
  unsupported: ":no_entry_sign:",
  store: ":floppy_disk:",
  internal: ":x:",
};

/** What the person who typed or clicked can put right; the operator need not see it (debug). */
const USER_MISTAKES: ReadonlySet<ErrorKind> = new Set(["validation", "permission", "not_found", "conflict"]);

/**
 * User-facing messages can quote what people typed, so everything is escaped except the mentions the
 * bot writes itself (users, channels, user groups); `<!channel>` and disguised links stay inert.
 */
export function escapeMarkup(text: string): string {
  return escapeText(text).replace(/&lt;([@#][UWCG][A-Z0-9]+|!subteam\^S[A-Z0-9]+)&gt;/g, "<$1>");
}

/**
 * The one place that turns any failure into what a person sees in Slack and what goes to the log.
 * Users get the AppError's safe message; logs get the detail and cause (redacted by the logger).
 */
export function errorReply(
  error: unknown,
  logger: Logger,
  context: Record<string, unknown> = {},
): SlackMessage {
  const appError = toAppError(error);
  const level =
    appError.kind === "internal" || appError.kind === "store"
      ? "error"
      : USER_MISTAKES.has(appError.kind)
        ? "debug"
        : "warn";
  // A stack trace helps with a bug; for anything else the message (and its cause's) says it all.
  const logged =
    level === "error"
      ? appError
      : {
          message: appError.message,
          ...(appError.cause instanceof Error ? { cause: appError.cause.message } : {}),
        };
  logger[level]("request failed", { ...context, kind: appError.kind, error: logged });
  const retry = appError.retryable ? " Try again in a minute." : "";
  const text = `${ICON[appError.kind]} ${escapeMarkup(appError.userMessage)}${retry}`;
  return message(text, [section(text)]);
}
