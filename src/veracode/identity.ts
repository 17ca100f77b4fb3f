/**
 * Veracode Identity API client: reads API credential expiry. Read-only by design: the bot never
 * generates, renews or revokes credentials (that would revoke them for every other integration).
 * See shared/docs/veracode-api.md §4–§6.
 */
import { setTimeout as delay } from "node:timers/promises";
import { Agent, type Dispatcher } from "undici";
import { z } from "zod";
import type { CheckedCredential, CredentialTarget } from "../domain/credential-guard.js";
import { AppError } from "../domain/errors.js";
import type { Logger } from "../domain/ports.js";
import type { VeracodeAccount } from "./credentials.js";
import { signVeracodeRequest, splitRequestUrl } from "./signer.js";

export interface ApiCredentialsInfo {
  apiId: string;
  /** The raw expiration_ts, kept for logs and messages. */
  expirationTs: string;
  /** expiration_ts as epoch milliseconds (UTC). */
  expiresAt: number;
  revokedAt?: number;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Parses expiration_ts: ISO date-time with 0–9 fractional digits and `Z`, `+0000` or `+00:00` style
 * offsets. Anything else throws: a silent misparse would hide an expiry.
 */
export function parseExpirationTs(value: string): number {
  const match = TIMESTAMP.exec(value);
  if (!match) throw unparsable(value);
  const [, year, month, day, hour, minute, second, fraction = "", zone = "Z"] = match;
  const ms = Number(fraction.padEnd(3, "0").slice(0, 3));
  const utc = Date.UTC(
    Number(year),
    Number(month) - 1,
    Number(day),
    Number(hour),
    Number(minute),
    Number(second),
    ms,
  );
  // Date.UTC rolls over out-of-range fields (Feb 30 → Mar 2); a round trip detects that.
  const check = new Date(utc);
  if (
    Number.isNaN(utc) ||
    check.getUTCFullYear() !== Number(year) ||
    check.getUTCMonth() !== Number(month) - 1 ||
    check.getUTCDate() !== Number(day) ||
    check.getUTCHours() !== Number(hour) ||
    check.getUTCMinutes() !== Number(minute) ||
    check.getUTCSeconds() !== Number(second)
  ) {
    throw unparsable(value);
  }
  if (zone === "Z") return utc;
  const offsetHours = Number(zone.slice(1, 3));
  const offsetMinutes = Number(zone.slice(-2));
  if (offsetHours > 23 || offsetMinutes > 59) throw unparsable(value);
  const sign = zone.startsWith("-") ? -1 : 1;
  return utc - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
}

function unparsable(value: string): AppError {
  return new AppError("unavailable", "Veracode returned a credential expiry date the bot cannot read.", {
    detail: `Unrecognised expiration_ts ${JSON.stringify(value.slice(0, 64))}`,
  });
}

const apiCredentialsSchema = z.object({
  api_id: z.string().regex(/^[0-9a-f]{32,128}$/i),
  expiration_ts: z.string(),
  revocation_user: z.string().nullish(),
  revocation_ts: z.string().nullish(),
});

export interface VeracodeIdentityClientOptions {
  logger: Logger;
  /** Defaults to an Agent the client owns (closed by close()). */
  dispatcher?: Dispatcher;
  /** Per request: time to wait for response headers, and between body chunks. */
  timeoutMs?: number;
  /** Retries of transient failures (network, timeouts, 5xx, 429); at most 5, per Veracode's guidance. */
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A 429 asking to wait longer than this fails at once instead of blocking the caller. */
  maxRetryAfterMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1); jitter source. */
  random?: () => number;
}

const OWN_CREDENTIALS_PATH = "/api/authn/v2/api_credentials";
const USER_ID = /^[A-Za-z0-9-]{1,64}$/;

export class VeracodeIdentityClient {
  private readonly logger: Logger;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(options: VeracodeIdentityClientOptions) {
    this.logger = options.logger.child({ component: "veracode-identity" });
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        connectTimeout: this.timeoutMs,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    this.maxRetries = Math.min(Math.max(options.maxRetries ?? 5, 0), 5);
    this.baseDelayMs = options.baseDelayMs ?? 1_000;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.random = options.random ?? Math.random;
  }

  /** Expiry of the account's own (calling) credentials. */
  getOwnCredentials(account: VeracodeAccount): Promise<ApiCredentialsInfo> {
    return this.getCredentials(account, OWN_CREDENTIALS_PATH);
  }

