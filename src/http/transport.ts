import type { IncomingHttpHeaders } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import { Agent, type Dispatcher, RetryAgent, type RetryHandler } from "undici";
import { AppError } from "../domain/errors.js";
import type { LogFields, Logger } from "../domain/ports.js";
import { parseRetryAfter, unavailableMessage } from "./errors.js";

/**
 * The one HTTP transport for every outside API the bot calls (Crashtest REST and webhook, Veracode
 * DAST Essentials, Veracode Identity): a pooled undici dispatcher, timeouts, retries through
 * undici's RetryAgent under a policy written as data, headers signed per attempt, response size
 * caps, and secrets scrubbed from whatever server text reaches an error. It never logs a URL
 * (webhook URLs hold a secret), only operation names and route templates. It follows no redirect.
 */

export type { Dispatcher };

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

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD";

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
  /** Cap of a buffered response body (send); streamed bodies have their own cap. Default 50 MB. */
  maxResponseBytes?: number;
  /** Service name in user-facing messages, e.g. "Crashtest". */
  service: string;
  /** Prefix of log messages ("<name> request failed; retrying"). */
  logName: string;
  /**
   * Headers computed for every attempt, retries included, from the exact method and URL sent
   * (origin + path + query): e.g. a Veracode HMAC Authorization header with a fresh nonce.
   */
  authorize?: (method: string, url: string) => Record<string, string>;
  /** Extra log fields read from a failed attempt's response headers (e.g. a request ID). */
  logFields?: (headers: IncomingHttpHeaders) => LogFields;
}

export interface OutgoingRequest {
  /** For logs, e.g. "startScan". */
  operation: string;
  /** Route template for logs; never the filled path. */
  route: string;
  method: Method;
  /** Filled path (with query); may contain a webhook secret, so it is never logged. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Default: defaultRetryMode(method). */
  retry?: RetryMode;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  bytes: Uint8Array;
}

export interface StreamLimit {
  maxBytes: number;
  /** The error for a body over maxBytes; `size` when the server announced it. */
  tooLarge: (size: number | undefined) => AppError;
}

/** A 2xx body left unread for the caller (read it or cancel it), or any other answer, buffered. */
export type StreamedResponse =
  | {
      ok: true;
      status: number;
      headers: IncomingHttpHeaders;
      body: ReadableStream<Uint8Array>;
      /** Content-Length, when sent. */
      size?: number;
    }
  | { ok: false; response: HttpResponse };

const DEFAULT_RETRY: RetrySettings = {
  maxRetries: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 60_000,
  sleep: (ms) => delay(ms),
  random: Math.random,
};

const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 10_000, headersMs: 30_000, bodyMs: 120_000 };

/** A pooled dispatcher to share between transports (pass it as `dispatcher`; the caller closes it). */
export function createPool(timeouts: Partial<Pick<Timeouts, "connectMs">> = {}): Dispatcher {
  return new Agent({
    connect: { timeout: timeouts.connectMs ?? DEFAULT_TIMEOUTS.connectMs },
    connections: 8,
  });
}

/** Error bodies are read only to word the error. */
const MAX_ERROR_BODY_BYTES = 256 * 1024;

