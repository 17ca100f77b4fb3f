import { AppError, type ErrorKind } from "../domain/errors.js";
import type { HttpResponse, RetryMode } from "./transport.js";

/**
 * One mapping from an HTTP failure to an AppError for every API the bot calls. Each API supplies
 * its wording (who to blame, where to look) and may specialize any answer it knows better (e.g.
 * DAST Essentials' RFC 7807 error codes); everything else maps the same way everywhere.
 */

export interface FailureContext {
  /** For logs, e.g. "startScan". */
  operation: string;
  /** What the call was about, e.g. `scan 390 of project 12`. */
  subject: string;
  retry: RetryMode;
}

export interface Mapped {
  kind: ErrorKind;
  message: string;
  retryable?: boolean;
}

export interface ApiWording<C extends FailureContext = FailureContext> {
  /** Name in user-facing messages, e.g. "Crashtest". */
  service: string;
  /** 401, and 403 when `permission` is not given. */
  auth(context: C): string;
  /** 403 as a permission error; without it a 403 is an auth error. */
  permission?(context: C): string;
  notFound?(context: C): string;
  /** `wait` is e.g. "12 s" or "a little while". */
  rateLimited?(wait: string): string;
  /** A 3xx (the transport follows none). */
  redirect?(): string;
  /** Any other 4xx, with the server's words when it gave any. */
  rejected?(context: C, words: string | undefined, status: number): string;
  /** A 5xx; `ambiguous` when a request that is not idempotent may have been carried out. */
  unavailable?(status: number, ambiguous: boolean): string;
  /** The server's own words for a failure, already scrubbed and bounded (default: `message` of a JSON body). */
  serverWords?(response: HttpResponse): string | undefined;
  /** Answers this API knows better than the status; consulted first. */
  specialize?(response: HttpResponse, context: C, words: string | undefined): Mapped | undefined;
}

/** The cause of a status failure: what the server answered, for logs (never its body). */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly operation: string,
  ) {
    super(`${operation}: HTTP ${status}`);
    this.name = "HttpStatusError";
  }
}

/** Retry-After in ms (delta-seconds or HTTP date), or undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === "") return undefined;
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** `ambiguous`: a non-idempotent request may have been carried out before the failure. */
export function unavailableMessage(service: string, ambiguous: boolean, network: boolean): string {
  if (ambiguous) {
    return `${service} did not confirm the request; it may still have been carried out. Check the scan status before trying again.`;
  }
  return network
    ? `${service} cannot be reached right now (network error or timeout). Try again in a few minutes.`
    : `${service} is having trouble right now. Try again in a few minutes.`;
}

/** Turns a non-2xx response into the matching AppError. */
export function statusFailure<C extends FailureContext>(
  api: ApiWording<C>,
  response: HttpResponse,
  context: C,
  scrub: (text: string) => string = (text) => text,
): AppError {
  const { status } = response;
  const words = api.serverWords ? api.serverWords(response) : jsonMessage(response, scrub);
  const detail = `${context.operation}: HTTP ${status} for ${context.subject}${words ? `: ${words}` : ""}`;
  const make = (mapped: Mapped, retryAfterMs?: number) =>
    new AppError(mapped.kind, mapped.message, {
      cause: new HttpStatusError(status, context.operation),
      detail,
      retryable: mapped.retryable ?? false,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  const special = api.specialize?.(response, context, words);
  if (special) return make(special);
  const service = api.service;
  if (status === 401 || (status === 403 && api.permission === undefined)) {
    return make({ kind: "auth", message: api.auth(context) });
  }
  if (status === 403 && api.permission) return make({ kind: "permission", message: api.permission(context) });
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(response.headers["retry-after"]);
    const wait = retryAfterMs === undefined ? "a little while" : `${Math.ceil(retryAfterMs / 1000)} s`;
    const message = api.rateLimited?.(wait) ?? `${service} is rate-limiting the bot; try again in ${wait}.`;
    return make({ kind: "rate_limited", message, retryable: true }, retryAfterMs);
  }
  if (status >= 500) {
    // A 5xx after a POST was sent may follow a change the server did make.
    const ambiguous = context.retry === "unsent-only";
    const message = api.unavailable?.(status, ambiguous) ?? unavailableMessage(service, ambiguous, false);
    return make({ kind: "unavailable", message, retryable: true });
  }
  if (status === 404) {
    const message = api.notFound?.(context) ?? `${service} does not know ${context.subject}.`;
    return make({ kind: "not_found", message });
  }
  if (status === 409) {
    return make({
      kind: "conflict",
      message: `${service} refused this for ${context.subject}: ${words ?? "conflict"}.`,
    });
  }
  if (status >= 400) {
    const message =
      api.rejected?.(context, words, status) ??
      `${service} rejected the request: ${words ?? `HTTP ${status}`}.`;
    return make({ kind: "validation", message });
  }
  if (status >= 300) {
    // The transport follows no redirect: a new location would need a new signature, and a
    // redirected API key would go to whoever answers there.
    return make({
      kind: "unavailable",
      message:
        api.redirect?.() ??
        `${service} answered with a redirect, which the bot does not follow. Check the configured API URL.`,
    });
  }
  return make({ kind: "unavailable", message: `${service} sent an unexpected answer (HTTP ${status}).` });
}

/** Text from the server, made safe for a message: secrets scrubbed, one line, bounded. */
export function cleanServerText(text: string, scrub: (text: string) => string, max = 200): string {
  const flat = scrub(text.slice(0, max * 4))
    .replace(/\s+/g, " ")
    .trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** `message` of a JSON error body, the shape both Crashtest surfaces use. */
function jsonMessage(response: HttpResponse, scrub: (text: string) => string): string | undefined {
  if (response.bytes.byteLength === 0 || response.bytes.byteLength > 64 * 1024) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(response.bytes).toString("utf8"));
  } catch {
    return undefined;
  }
  const message = (json as { message?: unknown } | null)?.message;
  return typeof message === "string" ? cleanServerText(message, scrub) : undefined;
}