  /** Expiry of another user's credentials; the account needs the Admin API role. */
  async getUserCredentials(account: VeracodeAccount, userId: string): Promise<ApiCredentialsInfo> {
    if (!USER_ID.test(userId)) {
      throw new AppError("config", "A Veracode user ID to watch is malformed.", {
        detail: `user ID ${userId}`,
      });
    }
    return this.getCredentials(account, `${OWN_CREDENTIALS_PATH}/user_id/${userId}`);
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private async getCredentials(account: VeracodeAccount, path: string): Promise<ApiCredentialsInfo> {
    const body = await this.getJson(account, path);
    const parsed = apiCredentialsSchema.safeParse(body);
    if (!parsed.success) {
      // Only field paths are logged: values may be anything the server sent.
      const fields = parsed.error.issues.map((issue) => issue.path.join(".") || "(root)").join(", ");
      throw new AppError("unavailable", "Veracode returned an unexpected credentials response.", {
        detail: `Unexpected api_credentials response from ${path}; invalid fields: ${fields}`,
      });
    }
    const info: ApiCredentialsInfo = {
      apiId: parsed.data.api_id,
      expirationTs: parsed.data.expiration_ts,
      expiresAt: parseExpirationTs(parsed.data.expiration_ts),
    };
    if (parsed.data.revocation_ts) info.revokedAt = parseExpirationTs(parsed.data.revocation_ts);
    return info;
  }

  private async getJson(account: VeracodeAccount, path: string): Promise<unknown> {
    const target = splitRequestUrl(`${account.baseUrl}${path}`);
    const log = this.logger.child({ account: account.name, keyId: `…${account.keyIdHint}`, path });
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.attempt(account, target.origin, target.pathAndQuery);
      if (!(outcome instanceof RequestFailure)) return outcome.body;
      const retrying = outcome.retryable && attempt < this.maxRetries;
      log.warn("Veracode Identity API call failed", {
        attempt: attempt + 1,
        status: outcome.status,
        conversationId: outcome.conversationId,
        error: outcome,
        retrying,
      });
      if (!retrying) throw outcome;
      await this.sleep(outcome.retryAfterMs ?? this.backoff(attempt));
    }
  }

