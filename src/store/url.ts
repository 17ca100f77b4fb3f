/**
 * What a STORE_URL says, without opening anything: its kind, a form safe to print, and the secret
 * values it holds. Parsed with the WHATWG `URL` parser, so the password is found whatever it contains.
 */

export type StoreKind = "memory" | "sqlite" | "redis" | "postgres";

const KINDS: Record<string, StoreKind> = {
  memory: "memory",
  sqlite: "sqlite",
  redis: "redis",
  rediss: "redis",
  postgres: "postgres",
  postgresql: "postgres",
};

/** Query parameters that carry a password or key (libpq's `password`, `sslpassword`, tokens, …). */
const SECRET_PARAM = /pass|pwd|secret|token/i;
const MASK = "***";

export function storeKind(url: string): StoreKind | undefined {
  return KINDS[url.slice(0, url.indexOf(":")).toLowerCase()];
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

/** Network stores (Redis, PostgreSQL) carry credentials; SQLite paths and memory:// do not. */
function networkUrl(url: string): URL | undefined {
  const kind = storeKind(url);
  if (kind !== "redis" && kind !== "postgres") return undefined;
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** The URL without its password or password-like query parameters, for logs and error messages. */
export function describeStoreUrl(url: string): string {
  const kind = storeKind(url);
  if (kind === "memory" || kind === "sqlite") return url;
  const parsed = networkUrl(url);
  if (!parsed) return `${kind ? url.slice(0, url.indexOf(":")) : "unknown"}://(unreadable URL)`;
  if (parsed.password) parsed.password = MASK;
  for (const key of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAM.test(key)) parsed.searchParams.set(key, MASK);
  }
  // URLSearchParams re-encodes `*`; keep the mask readable.
  return parsed.href.replace(/%2A%2A%2A/g, MASK);
}

export interface StoreUrlSecrets {
  /** The password and password-like parameters, each as written (percent-encoded) and decoded. */
  secrets: string[];
  /** Why the URL cannot be used, phrased to follow the variable name; never quotes the URL. */
  problem?: string;
}

export function storeSecrets(url: string): StoreUrlSecrets {
  const kind = storeKind(url);
  if (kind === undefined) {
    return {
      secrets: [],
      problem: "must start with sqlite://, redis://, rediss://, postgres:// or memory://",
    };
  }
  if (kind === "memory" || kind === "sqlite") return { secrets: [] };
  const parsed = networkUrl(url);
  if (!parsed) {
    return {
      secrets: [],
      problem:
        "is not a valid URL; percent-encode special characters in the user name and password (@ as %40, / as %2F, # as %23, : as %3A)",
    };
  }
  const values: string[] = [];
  if (parsed.password) values.push(parsed.password, decoded(parsed.password));
  for (const pair of parsed.search.slice(1).split("&")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    const value = pair.slice(at + 1);
    if (SECRET_PARAM.test(decoded(pair.slice(0, at))) && value) values.push(value, decoded(value));
  }
  return { secrets: [...new Set(values)] };
}
