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
  readonly userMessage: string;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(kind: ErrorKind, userMessage: string, options: AppErrorOptions = {}) {
    super(options.detail ?? userMessage, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.kind = kind;
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
