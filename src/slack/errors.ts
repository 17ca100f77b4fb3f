import { type AppError, type ErrorKind, type MessagePart, toAppError } from "../domain/errors.js";
import type { Logger } from "../domain/ports.js";
import { escapeText, message, type SlackMessage, section } from "./blocks/common.js";
import { SLASH_COMMAND } from "./commands/listener.js";

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

const MENTIONABLE = /^[UW][A-Z0-9]{2,}$/;
const GROUP = /^S[A-Z0-9]{2,}$/;
const CHANNEL = /^[CG][A-Z0-9]{2,}$/;

/**
 * The one place where the people, channels and commands a message names become Slack markup; the
 * words around them (which may quote what people typed) are escaped, so `<!channel>` and disguised
 * links stay inert.
 */
export function renderParts(parts: readonly MessagePart[]): string {
  return parts
    .map((part) => {
      if (typeof part === "string") return escapeText(part);
      if ("user" in part) {
        if (MENTIONABLE.test(part.user)) return `<@${part.user}>`;
        if (GROUP.test(part.user)) return `<!subteam^${part.user}>`;
        return escapeText(`@${part.user}`);
      }
      if ("channel" in part)
        return CHANNEL.test(part.channel) ? `<#${part.channel}>` : escapeText(`#${part.channel}`);
      return `\`${SLASH_COMMAND} ${escapeText(part.command)}\``;
    })
    .join("");
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
  const text = `${ICON[appError.kind]} ${renderParts(appError.parts)}${retry}`;
  return message(text, [section(text)]);
}