  /** Full jitter in the upper half: grows exponentially, never collapses to zero. */
  private backoff(attempt: number): number {
    const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** attempt);
    return Math.round(cap / 2 + (this.random() * cap) / 2);
  }

  /** One signed request. Failures come back as a RequestFailure so the loop decides about retries. */
  private async attempt(
    account: VeracodeAccount,
    origin: string,
    pathAndQuery: string,
  ): Promise<{ body: unknown } | RequestFailure> {
    // Signed afresh for every attempt: a new nonce and timestamp, as Veracode requires.
    const authorization = signVeracodeRequest({
      apiKeyId: account.apiKeyId,
      apiKeySecret: account.apiKeySecret,
      method: "GET",
      url: `${origin}${pathAndQuery}`,
    });
    let response: Dispatcher.ResponseData;
    try {
      // origin + path are sent verbatim, so the wire path is exactly the signed one. The dispatcher
      // does not follow redirects: a new location would need a new signature.
      response = await this.dispatcher.request({
        origin,
        path: pathAndQuery,
        method: "GET",
        headers: { authorization, accept: "application/json" },
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (error) {
      return transportFailure(error);
    }
    const conversationId = headerValue(response.headers["x-conversation-id"]);
    const { statusCode } = response;
    if (statusCode !== 200) {
      await response.body.dump().catch(() => undefined);
      return statusFailure(
        account,
        statusCode,
        headerValue(response.headers["retry-after"]),
        conversationId,
        {
          maxRetryAfterMs: this.maxRetryAfterMs,
        },
      );
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      return transportFailure(error, conversationId);
    }
    try {
      return { body: JSON.parse(text) as unknown };
    } catch (error) {
      return new RequestFailure("unavailable", "Veracode returned a response that is not JSON.", {
        cause: error,
        status: statusCode,
        conversationId,
      });
    }
  }
}

/** An AppError that also carries what the failure log line needs. */
class RequestFailure extends AppError {
  readonly status: number | undefined;
  readonly conversationId: string | undefined;

  constructor(
    kind: AppError["kind"],
    userMessage: string,
    options: {
      cause?: unknown;
      detail?: string;
      retryable?: boolean;
      retryAfterMs?: number;
      status?: number;
      conversationId?: string | undefined;
    },
  ) {
    super(kind, userMessage, options);
    this.status = options.status;
    this.conversationId = options.conversationId;
  }
}

function transportFailure(error: unknown, conversationId?: string): RequestFailure {
  const code = (error as { code?: unknown }).code;
  const timedOut = typeof code === "string" && code.includes("TIMEOUT");
  return new RequestFailure(
    "unavailable",
    timedOut ? "Veracode did not answer in time." : "Could not reach the Veracode API.",
    {
      cause: error,
      detail: `Veracode request failed: ${typeof code === "string" ? code : (error as Error).message}`,
      retryable: true,
      conversationId,
    },
  );
}

function statusFailure(
  account: VeracodeAccount,
  status: number,
  retryAfter: string | undefined,
  conversationId: string | undefined,
  limits: { maxRetryAfterMs: number },
): RequestFailure {
  const common = { status, conversationId, detail: `Veracode answered HTTP ${status}` };
  const who = `account "${account.name}" (key …${account.keyIdHint})`;
  if (status === 401) {
    return new RequestFailure(
      "auth",
      `Veracode rejected the API credentials of ${who}: credentials wrong, revoked or wrong region.`,
      common,
    );
  }
  if (status === 403) {
    return new RequestFailure(
      "permission",
      `The API credentials of ${who} may not read these credentials (reading other users' needs the Admin API role).`,
      common,
    );
  }
  if (status === 404) {
    return new RequestFailure(
      "not_found",
      `Veracode found no API credentials for this request (${who}).`,
      common,
    );
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    const tooLong = retryAfterMs !== undefined && retryAfterMs > limits.maxRetryAfterMs;
    const options = { ...common, retryable: !tooLong };
    return new RequestFailure(
      "rate_limited",
      "The Veracode API rate limit was hit; try again later.",
      retryAfterMs === undefined ? options : { ...options, retryAfterMs },
    );
  }
  if (status >= 500) {
    return new RequestFailure("unavailable", "The Veracode API is unavailable right now.", {
      ...common,
      retryable: true,
    });
  }
  const redirected = status >= 300 && status < 400;
  return new RequestFailure(
    "unavailable",
    redirected
      ? "The Veracode API answered with a redirect, which the bot does not follow. Check VERACODE_API_URL."
      : `The Veracode API answered with unexpected HTTP status ${status}.`,
    common,
  );
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Comma list of Veracode user IDs whose credentials an admin account watches (VERACODE_WATCH_USER_IDS). */
export function parseWatchUserIds(list: string | undefined): string[] {
  const ids = (list ?? "")
    .split(",")
    .map((id) => id.trim())
    .filter(Boolean);
  const bad = ids.find((id) => !USER_ID.test(id));
  if (bad !== undefined) {
    throw new AppError("config", "VERACODE_WATCH_USER_IDS contains a malformed user ID.", {
      detail: `Malformed Veracode user ID ${JSON.stringify(bad.slice(0, 64))}`,
    });
  }
  return [...new Set(ids)];
}

export interface VeracodeCredentialChecks {
  targets: CredentialTarget[];
  fetchCredentials: (target: CredentialTarget) => Promise<CheckedCredential>;
}

/**
 * Guard targets: every account's own credentials, plus the watched users' credentials read through
 * the first account (list the admin account first in VERACODE_ACCOUNTS).
 */
export function veracodeCredentialChecks(
  accounts: readonly VeracodeAccount[],
  client: VeracodeIdentityClient,
  watchUserIds: readonly string[] = [],
): VeracodeCredentialChecks {
  const lookups = new Map<string, () => Promise<ApiCredentialsInfo>>();
  const targets: CredentialTarget[] = [];
  for (const account of accounts) {
    const id = `account:${account.name}`;
    targets.push({ id, label: account.name, keyHint: account.keyIdHint });
    lookups.set(id, () => client.getOwnCredentials(account));
  }
  const admin = accounts[0];
  if (admin) {
    for (const userId of watchUserIds) {
      const id = `user:${admin.name}:${userId}`;
      targets.push({ id, label: `user ${userId} (via ${admin.name})` });
      lookups.set(id, () => client.getUserCredentials(admin, userId));
    }
  }
  return {
    targets,
    fetchCredentials: async (target) => {
      const lookup = lookups.get(target.id);
      if (!lookup) throw new AppError("internal", "Unknown credential target.", { detail: target.id });
      const info = await lookup();
      const checked: CheckedCredential = { apiId: info.apiId, expiresAt: info.expiresAt };
      if (info.revokedAt !== undefined) checked.revokedAt = info.revokedAt;
      return checked;
    },
  };
}
