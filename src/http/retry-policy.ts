import { setTimeout as delay } from "node:timers/promises";
import type { Method } from "./transport.js";

/** The retry policy of the one transport, as data: which failures are retried, how long to wait. */

export interface RetrySettings {
  /** Retries after the first attempt; the failure after the last retry surfaces. */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A longer Retry-After is not waited out in-process: the caller gets rate_limited with the wait. */
  maxRetryAfterMs: number;
  /** Injected by tests so backoff costs no wall time. */
  sleep: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). */
  random: () => number;
}

/**
 * "idempotent": every transient failure is retried (GET, DELETE, and calls that end in the same
 * state when repeated, like a stop).
 * "unsent-only": only failures that prove the server never acted on the request are retried
 * (connection refused or not resolved, connect timeout, 429). A 5xx, a reset or a timeout after
 * sending may follow a change the server did make (a scan that started), so those surface instead.
 */
export type RetryMode = "idempotent" | "unsent-only";

/** Failures that prove the request never reached the server. */
const UNSENT_ERRORS = [
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ENETDOWN",
  "EHOSTDOWN",
  "UND_ERR_CONNECT_TIMEOUT",
] as const;
/** Failures after the request may have been acted on. */
const AMBIGUOUS_ERRORS = [
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
] as const;

/**
 * The retry policy. 401 and 403 are in no list: refused credentials do not improve by asking
 * again. 501 and 505 will not change on a retry either. A 429 says the server did not act, so even
 * a POST waits (Retry-After when given) and tries again.
 */
export const RETRY_POLICY: Readonly<
  Record<RetryMode, { statuses: ReadonlySet<number>; errors: ReadonlySet<string> }>
> = {
  idempotent: {
    statuses: new Set([429, 500, 502, 503, 504]),
    errors: new Set([...UNSENT_ERRORS, ...AMBIGUOUS_ERRORS]),
  },
  "unsent-only": { statuses: new Set([429]), errors: new Set(UNSENT_ERRORS) },
};

/** The retry mode of a method when the caller does not say: only POST and PATCH can double an effect. */
export function defaultRetryMode(method: Method): RetryMode {
  return method === "POST" || method === "PATCH" ? "unsent-only" : "idempotent";
}

export const DEFAULT_RETRY: RetrySettings = {
  maxRetries: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 60_000,
  sleep: (ms) => delay(ms),
  random: Math.random,
};

/** Whether a network error code proves the request never reached the server. */
export function isUnsent(code: string): boolean {
  return (UNSENT_ERRORS as readonly string[]).includes(code);
}

/** Why a failure is worth retrying in this mode, or undefined when it is not. */
export function transientReason(error: Error, mode: RetryMode): string | undefined {
  const { statusCode, code } = error as { statusCode?: number; code?: string };
  const policy = RETRY_POLICY[mode];
  if (typeof statusCode === "number")
    return policy.statuses.has(statusCode) ? `HTTP ${statusCode}` : undefined;
  return code !== undefined && policy.errors.has(code) ? code : undefined;
}

/** The wait before retry number `retry` (1-based). */
export function backoff(settings: RetrySettings, retry: number): number {
  const ceiling = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** (retry - 1));
  // "Equal jitter": at least half the exponential step, so retries never bunch up at zero.
  return Math.round(ceiling / 2 + (settings.random() * ceiling) / 2);
}
