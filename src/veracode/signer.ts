/**
 * Veracode HMAC request signing (VERACODE-HMAC-SHA-256), byte-exact with Veracode's signing library.
 * Signing: https://docs.veracode.com/r/c_hmac_signing_example; regions and key prefixes:
 * https://docs.veracode.com/r/Region_Domains_for_Veracode_APIs.
 */
import { createHmac, randomBytes } from "node:crypto";
import { AppError } from "../domain/errors.js";

export const VERACODE_AUTH_SCHEME = "VERACODE-HMAC-SHA-256";

export type VeracodeRegion = "global" | "eu" | "fedramp";

const REGION_BY_LETTER: Readonly<Record<string, VeracodeRegion>> = { e: "eu", f: "fedramp", g: "global" };

const REST_HOSTS: Readonly<Record<VeracodeRegion, string>> = {
  global: "api.veracode.com",
  eu: "api.veracode.eu",
  fedramp: "api.veracode.us",
};

const HEX = /^[0-9a-f]+$/i;
const NONCE = /^[0-9a-f]{32}$/i;

/**
 * Region a key ID (or secret) belongs to, from its `vera01<region><i|s>-` prefix. Unknown letters are
 * rejected rather than defaulted: a wrong host only shows up later as a confusing 401.
 */
export function veracodeRegion(credential: string): VeracodeRegion {
  const dash = credential.indexOf("-");
  if (dash === -1) return "global";
  const prefix = credential.slice(0, dash);
  const letter = prefix.length === 8 ? prefix.charAt(6).toLowerCase() : "";
  const region = REGION_BY_LETTER[letter];
  if (!region) {
    // Only the letter is echoed: anything else before the dash could be part of a secret.
    throw new AppError("config", "A Veracode API credential has an unknown region prefix.", {
      detail: letter
        ? `Veracode credential prefix has unknown region letter "${letter}" (expected e, f or g)`
        : "Veracode credential prefix must be 8 characters, like vera01ei-",
    });
  }
  return region;
}

/** REST API host of a region, e.g. api.veracode.eu. */
export function veracodeRestHost(region: VeracodeRegion): string {
  return REST_HOSTS[region];
}

/** The credential without its region prefix: the part that is signed and sent. */
export function stripVeracodePrefix(credential: string): string {
  return credential.slice(credential.lastIndexOf("-") + 1);
}

/** Validates a key ID and returns it without prefix. Never echoes the value. */
export function parseVeracodeKeyId(apiKeyId: string): string {
  const id = stripVeracodePrefix(apiKeyId.trim());
  if (!HEX.test(id) || id.length < 32 || id.length > 128) {
    throw new AppError("config", "The Veracode API key ID is malformed: expected 32–128 hex characters.");
  }
  return id;
}

/** Validates a secret and returns its bytes. Checked before decoding: Buffer.from(hex) silently truncates. */
export function parseVeracodeSecret(apiKeySecret: string): Buffer {
  const secret = stripVeracodePrefix(apiKeySecret.trim());
  if (!HEX.test(secret) || secret.length % 2 !== 0 || secret.length < 128 || secret.length > 1024) {
    throw new AppError(
      "config",
      "The Veracode API key secret is malformed: expected 128–1024 hex characters (an even number).",
    );
  }
  return Buffer.from(secret, "hex");
}

export interface RequestTarget {
  /** scheme://host[:port], as the connection is opened. */
  origin: string;
  /** Lower-cased host name without port or IPv6 brackets: the `host` that is signed. */
  host: string;
  /** Path and query exactly as written (no re-encoding), `/` when empty, no fragment. */
  pathAndQuery: string;
}

