/**
 * Veracode Identity API client: reads API credential expiry. Read-only by design: the bot never
 * generates, renews or revokes credentials (that would revoke them for every other integration).
 * Expiry: https://docs.veracode.com/r/c_identity_creds_expire; rate limits and retries:
 * https://docs.veracode.com/r/About_API_Rate_Limiting.
 */
import * as z from "zod";
import type { CheckedCredential, CredentialTarget } from "../domain/credential-guard.js";
import { AppError } from "../domain/errors.js";
import { parseOutside } from "../domain/outside.js";
import type { Logger } from "../domain/ports.js";
import { type ApiWording, type FailureContext, statusFailure } from "../http/errors.js";
import {
  createPool,
  type Dispatcher,
  type HttpResponse,
  HttpTransport,
  type RetrySettings,
} from "../http/transport.js";
import type { VeracodeAccount } from "./credentials.js";
import { veracodeAuthorizer } from "./signer.js";
import { USER_ID } from "./user-ids.js";

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
  /** Defaults to a pool the client owns (closed by close()). */
  dispatcher?: Dispatcher;
  /** Per request: time to connect, to wait for response headers, and between body chunks. */
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
/** Credential answers are a few hundred bytes. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

interface IdentityContext extends FailureContext {
  account: VeracodeAccount;
}

const who = (account: VeracodeAccount) => `account "${account.name}" (key …${account.keyIdHint})`;

/** The Identity API's specialization of the shared status mapping. */
const IDENTITY: ApiWording<IdentityContext> = {
  service: "The Veracode API",
  auth: ({ account }) =>
    `Veracode rejected the API credentials of ${who(account)}: credentials wrong, revoked or wrong region.`,
  permission: ({ account }) =>
    `The API credentials of ${who(account)} may not read these credentials (reading other users' needs the Admin API role).`,
  notFound: ({ account }) => `Veracode found no API credentials for this request (${who(account)}).`,
  rateLimited: () => "The Veracode API rate limit was hit; try again later.",
  unavailable: () => "The Veracode API is unavailable right now.",
  redirect: () =>
    "The Veracode API answered with a redirect, which the bot does not follow. Check VERACODE_API_URL.",
};

export class VeracodeIdentityClient {
  private readonly logger: Logger;
  private readonly pool: Dispatcher;
  private readonly ownsPool: boolean;
  private readonly timeoutMs: number;
  private readonly retry: Partial<RetrySettings>;
  /** One transport per account (its origin and signing key), all over the one pool. */
  private readonly transports = new Map<VeracodeAccount, HttpTransport>();

  constructor(options: VeracodeIdentityClientOptions) {
    this.logger = options.logger.child({ component: "veracode-identity" });
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.ownsPool = options.dispatcher === undefined;
    this.pool = options.dispatcher ?? createPool({ connectMs: this.timeoutMs });
    this.retry = {
      maxRetries: Math.min(Math.max(options.maxRetries ?? 5, 0), 5),
      baseDelayMs: options.baseDelayMs ?? 1_000,
      maxDelayMs: options.maxDelayMs ?? 30_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 120_000,
      ...(options.sleep ? { sleep: options.sleep } : {}),
      ...(options.random ? { random: options.random } : {}),
    };
  }

  /** Expiry of the account's own (calling) credentials. */
  getOwnCredentials(account: VeracodeAccount): Promise<ApiCredentialsInfo> {
    return this.getCredentials(account, OWN_CREDENTIALS_PATH, `GET ${OWN_CREDENTIALS_PATH}`);
  }

  /** Expiry of another user's credentials; the account needs the Admin API role. */
  async getUserCredentials(account: VeracodeAccount, userId: string): Promise<ApiCredentialsInfo> {
    if (!USER_ID.test(userId)) {
      throw new AppError("config", "A Veracode user ID to watch is malformed.", {
        detail: `user ID ${userId}`,
      });
    }
    return this.getCredentials(
      account,
      `${OWN_CREDENTIALS_PATH}/user_id/${userId}`,
      `GET ${OWN_CREDENTIALS_PATH}/user_id/{user_id}`,
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.transports.values()].map((transport) => transport.close()));
    if (this.ownsPool) await this.pool.close();
  }

  private async getCredentials(
    account: VeracodeAccount,
    path: string,
    route: string,
  ): Promise<ApiCredentialsInfo> {
    const body = await this.getJson(account, path, route);
    const data = parseOutside(
      apiCredentialsSchema,
      body,
      (problem) =>
        // Only field paths are named: values may be anything the server sent.
        new AppError("unavailable", "Veracode returned an unexpected credentials response.", {
          detail: `Unexpected api_credentials response from ${path}; ${problem}`,
        }),
    );
    const info: ApiCredentialsInfo = {
      apiId: data.api_id,
      expirationTs: data.expiration_ts,
      expiresAt: parseExpirationTs(data.expiration_ts),
    };
    if (data.revocation_ts) info.revokedAt = parseExpirationTs(data.revocation_ts);
    return info;
  }

  private transportFor(account: VeracodeAccount): HttpTransport {
    let transport = this.transports.get(account);
    if (transport === undefined) {
      transport = new HttpTransport({
        baseUrl: account.baseUrl,
        logger: this.logger.child({ account: account.name, keyId: `…${account.keyIdHint}` }),
        service: "The Veracode API",
        logName: "Veracode Identity API",
        // Not owned: close() leaves the pool to this client.
        dispatcher: this.pool,
        timeouts: { connectMs: this.timeoutMs, headersMs: this.timeoutMs, bodyMs: this.timeoutMs },
        retry: this.retry,
        maxResponseBytes: MAX_RESPONSE_BYTES,
        secrets: [account.apiKeyId, account.apiKeySecret],
        // The transport follows no redirect: a new location would need a new signature.
        authorize: veracodeAuthorizer(account),
        logFields: (headers) => ({ conversationId: headerValue(headers["x-conversation-id"]) }),
      });
      this.transports.set(account, transport);
    }
    return transport;
  }

  private async getJson(account: VeracodeAccount, path: string, route: string): Promise<unknown> {
    const log = this.logger.child({ account: account.name, keyId: `…${account.keyIdHint}`, path });
    const transport = this.transportFor(account);
    let response: HttpResponse;
    try {
      response = await transport.send({
        operation: "getApiCredentials",
        route,
        method: "GET",
        path,
        headers: { accept: "application/json" },
      });
    } catch (error) {
      log.warn("Veracode Identity API call failed", { error });
      throw error;
    }
    const conversationId = headerValue(response.headers["x-conversation-id"]);
    if (response.status !== 200) {
      const context: IdentityContext = {
        operation: "getApiCredentials",
        subject: `the API credentials at ${route}`,
        retry: "idempotent",
        account,
      };
      const error = statusFailure(IDENTITY, response, context, (text) => transport.scrub(text));
      log.warn("Veracode Identity API call failed", {
        status: response.status,
        conversationId,
        error,
      });
      throw error;
    }
    try {
      return JSON.parse(Buffer.from(response.bytes).toString("utf8")) as unknown;
    } catch {
      // The parser's message quotes the body, so only its size is kept.
      throw new AppError("unavailable", "Veracode returned a response that is not JSON.", {
        detail: `Veracode returned a response that is not JSON (${response.bytes.byteLength} bytes, conversation ${conversationId ?? "unknown"})`,
        retryable: true,
      });
    }
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
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
