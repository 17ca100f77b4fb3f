import type { IncomingHttpHeaders } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import { Agent, type Dispatcher, RetryAgent, type RetryHandler } from "undici";
import { z } from "zod";
import { AppError } from "../../domain/errors.js";
import type { Logger } from "../../domain/ports.js";
import type { RouteMethod } from "./routes.js";

/**
 * HTTP transport shared by the REST and webhook adapters (and the DAST Essentials adapter, which
 * adds per-attempt HMAC signing through `authorize`): one pooled undici dispatcher, timeouts,
 * transient-failure retries through undici's RetryAgent, and mapping of failures to AppError.
 * It never logs a URL (webhook URLs hold the secret), only operation names and route templates.
 */

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

export interface Timeouts {
  connectMs: number;
  /** Until the response headers arrive; a server that hangs fails here. */
  headersMs: number;
  /** Maximum silence while the body streams. */
  bodyMs: number;
}

export interface TransportOptions {
  /** e.g. https://api.crashtest.cloud; a path prefix is kept. */
  baseUrl: string;
  logger: Logger;
  /** Base dispatcher (pooled); when given, the caller owns and closes it. */
  dispatcher?: Dispatcher;
  timeouts?: Partial<Timeouts>;
  retry?: Partial<RetrySettings>;
  /** Values scrubbed from any server text that reaches an error message. */
  secrets?: readonly string[];
  maxResponseBytes?: number;
  /** Service name in user-facing messages; default "Crashtest". */
  service?: string;
  /** Prefix of log messages ("<name> request failed; retrying"); default "crashtest". */
  logName?: string;
  /**
   * Headers computed for every attempt, retries included, from the exact method and URL sent
   * (origin + path + query): e.g. a Veracode HMAC Authorization header with a fresh nonce.
   */
  authorize?: (method: string, url: string) => Record<string, string>;
}

const DEFAULT_RETRY: RetrySettings = {
  maxRetries: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 60_000,
  sleep: (ms) => delay(ms),
  random: Math.random,
};

const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 10_000, headersMs: 30_000, bodyMs: 120_000 };

/**
 * "idempotent": GET/DELETE, every transient failure is retried.
 * "unsent-only": POST (start scan, create project). Only failures that prove the server never acted
 * on the request are retried (connection refused or not resolved, connect timeout, 429). A 5xx, a
 * reset or a timeout after sending may follow a scan that did start: a REST retry would then be
 * answered with the running scan's ID (harmless), but a webhook retry gets "already running" with
 * no ID, and if the first scan already ended a retry starts a second one. So those surface instead.
 */
export type RetryMode = "idempotent" | "unsent-only";

export interface OutgoingRequest {
  /** For logs, e.g. "startScan". */
  operation: string;
  /** Route template for logs; never the filled path. */
  route: string;
  method: RouteMethod;
  /** Filled path; may contain a webhook secret, so it is never logged. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  retry: RetryMode;
}

export interface IncomingResponse {
  status: number;
  headers: IncomingHttpHeaders;
  bytes: Uint8Array;
}

/** How failures are worded for one adapter and one call. */
export interface FailureContext {
  /** What the call was about, e.g. `scan 390 of project 12`. */
  subject: string;
  /** Where to look when credentials are refused, e.g. "check CRASHTEST_API_KEY". */
  credentialHint: string;
  retry: RetryMode;
}

const UNSENT_ERRORS = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ENETDOWN",
  "EHOSTDOWN",
  "UND_ERR_CONNECT_TIMEOUT",
]);
const AMBIGUOUS_ERRORS = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);
// 501 and 505 will not change on a retry.
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);

/** Why a failure is worth retrying in this mode, or undefined when it is not. */
function transientReason(error: Error, mode: RetryMode): string | undefined {
  const { statusCode, code } = error as { statusCode?: number; code?: string };
  if (typeof statusCode === "number") {
    if (statusCode === 429) return "HTTP 429";
    return mode === "idempotent" && TRANSIENT_STATUS.has(statusCode) ? `HTTP ${statusCode}` : undefined;
  }
  if (code === undefined) return undefined;
  if (UNSENT_ERRORS.has(code)) return code;
  return mode === "idempotent" && AMBIGUOUS_ERRORS.has(code) ? code : undefined;
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
function unavailableMessage(ambiguous: boolean, network: boolean, service = "Crashtest"): string {
  if (ambiguous) {
    return `${service} did not confirm the request; it may still have been carried out. Check the scan status before trying again.`;
  }
  return network
    ? `${service} cannot be reached right now (network error or timeout). Try again in a few minutes.`
    : `${service} is having trouble right now. Try again in a few minutes.`;
}

/** The absolute URL of a dispatch, exactly as it goes on the wire (origin + path with query). */
function requestUrl(opts: Dispatcher.DispatchOptions): string {
  const origin = opts.origin instanceof URL ? opts.origin.origin : String(opts.origin ?? "");
  return `${origin.replace(/\/+$/, "")}${opts.path}`;
}

/** Adds (or replaces, case-insensitively) headers on a dispatch's header object or flat array. */
function withHeaders(
  headers: Dispatcher.DispatchOptions["headers"],
  extra: Record<string, string>,
): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) out[String(headers[i])] = String(headers[i + 1]);
  } else if (headers && typeof (headers as Iterable<unknown>)[Symbol.iterator] === "function") {
    for (const [name, value] of headers as Iterable<[string, string | string[] | undefined]>)
      out[name] = value;
  } else if (headers) {
    Object.assign(out, headers);
  }
  const lower = new Set(Object.keys(extra).map((name) => name.toLowerCase()));
  for (const name of Object.keys(out)) if (lower.has(name.toLowerCase())) delete out[name];
  return { ...out, ...extra };
}