const URL_PARTS = /^(https?):\/\/([^/?#]+)([^#]*)/i;
const AUTHORITY = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i;

/**
 * Splits an absolute URL by hand. A WHATWG URL parser would percent-encode and normalise the path,
 * so what it yields can differ from what is signed; callers send `pathAndQuery` verbatim instead.
 */
export function splitRequestUrl(url: string): RequestTarget {
  const parts = URL_PARTS.exec(url);
  const authority = parts ? AUTHORITY.exec(parts[2] ?? "") : null;
  if (!parts || !authority) {
    throw new AppError("config", "A Veracode request URL is not a valid absolute http(s) URL.", {
      detail: `Cannot sign request URL ${url}`,
    });
  }
  const hostWithBrackets = authority[1] ?? "";
  const host = hostWithBrackets.replace(/^\[|\]$/g, "").toLowerCase();
  let pathAndQuery = parts[3] ?? "";
  // Like the Python library (requests' path_url): empty path means "/", an empty query adds no "?".
  if (pathAndQuery.endsWith("?")) pathAndQuery = pathAndQuery.slice(0, -1);
  if (!pathAndQuery.startsWith("/")) pathAndQuery = `/${pathAndQuery}`;
  const port = authority[2] ? `:${authority[2]}` : "";
  return { origin: `${(parts[1] ?? "").toLowerCase()}://${hostWithBrackets}${port}`, host, pathAndQuery };
}

const hmac = (key: Buffer, message: Buffer | string): Buffer =>
  createHmac("sha256", key).update(message).digest();

/**
 * Second half of the chain, from kNonce = HMAC(secret, nonce) on. Separate so it can be checked against
 * the published openssl walk-through, which shows kNonce but not the secret.
 */
export function signatureFromNonceKey(nonceKey: Buffer, timestamp: string, signingData: string): string {
  const dateKey = hmac(nonceKey, Buffer.from(timestamp, "ascii"));
  const signatureKey = hmac(dateKey, "vcode_request_version_1");
  return createHmac("sha256", signatureKey).update(signingData, "utf8").digest("hex");
}

export interface SignVeracodeRequestOptions {
  apiKeyId: string;
  apiKeySecret: string;
  method: string;
  /** Absolute URL exactly as it will be sent. */
  url: string;
  /** Unix time in milliseconds; defaults to now. Fixed values are for tests only. */
  timestamp?: number;
  /** 16 bytes as 32 hex characters; defaults to random. Fixed values are for tests only. */
  nonce?: string;
}

/** The full Authorization header value for one request. Sign every request (and every retry) afresh. */
export function signVeracodeRequest(options: SignVeracodeRequestOptions): string {
  const id = parseVeracodeKeyId(options.apiKeyId);
  const secret = parseVeracodeSecret(options.apiKeySecret);
  const { host, pathAndQuery } = splitRequestUrl(options.url);
  const timestamp = options.timestamp ?? Date.now();
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new AppError("internal", "Invalid signing timestamp.", { detail: `timestamp ${timestamp}` });
  }
  const nonce = (options.nonce ?? randomBytes(16).toString("hex")).toLowerCase();
  if (!NONCE.test(nonce))
    throw new AppError("internal", "Invalid signing nonce: expected 32 hex characters.");
  const data = `id=${id.toLowerCase()}&host=${host}&url=${pathAndQuery}&method=${options.method.toUpperCase()}`;
  const signature = signatureFromNonceKey(hmac(secret, Buffer.from(nonce, "hex")), String(timestamp), data);
  return `${VERACODE_AUTH_SCHEME} id=${id},ts=${timestamp},nonce=${nonce},sig=${signature}`;
}

/**
 * The transport's `authorize` hook for a Veracode key: a fresh HMAC header (new nonce and
 * timestamp, as Veracode requires) for every attempt, over the exact URL sent.
 */
export function veracodeAuthorizer(keys: {
  apiKeyId: string;
  apiKeySecret: string;
}): (method: string, url: string) => Record<string, string> {
  return (method, url) => ({
    authorization: signVeracodeRequest({
      apiKeyId: keys.apiKeyId,
      apiKeySecret: keys.apiKeySecret,
      method,
      url,
    }),
  });
}
