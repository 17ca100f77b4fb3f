/**
 * Where Veracode API credentials come from: environment (or *_FILE secrets) first, then the Veracode
 * credentials file (~/.veracode/credentials, the INI format Veracode's own tools read:
 * https://docs.veracode.com/r/API_credentials_file).
 */
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { inspect } from "node:util";
import { AppError } from "../domain/errors.js";
import { apiBaseUrl } from "../http/base-url.js";
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
    this.baseUrl = apiBaseUrl(init.baseUrl ?? `https://${veracodeRestHost(region)}`, "VERACODE_API_URL");
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

/** Where the accounts come from, as config.ts read them from the environment. */
export interface VeracodeCredentialSources {
  /** VERACODE_API_PROFILE, when set: the profile in use (default "default"). */
  profile?: string;
  /** VERACODE_ACCOUNTS: the profiles to watch (default: the one in use). */
  watch?: string[];
  /** VERACODE_API_KEY_ID / VERACODE_API_KEY_SECRET (or their _FILE twins): replace the profile in use. */
  keyId?: string;
  keySecret?: string;
  /** VERACODE_CREDENTIALS_FILE, when set; else <homeDir>/.veracode/credentials. */
  credentialsFile?: string;
  homeDir: string;
  /** VERACODE_API_URL: base URL override (tests, proxies). */
  baseUrl?: string;
}

export interface LoadedVeracodeAccounts {
  accounts: VeracodeAccount[];
  /** Each names the variable to set or the file to fix, never a credential. */
  problems: string[];
  warnings: string[];
}

type Profile = Map<string, string>;

const KEY_ID = "veracode_api_key_id";
const KEY_SECRET = "veracode_api_key_secret";

/**
 * The accounts whose credentials the bot uses and watches; none when nothing is configured (the expiry
 * guard is then off). Reads the credentials file synchronously: this runs once, at configuration time.
 * Every half-configured or malformed account is a problem; the others still load.
 */
export function loadVeracodeAccounts(sources: VeracodeCredentialSources): LoadedVeracodeAccounts {
  const problems: string[] = [];
  const warnings: string[] = [];
  const inUse = sources.profile ?? "default";
  const watched = [...new Set(sources.watch?.length ? sources.watch : [inUse])];
  const { keyId, keySecret, baseUrl } = sources;
  const fromEnv = keyId && keySecret ? { apiKeyId: keyId, apiKeySecret: keySecret } : undefined;
  // Veracode's library silently ignores half a pair; here it is most likely a deployment mistake.
  if ((keyId === undefined) !== (keySecret === undefined)) {
    const [missing, set] = keyId
      ? ["VERACODE_API_KEY_SECRET", "VERACODE_API_KEY_ID"]
      : ["VERACODE_API_KEY_ID", "VERACODE_API_KEY_SECRET"];
    problems.push(`${missing} (or ${missing}_FILE) is not set, but ${set} is: set both or neither`);
  }

  const needFile = watched.filter((name) => !(fromEnv && name === inUse));
  const filePath = sources.credentialsFile ?? path.join(sources.homeDir, ".veracode", "credentials");
  // Profiles named explicitly must exist; the implicit "default" may be absent (then nothing is configured).
  const explicitlyNamed = Boolean(sources.watch?.length) || sources.profile !== undefined;
  const file = needFile.length
    ? readCredentialsFile(filePath, sources.credentialsFile !== undefined || explicitlyNamed)
    : undefined;
  if (file?.problem) problems.push(file.problem);
  if (file?.warning) warnings.push(file.warning);

  const accounts: VeracodeAccount[] = [];
  const add = (init: VeracodeAccountInit, where: string) => {
    try {
      accounts.push(new VeracodeAccount(init));
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      problems.push(`${where}: ${error.userMessage}`);
    }
  };
  for (const name of watched) {
    if (fromEnv && name === inUse) {
      add(
        { name, ...fromEnv, ...(baseUrl ? { baseUrl } : {}) },
        "VERACODE_API_KEY_ID/VERACODE_API_KEY_SECRET",
      );
      continue;
    }
    if (!file?.profiles) continue;
    const profile = file.profiles.get(name);
    if (!profile) {
      if (explicitlyNamed) {
        const variable = sources.watch?.length ? "VERACODE_ACCOUNTS" : "VERACODE_API_PROFILE";
        problems.push(
          `${variable} names the profile [${name}], which ${filePath} does not have: add it or fix the name`,
        );
      }
      continue;
    }
    const apiKeyId = profile.get(KEY_ID);
    const apiKeySecret = profile.get(KEY_SECRET);
    if (!apiKeyId || !apiKeySecret) {
      problems.push(`Profile [${name}] of ${filePath} needs both ${KEY_ID} and ${KEY_SECRET}`);
      continue;
    }
    add(
      { name, apiKeyId, apiKeySecret, ...(baseUrl ? { baseUrl } : {}) },
      `Profile [${name}] of ${filePath}`,
    );
  }
  return { accounts, problems, warnings };
}

function readCredentialsFile(
  filePath: string,
  required: boolean,
): { profiles?: Map<string, Profile>; problem?: string; warning?: string } {
  let text: string;
  try {
    text = readFileSync(filePath, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    if (!required && code === "ENOENT") return {};
    return {
      problem: `The Veracode credentials file ${filePath} cannot be read (${code}): create it or set VERACODE_CREDENTIALS_FILE`,
    };
  }
  let warning: string | undefined;
  if (process.platform !== "win32") {
    const mode = statSync(filePath).mode & 0o777;
    if (mode & 0o077) {
      warning = `The Veracode credentials file ${filePath} is readable by group or others (mode ${mode.toString(8).padStart(4, "0")}); restrict it with chmod 600`;
    }
  }
  try {
    return { profiles: parseCredentialsFile(text, filePath), ...(warning ? { warning } : {}) };
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return { problem: error.userMessage, ...(warning ? { warning } : {}) };
  }
}

/**
 * INI as Veracode's Python reader accepts it: [profile] sections, `key = value` or `key: value`,
 * case-insensitive keys, whole-line # and ; comments. Errors name the line, never its content.
 */
export function parseCredentialsFile(
  text: string,
  /** The file's path, for messages. */
  source?: string,
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

function malformed(source: string | undefined, lineNo: number, why: string): AppError {
  const file = source ? `The Veracode credentials file ${source}` : "The Veracode credentials file";
  return new AppError("config", `${file} is malformed at line ${lineNo}: ${why}.`, {
    detail: `${source ?? "Veracode credentials file"}: line ${lineNo}: ${why}`,
  });
}