const ServerMessage = z.looseObject({ message: z.string() });

export class CrashtestTransport {
  private readonly origin: string;
  private readonly prefix: string;
  private readonly pool: Dispatcher;
  private readonly ownsPool: boolean;
  private readonly retry: RetrySettings;
  private readonly timeouts: Timeouts;
  private readonly secrets: readonly string[];
  private readonly maxResponseBytes: number;
  private readonly logger: Logger;
  /** Service name for user-facing messages. */
  readonly service: string;
  private readonly logName: string;

  constructor(options: TransportOptions) {
    const base = new URL(options.baseUrl);
    this.origin = base.origin;
    this.prefix = base.pathname.replace(/\/+$/, "");
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.ownsPool = options.dispatcher === undefined;
    const pooled =
      options.dispatcher ?? new Agent({ connect: { timeout: this.timeouts.connectMs }, connections: 8 });
    const authorize = options.authorize;
    // Below the RetryAgent, so every attempt (each retry is a new dispatch) gets fresh headers.
    this.pool =
      authorize === undefined
        ? pooled
        : pooled.compose(
            (dispatch) => (opts, handler) =>
              dispatch(
                {
                  ...opts,
                  headers: withHeaders(opts.headers, authorize(opts.method, requestUrl(opts))),
                },
                handler,
              ),
          );
    this.service = options.service ?? "Crashtest";
    this.logName = options.logName ?? "crashtest";
    // Short values would scrub ordinary words; real keys and webhook UUIDs are long.
    this.secrets = (options.secrets ?? []).filter((secret) => secret.length >= 6);
    this.maxResponseBytes = options.maxResponseBytes ?? 50 * 1024 * 1024;
    this.logger = options.logger;
  }

  async send(request: OutgoingRequest): Promise<IncomingResponse> {
    const started = Date.now();
    let retries = 0;
    // A RetryAgent per call is a thin wrapper over the shared pool; it lets the retry policy know
    // the operation (for logs) and the call's retry mode.
    const dispatcher = new RetryAgent(this.pool, {
      throwOnError: false,
      retry: (error, { state }, callback) => {
        const reason = transientReason(error, request.retry);
        if (reason === undefined || state.counter > this.retry.maxRetries) {
          callback(error);
          return;
        }
        const headers = (error as { headers?: IncomingHttpHeaders }).headers;
        const retryAfter = parseRetryAfter(headers?.["retry-after"]);
        if (retryAfter !== undefined && retryAfter > this.retry.maxRetryAfterMs) {
          callback(error);
          return;
        }
        const wait = retryAfter ?? this.backoff(state.counter);
        retries = state.counter;
        this.logger.warn(`${this.logName} request failed; retrying`, {
          operation: request.operation,
          route: request.route,
          reason,
          retry: state.counter,
          maxRetries: this.retry.maxRetries,
          delayMs: wait,
        });
        this.retry.sleep(wait).then(
          () => callback(null),
          (sleepError: unknown) => callback(sleepError instanceof Error ? sleepError : error),
        );
      },
    } satisfies RetryHandler.RetryOptions);

    let response: Dispatcher.ResponseData;
    try {
      response = await dispatcher.request({
        origin: this.origin,
        path: `${this.prefix}${request.path}`,
        method: request.method,
        headers: { "user-agent": "crashtest-chatops", ...request.headers },
        body: request.body ?? null,
        headersTimeout: this.timeouts.headersMs,
        bodyTimeout: this.timeouts.bodyMs,
      });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      this.logger.warn(`${this.logName} request failed`, {
        operation: request.operation,
        route: request.route,
        code,
        retries,
      });
      throw this.networkError(request, error);
    }
    const bytes = await this.readBody(request, response);
    this.logger.debug(`${this.logName} response`, {
      operation: request.operation,
      route: request.route,
      status: response.statusCode,
      retries,
      ms: Date.now() - started,
    });
    return { status: response.statusCode, headers: response.headers, bytes };
  }

