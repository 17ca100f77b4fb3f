/**
 * Every failure the bot can explain to a person is an AppError: `userMessage` is safe to show in Slack
 * (never holds a secret), `message` is the precise text for logs, `cause` keeps the underlying error.
 * One place (slack/errors.ts) turns these into Slack replies.
 */
export type ErrorKind =
  | "config"
  | "validation"
  | "auth"
  | "permission"
  | "not_found"
  | "conflict"
  | "rate_limited"
  | "unavailable"
  | "unsupported"
  | "store"
  | "internal";

/**
 * A piece of a user-facing message: words, or a person, a channel or a bot command named by what it is
 * (never by chat markup), so that each surface renders them its own way (slack/errors.ts).
 */
export type MessagePart = string | { user: string } | { channel: string } | { command: string };

/** A person (user or user group ID). */
export const person = (user: string): MessagePart => ({ user });
/** A channel ID. */
export const channelNamed = (channel: string): MessagePart => ({ channel });
/** A bot command as typed after the command name, e.g. `scan stop 42`. */
export const command = (text: string): MessagePart => ({ command: text });

/** `say\`Stop it with ${command("scan stop 4")}.\``: a message as parts; plain values become words. */
export function say(strings: TemplateStringsArray, ...values: Array<MessagePart | number>): MessagePart[] {
  const parts: MessagePart[] = [];
  strings.forEach((text, i) => {
    if (text !== "") parts.push(text);
    const value = values[i];
    if (value === undefined) return;
    parts.push(typeof value === "number" ? String(value) : value);
  });
  return parts;
}

/** The parts as plain words, for logs and anything that is not a chat surface. */
export function plainText(parts: readonly MessagePart[]): string {
  return parts
    .map((p) =>
      typeof p === "string"
        ? p
        : "user" in p
          ? `@${p.user}`
          : "channel" in p
            ? `#${p.channel}`
            : `\`${p.command}\``,
    )
    .join("");
}

export interface AppErrorOptions {
  cause?: unknown;
  /** Log-only detail; must not contain secrets. Defaults to the user message. */
  detail?: string;
  /** Whether repeating the same request later may succeed (network, 5xx, 429, timeouts). */
  retryable?: boolean;
  /** Server-requested wait before a retry, in milliseconds. */
  retryAfterMs?: number;
}

export class AppError extends Error {
  readonly kind: ErrorKind;
  /** The user-facing message in plain words; `parts` keeps who and which command apart. */
  readonly userMessage: string;
  readonly parts: readonly MessagePart[];
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(kind: ErrorKind, message: string | readonly MessagePart[], options: AppErrorOptions = {}) {
    const parts = typeof message === "string" ? [message] : message;
    const userMessage = plainText(parts);
    super(options.detail ?? userMessage, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.kind = kind;
    this.parts = parts;
    this.userMessage = userMessage;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** Wraps anything thrown into an AppError without leaking its text to users. */
export function toAppError(error: unknown, fallbackMessage = "Something went wrong on our side."): AppError {
  if (isAppError(error)) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new AppError("internal", fallbackMessage, { cause: error, detail });
}

/**
 * What a person typed, for quoting inside a user-facing message: Slack markup (`<@U…>`, `<!channel>`,
 * `<https://x|y>`) becomes inert look-alikes, and the length is bounded.
 */
export function quoted(text: string, max = 100): string {
  const inert = text.replace(/</g, "‹").replace(/>/g, "›");
  return inert.length > max ? `${inert.slice(0, max - 1)}…` : inert;
}