/** Why a failure is worth retrying in this mode, or undefined when it is not. */
function transientReason(error: Error, mode: RetryMode): string | undefined {
  const { statusCode, code } = error as { statusCode?: number; code?: string };
  const policy = RETRY_POLICY[mode];
  if (typeof statusCode === "number")
    return policy.statuses.has(statusCode) ? `HTTP ${statusCode}` : undefined;
  return code !== undefined && policy.errors.has(code) ? code : undefined;
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

function contentLength(headers: IncomingHttpHeaders): number | undefined {
  const value = headers["content-length"];
  return typeof value === "string" && /^\d+$/.test(value) ? Number(value) : undefined;
}

export class HttpTransport {
  private readonly origin: string;
  private readonly prefix: string;
  private readonly pool: Dispatcher;
  private readonly ownsPool: boolean;
  private readonly retry: RetrySettings;
  private readonly timeouts: Timeouts;
  private readonly secrets: readonly string[];
  private readonly maxResponseBytes: number;
  private readonly logger: Logger;
  private readonly logFields: (headers: IncomingHttpHeaders) => LogFields;
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
    const pooled = options.dispatcher ?? createPool(this.timeouts);
    const authorize = options.authorize;
    // Below the RetryAgent, so every attempt (each retry is a new dispatch) gets fresh headers.
    this.pool =
      authorize === undefined
        ? pooled
        : pooled.compose(
            (dispatch) => (opts, handler) =>
              dispatch(
                { ...opts, headers: withHeaders(opts.headers, authorize(opts.method, requestUrl(opts))) },
                handler,
              ),
          );
    this.service = options.service;
    this.logName = options.logName;
    // Short values would scrub ordinary words; real keys and webhook UUIDs are long.
    this.secrets = (options.secrets ?? []).filter((secret) => secret.length >= 6);
    this.maxResponseBytes = options.maxResponseBytes ?? 50 * 1024 * 1024;
    this.logger = options.logger;
    this.logFields = options.logFields ?? (() => ({}));
  }

  /** Sends a request and reads the whole answer (bounded by maxResponseBytes). */
  async send(request: OutgoingRequest): Promise<HttpResponse> {
    const started = Date.now();
    const { response, retries } = await this.dispatch(request);
    const bytes = await this.readBody(request, response, this.maxResponseBytes);
    this.logResponse(request, response, retries, started);
    return { status: response.statusCode, headers: response.headers, bytes };
  }

  /**
   * Sends a request and hands a 2xx body over as a stream, bounded by `limit`: refused up front
   * when Content-Length is over it, failed with limit.tooLarge() once more bytes than that arrive.
   * Other answers are read (bounded) so they can be mapped to an error.
   */
  async stream(request: OutgoingRequest, limit: StreamLimit): Promise<StreamedResponse> {
    const started = Date.now();
    const { response, retries } = await this.dispatch(request);
    this.logResponse(request, response, retries, started);
    const { statusCode: status, headers } = response;
    if (status < 200 || status >= 300) {
      const bytes = await this.readBody(request, response, MAX_ERROR_BODY_BYTES);
      return { ok: false, response: { status, headers, bytes } };
    }
    const size = contentLength(headers);
    if (size !== undefined && size > limit.maxBytes) {
      discard(response.body);
      throw limit.tooLarge(size);
    }
    return {
      ok: true,
      status,
      headers,
      body: this.capped(request, response.body, limit),
      ...(size === undefined ? {} : { size }),
    };
  }

  /** An AppError for a 2xx body the bot cannot read; the body itself stays out of logs. */
  unreadable(operation: string, reason: string): AppError {
    // Retryable: a truncated or garbled answer is usually a passing fault, and the watcher's failure
    // limit still ends a watch whose scanner keeps answering nonsense.
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

  private async dispatch(
    request: OutgoingRequest,
  ): Promise<{ response: Dispatcher.ResponseData; retries: number }> {
    const mode = request.retry ?? defaultRetryMode(request.method);
    let retries = 0;
    // A RetryAgent per call is a thin wrapper over the shared pool; it lets the retry policy know
    // the operation (for logs) and the call's retry mode.
    const dispatcher = new RetryAgent(this.pool, {
      throwOnError: false,
      retry: (error, { state }, callback) => {
        const reason = transientReason(error, mode);
        if (reason === undefined || state.counter > this.retry.maxRetries) {
          callback(error);
          return;
        }
        const { headers, statusCode } = error as { headers?: IncomingHttpHeaders; statusCode?: number };
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
          ...(statusCode === undefined ? {} : { status: statusCode }),
          ...(headers === undefined ? {} : this.logFields(headers)),
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

    try {
      const response = await dispatcher.request({
        origin: this.origin,
        path: `${this.prefix}${request.path}`,
        method: request.method,
        headers: { "user-agent": "crashtest-chatops", ...request.headers },
        body: request.body ?? null,
        headersTimeout: this.timeouts.headersMs,
        bodyTimeout: this.timeouts.bodyMs,
      });
      return { response, retries };
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
  }

  private logResponse(
    request: OutgoingRequest,
    response: Dispatcher.ResponseData,
    retries: number,
    started: number,
  ): void {
    this.logger.debug(`${this.logName} response`, {
      operation: request.operation,
      route: request.route,
      status: response.statusCode,
      ...this.logFields(response.headers),
      retries,
      ms: Date.now() - started,
    });
  }

  private backoff(retry: number): number {
    const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (retry - 1));
    // "Equal jitter": at least half the exponential step, so retries never bunch up at zero.
    return Math.round(ceiling / 2 + (this.retry.random() * ceiling) / 2);
  }

  private networkError(request: OutgoingRequest, error: unknown): AppError {
    const code = String((error as { code?: unknown }).code ?? "unknown");
    const mode = request.retry ?? defaultRetryMode(request.method);
    const ambiguous = mode === "unsent-only" && !(UNSENT_ERRORS as readonly string[]).includes(code);
    return new AppError("unavailable", unavailableMessage(this.service, ambiguous, true), {
      cause: error,
      detail: `${request.operation} (${request.route}) failed: ${code}`,
      retryable: true,
    });
  }

  private tooLargeResponse(request: OutgoingRequest, maxBytes: number): AppError {
    return new AppError("unavailable", `${this.service} sent a response larger than the bot accepts.`, {
      detail: `${request.operation}: response over ${maxBytes} bytes`,
    });
  }

  private async readBody(
    request: OutgoingRequest,
    response: Dispatcher.ResponseData,
    maxBytes: number,
  ): Promise<Uint8Array> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body) {
        size += (chunk as Buffer).byteLength;
        if (size > maxBytes) {
          discard(response.body);
          throw this.tooLargeResponse(request, maxBytes);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw this.networkError(request, error);
    }
    return new Uint8Array(Buffer.concat(chunks));
  }

  /** A web stream over the body that fails once more than limit.maxBytes arrive. */
  private capped(
    request: OutgoingRequest,
    body: Dispatcher.ResponseData["body"],
    limit: StreamLimit,
  ): ReadableStream<Uint8Array> {
    const chunks = body[Symbol.asyncIterator]();
    let size = 0;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          try {
            const next = await chunks.next();
            if (next.done) {
              controller.close();
              return;
            }
            const chunk = next.value as Buffer;
            size += chunk.byteLength;
            if (size > limit.maxBytes) {
              discard(body);
              controller.error(limit.tooLarge(undefined));
              return;
            }
            controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          } catch (error) {
            controller.error(error instanceof AppError ? error : this.networkError(request, error));
          }
        },
        cancel: () => discard(body),
      },
      // Pull one chunk at a time: nothing is read ahead of the consumer.
      { highWaterMark: 0 },
    );
  }
}

/** Drops a body the bot will not read (and the connection with it); its abort error is expected. */
function discard(body: Dispatcher.ResponseData["body"]): void {
  body.on("error", () => undefined);
  body.destroy();
}

/** Whether a status is 2xx. */
export function isSuccess(response: { status: number }): boolean {
  return response.status >= 200 && response.status < 300;
}