  /** Turns a non-2xx response into the matching AppError. */
  failure(response: IncomingResponse, context: FailureContext): AppError {
    const { status } = response;
    const server = this.serverMessage(response);
    const detail = `HTTP ${status} for ${context.subject}${server ? `: ${server}` : ""}`;
    if (status === 401 || status === 403) {
      return new AppError("auth", `${this.service} refused the credentials: ${context.credentialHint}.`, {
        detail,
      });
    }
    if (status === 404) {
      return new AppError("not_found", `${this.service} does not know ${context.subject}.`, { detail });
    }
    if (status === 409) {
      return new AppError(
        "conflict",
        `${this.service} refused this for ${context.subject}: ${server ?? "conflict"}.`,
        {
          detail,
        },
      );
    }
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(response.headers["retry-after"]);
      const wait = retryAfterMs === undefined ? "a little while" : `${Math.ceil(retryAfterMs / 1000)} s`;
      return new AppError("rate_limited", `${this.service} is rate-limiting the bot; try again in ${wait}.`, {
        detail,
        retryable: true,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    if (status >= 500) {
      // A 5xx after a POST was sent may follow a change the server did make.
      return new AppError(
        "unavailable",
        unavailableMessage(context.retry === "unsent-only", false, this.service),
        {
          detail,
          retryable: true,
        },
      );
    }
    if (status >= 400) {
      return new AppError(
        "validation",
        `${this.service} rejected the request: ${server ?? `HTTP ${status}`}.`,
        {
          detail,
        },
      );
    }
    return new AppError("unavailable", `${this.service} sent an unexpected answer (HTTP ${status}).`, {
      detail,
    });
  }

  /**
   * An AppError for a 2xx body the bot cannot read; the body itself stays out of logs. Retryable: a
   * truncated or garbled answer is usually a passing fault, and the watcher's failure limit still ends
   * a watch whose scanner keeps answering nonsense.
   */
  unreadable(operation: string, reason: string): AppError {
    return new AppError("unavailable", `${this.service} sent a response the bot could not read.`, {
      detail: `${operation}: ${this.scrub(reason)}`,
      retryable: true,
    });
  }

  /** Removes known secrets from text that came from the server. */
  scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join("[REDACTED]");
    return out;
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.close();
  }

  private backoff(retry: number): number {
    const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (retry - 1));
    // "Equal jitter": at least half the exponential step, so retries never bunch up at zero.
    return Math.round(ceiling / 2 + (this.retry.random() * ceiling) / 2);
  }

  private networkError(request: OutgoingRequest, error: unknown): AppError {
    const code = String((error as { code?: unknown }).code ?? "unknown");
    const ambiguous = request.retry === "unsent-only" && !UNSENT_ERRORS.has(code);
    return new AppError("unavailable", unavailableMessage(ambiguous, true, this.service), {
      cause: error,
      detail: `${request.operation} (${request.route}) failed: ${code}`,
      retryable: true,
    });
  }

  private async readBody(request: OutgoingRequest, response: Dispatcher.ResponseData): Promise<Uint8Array> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body) {
        size += (chunk as Buffer).byteLength;
        if (size > this.maxResponseBytes) {
          response.body.destroy();
          throw new AppError("unavailable", `${this.service} sent a response larger than the bot accepts.`, {
            detail: `${request.operation}: response over ${this.maxResponseBytes} bytes`,
          });
        }
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw this.networkError(request, error);
    }
    return new Uint8Array(Buffer.concat(chunks));
  }

  private serverMessage(response: IncomingResponse): string | undefined {
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(response.bytes).toString("utf8"));
    } catch {
      return undefined;
    }
    const parsed = ServerMessage.safeParse(json);
    if (!parsed.success) return undefined;
    const message = this.scrub(parsed.data.message).replace(/\s+/g, " ").trim();
    return message.length > 200 ? `${message.slice(0, 200)}…` : message;
  }
}

/** Decodes a JSON body and validates it; failures become AppError("unavailable"). */
export function parseJsonBody<T>(
  transport: CrashtestTransport,
  operation: string,
  response: IncomingResponse,
  schema: z.ZodType<T>,
): T {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(response.bytes).toString("utf8"));
  } catch {
    // The parser's message quotes the body, so only its size is kept.
    throw transport.unreadable(operation, `invalid JSON (${response.bytes.byteLength} bytes)`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw transport.unreadable(operation, z.prettifyError(parsed.error));
  return parsed.data;
}

export function isSuccess(response: IncomingResponse): boolean {
  return response.status >= 200 && response.status < 300;
}
