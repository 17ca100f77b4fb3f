import type { IncomingHttpHeaders } from "node:http";
import { Agent, type Dispatcher, RetryAgent, type RetryHandler } from "undici";
import { AppError } from "../domain/errors.js";
import type { LogFields, Logger } from "../domain/ports.js";
import {
  type BodyFailures,
  capped,
  contentLength,
  discard,
  MAX_ERROR_BODY_BYTES,
  readBody,
  type StreamLimit,
} from "./body.js";
import { parseRetryAfter, unavailableMessage } from "./errors.js";
import {
  backoff,
  DEFAULT_RETRY,
  defaultRetryMode,
  isUnsent,
  type RetryMode,
  type RetrySettings,
  transientReason,
} from "./retry-policy.js";
import { signEveryAttempt } from "./signing.js";

/**
 * The one HTTP transport for every outside API the bot calls (Crashtest REST and webhook, Veracode
 * DAST Essentials, Veracode Identity): a pooled undici dispatcher, timeouts, retries through
 * undici's RetryAgent under a policy written as data, headers signed per attempt, response size
 * caps, and secrets scrubbed from whatever server text reaches an error. It never logs a URL
 * (webhook URLs hold a secret), only operation names and route templates. It follows no redirect.
 */

export type { StreamLimit } from "./body.js";
export type { RetryMode, RetrySettings } from "./retry-policy.js";
export type { Dispatcher };

export interface Timeouts {
  connectMs: number;
  /** Until the response headers arrive; a server that hangs fails here. */
  headersMs: number;
  /** Maximum silence while the body streams. */
  bodyMs: number;
}

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD";

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

const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 10_000, headersMs: 30_000, bodyMs: 120_000 };

/** A pooled dispatcher to share between transports (pass it as `dispatcher`; the caller closes it). */
export function createPool(timeouts: Partial<Pick<Timeouts, "connectMs">> = {}): Dispatcher {
  return new Agent({
    connect: { timeout: timeouts.connectMs ?? DEFAULT_TIMEOUTS.connectMs },
    connections: 8,
  });
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
    this.pool = authorize === undefined ? pooled : signEveryAttempt(pooled, authorize);
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
    const bytes = await readBody(response.body, this.maxResponseBytes, this.bodyFailures(request));
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
      const bytes = await readBody(response.body, MAX_ERROR_BODY_BYTES, this.bodyFailures(request));
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
      body: capped(response.body, limit, this.bodyFailures(request)),
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
        const wait = retryAfter ?? backoff(this.retry, state.counter);
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

  private networkError(request: OutgoingRequest, error: unknown): AppError {
    const code = String((error as { code?: unknown }).code ?? "unknown");
    const mode = request.retry ?? defaultRetryMode(request.method);
    const ambiguous = mode === "unsent-only" && !isUnsent(code);
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

  private bodyFailures(request: OutgoingRequest): BodyFailures {
    return {
      tooLarge: (maxBytes) => this.tooLargeResponse(request, maxBytes),
      network: (error) => this.networkError(request, error),
    };
  }
}

/** Whether a status is 2xx. */
export function isSuccess(response: { status: number }): boolean {
  return response.status >= 200 && response.status < 300;
}
