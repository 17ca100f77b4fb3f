/**
 * Where Veracode API credentials come from: environment (or *_FILE secrets) first, then the Veracode
 * credentials file (~/.veracode/credentials). See shared/docs/veracode-api.md §2.
 */
import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { AppError } from "../domain/errors.js";
import type { Logger } from "../domain/ports.js";
import {
  parseVeracodeKeyId,
  parseVeracodeSecret,
  stripVeracodePrefix,
  type VeracodeRegion,
  veracodeRegion,
  veracodeRestHost,
} from "./signer.js";

export interface VeracodeAccountInit {
  name: string;
  apiKeyId: string;
  apiKeySecret: string;
  /** Optional override (tests, proxies); defaults to the REST host of the key's region. */
  baseUrl?: string;
}

/**
 * One set of Veracode API credentials. ID and secret live in private fields behind getters, so spreading,
 * Object.entries, JSON.stringify and util.inspect never reveal them; only the last 4 ID characters show.
 */
export class VeracodeAccount {
  readonly name: string;
  readonly region: VeracodeRegion;
  readonly baseUrl: string;
  /** Last 4 characters of the key ID, for messages and logs. */
  readonly keyIdHint: string;
  readonly #apiKeyId: string;
  readonly #apiKeySecret: string;

  constructor(init: VeracodeAccountInit) {
    parseVeracodeKeyId(init.apiKeyId);
    parseVeracodeSecret(init.apiKeySecret);
    const region = veracodeRegion(init.apiKeyId);
    if (veracodeRegion(init.apiKeySecret) !== region) {
      throw new AppError(
        "config",
        `The Veracode API key ID and secret of account "${init.name}" have different region prefixes.`,
      );
    }
    this.name = init.name;
    this.region = region;
    this.baseUrl = normaliseBaseUrl(init.baseUrl ?? `https://${veracodeRestHost(region)}`);
    this.keyIdHint = stripVeracodePrefix(init.apiKeyId.trim()).slice(-4);
    this.#apiKeyId = init.apiKeyId.trim();
    this.#apiKeySecret = init.apiKeySecret.trim();
  }

  get apiKeyId(): string {
    return this.#apiKeyId;
  }

  get apiKeySecret(): string {
    return this.#apiKeySecret;
  }

  toJSON(): Record<string, string> {
    return { name: this.name, region: this.region, baseUrl: this.baseUrl, apiKeyId: `…${this.keyIdHint}` };
  }

  [inspect.custom](): string {
    return `VeracodeAccount ${inspect(this.toJSON())}`;
  }
}

function normaliseBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new AppError("config", "VERACODE_API_URL is not a valid URL.", { cause: error });
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.search || url.hash || url.username) {
    throw new AppError(
      "config",
      "VERACODE_API_URL must be a plain http(s) URL without query or credentials.",
    );
  }
  return url.href.replace(/\/+$/, "");
}

export interface LoadVeracodeAccountsDeps {
  logger: Logger;
  /** Home directory holding .veracode/credentials; defaults to os.homedir(). */
  homeDir?: string;
}

type Env = Record<string, string | undefined>;
type Profile = Map<string, string>;

const KEY_ID = "veracode_api_key_id";
const KEY_SECRET = "veracode_api_key_secret";

/**
 * The accounts whose credentials the bot uses and watches. Empty when nothing is configured (the
 * expiry guard is then off). Throws AppError("config") for anything half-configured or malformed.
 */
export async function loadVeracodeAccounts(
  env: Env,
  deps: LoadVeracodeAccountsDeps,
): Promise<VeracodeAccount[]> {
  const inUse = nonEmpty(env.VERACODE_API_PROFILE) ?? "default";
  const listed = nonEmpty(env.VERACODE_ACCOUNTS)
    ?.split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  const watched = [...new Set(listed?.length ? listed : [inUse])];
  const fromEnv = await environmentCredentials(env);
  const baseUrl = nonEmpty(env.VERACODE_API_URL);

  const needFile = watched.filter((name) => !(fromEnv && name === inUse));
  const explicitFile = nonEmpty(env.VERACODE_CREDENTIALS_FILE);
  const filePath = explicitFile ?? path.join(deps.homeDir ?? homedir(), ".veracode", "credentials");
  // Profiles named explicitly must exist; the implicit "default" may be absent (then nothing is configured).
  const explicitlyNamed = Boolean(listed?.length) || nonEmpty(env.VERACODE_API_PROFILE) !== undefined;
  const profiles = needFile.length
    ? await readCredentialsFile(filePath, deps.logger, explicitFile !== undefined || explicitlyNamed)
    : undefined;

  const accounts: VeracodeAccount[] = [];
  for (const name of watched) {
    if (fromEnv && name === inUse) {
      accounts.push(new VeracodeAccount({ name, ...fromEnv, baseUrl }));
      continue;
    }
    const profile = profiles?.get(name);
    if (!profile) {
      if (!explicitlyNamed) {
        if (profiles) deps.logger.info("No [default] profile in the Veracode credentials file", { filePath });
        continue;
      }
      throw new AppError("config", `The Veracode credentials file has no [${name}] profile.`, {
        detail: `Profile [${name}] not found in ${filePath}`,
      });
    }
    const apiKeyId = profile.get(KEY_ID);
    const apiKeySecret = profile.get(KEY_SECRET);
    if (!apiKeyId || !apiKeySecret) {
      throw new AppError(
        "config",
        `Profile [${name}] of the Veracode credentials file needs both ${KEY_ID} and ${KEY_SECRET}.`,
      );
    }
    accounts.push(new VeracodeAccount({ name, apiKeyId, apiKeySecret, baseUrl }));
  }
  return accounts;
}

async function environmentCredentials(
  env: Env,
): Promise<{ apiKeyId: string; apiKeySecret: string } | undefined> {
  const apiKeyId = await envOrFile(env, "VERACODE_API_KEY_ID");
  const apiKeySecret = await envOrFile(env, "VERACODE_API_KEY_SECRET");
  if (apiKeyId && apiKeySecret) return { apiKeyId, apiKeySecret };
  // Veracode's library silently ignores half a pair; here it is most likely a deployment mistake.
  if (apiKeyId || apiKeySecret) {
    const missing = apiKeyId ? "VERACODE_API_KEY_SECRET" : "VERACODE_API_KEY_ID";
    throw new AppError("config", `${missing} (or ${missing}_FILE) is not set, but its partner is.`);
  }
  return undefined;
}

async function envOrFile(env: Env, name: string): Promise<string | undefined> {
  const direct = nonEmpty(env[name]);
  if (direct) return direct;
  const file = nonEmpty(env[`${name}_FILE`]);
  if (!file) return undefined;
  try {
    return nonEmpty(await readFile(file, "utf8"));
  } catch (error) {
    throw new AppError("config", `Cannot read ${name}_FILE.`, {
      cause: error,
      detail: `Cannot read ${file}`,
    });
  }
}

async function readCredentialsFile(
  filePath: string,
  logger: Logger,
  required: boolean,
): Promise<Map<string, Profile> | undefined> {
  let text: string;
  try {
    text = await readFile(filePath, "utf8");
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new AppError("config", "Cannot read the Veracode credentials file.", {
      cause: error,
      detail: `Cannot read Veracode credentials file ${filePath}`,
    });
  }
  if (process.platform !== "win32") {
    const mode = (await stat(filePath)).mode & 0o777;
    if (mode & 0o077) {
      logger.warn("Veracode credentials file is accessible by group or others; restrict it with chmod 600", {
        filePath,
        mode: mode.toString(8).padStart(4, "0"),
      });
    }
  }
  return parseCredentialsFile(text, filePath);
}

/**
 * INI as Veracode's Python reader accepts it: [profile] sections, `key = value` or `key: value`,
 * case-insensitive keys, whole-line # and ; comments. Errors name the line, never its content.
 */
export function parseCredentialsFile(
  text: string,
  source = "Veracode credentials file",
): Map<string, Profile> {
  const profiles = new Map<string, Profile>();
  let current: Profile | undefined;
  for (const [index, raw] of text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .entries()) {
    const lineNo = index + 1;
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    if (line.startsWith("[")) {
      const name = /^\[([^\]]+)\]$/.exec(line)?.[1]?.trim();
      if (!name) throw malformed(source, lineNo, "expected a section header like [default]");
      if (profiles.has(name)) throw malformed(source, lineNo, `duplicate section [${name}]`);
      current = new Map();
      profiles.set(name, current);
      continue;
    }
    const separator = line.search(/[=:]/);
    if (separator <= 0) throw malformed(source, lineNo, "expected `key = value`");
    if (!current) throw malformed(source, lineNo, "key outside of a [section]");
    const key = line.slice(0, separator).trim().toLowerCase();
    if (current.has(key)) throw malformed(source, lineNo, "duplicate key");
    current.set(key, line.slice(separator + 1).trim());
  }
  return profiles;
}

function malformed(source: string, lineNo: number, why: string): AppError {
  return new AppError("config", `The Veracode credentials file is malformed at line ${lineNo}: ${why}.`, {
    detail: `${source}: line ${lineNo}: ${why}`,
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
