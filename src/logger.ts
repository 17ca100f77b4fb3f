import type { LogFields, Logger, LogLevel } from "./domain/ports.js";

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names whose values are always hidden, whatever they hold. */
const SECRET_KEY = /token|secret|password|passwd|authorization|api[_-]?key|cookie|signature|credential/i;

/** Shapes of secrets that may hide inside free text (URLs, error messages). */
const SECRET_PATTERNS: RegExp[] = [
  /xox[abposr]-[0-9A-Za-z-]+/g,
  /xapp-[0-9]-[0-9A-Za-z-]+/g,
  /VERACODE-HMAC-SHA-256\s+[^\s"']+/g,
  // Query parameters that carry credentials: API keys, tokens, Socket Mode connection tickets
  // (wss://…/link/?ticket=…), libpq's password= and sslpassword=, signatures.
  // Name parts are bounded so that scanning long text stays linear.
  /([?&;](?:api[_-]?key|[\w.-]{0,64}token|ticket|[\w.-]{0,64}pass(?:word)?|pwd|[\w.-]{0,64}secret|sig(?:nature)?)=)[^&;\s"'#]+/gi,
  // user:password@ in any URL (a refused target, a store URL in an error); a password already masked
  // for display (`user:***@`, as describeStoreUrl prints it) stays readable.
  /(:\/\/)(?![^\s/?#@"'<>:]*:\*\*\*@)[^\s/?#@"'<>]*(?=@)/g,
];

export const REDACTED = "[REDACTED]";

export interface LoggerOptions {
  level?: LogLevel;
  /** Exact secret values (tokens, keys) to scrub wherever they appear. */
  secrets?: Iterable<string>;
  /** Where lines go; defaults to stdout. Tests capture it. */
  write?: (line: string) => void;
  base?: LogFields;
}

export class Redactor {
  private readonly values: string[];

  constructor(secrets: Iterable<string> = []) {
    // Short values would scrub ordinary words; real secrets are long.
    this.values = [...new Set([...secrets].filter((s) => s.length >= 6))].sort((a, b) => b.length - a.length);
  }

  text(input: string): string {
    let out = input;
    for (const value of this.values) out = out.split(value).join(REDACTED);
    for (const pattern of SECRET_PATTERNS) {
      out = out.replace(pattern, (_match, prefix?: string) =>
        typeof prefix === "string" ? `${prefix}${REDACTED}` : REDACTED,
      );
    }
    return out;
  }

  value(input: unknown, depth = 0): unknown {
    if (typeof input === "string") return this.text(input);
    if (input === null || typeof input !== "object") return input;
    if (depth > 6) return "[…]";
    if (input instanceof Error) return this.error(input, depth);
    if (Array.isArray(input)) return input.map((item) => this.value(item, depth + 1));
    if (input instanceof Uint8Array) return `[${input.byteLength} bytes]`;
    const out: Record<string, unknown> = {};
    for (const [key, val] of Object.entries(input)) {
      out[key] =
        SECRET_KEY.test(key) && val !== undefined && val !== null ? REDACTED : this.value(val, depth + 1);
    }
    return out;
  }

  private error(error: Error, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = { name: error.name, message: this.text(error.message) };
    const kind = (error as { kind?: unknown }).kind;
    if (typeof kind === "string") out.kind = kind;
    if (error.stack) out.stack = this.text(error.stack);
    if (error.cause !== undefined) out.cause = this.value(error.cause, depth + 1);
    return out;
  }
}

class JsonLogger implements Logger {
  constructor(
    private readonly min: number,
    private readonly redactor: Redactor,
    private readonly write: (line: string) => void,
    private readonly base: LogFields,
  ) {}

  debug(message: string, fields?: LogFields): void {
    this.log("debug", message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.log("info", message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.log("warn", message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.log("error", message, fields);
  }

  child(fields: LogFields): Logger {
    return new JsonLogger(this.min, this.redactor, this.write, { ...this.base, ...fields });
  }

  private log(level: LogLevel, message: string, fields?: LogFields): void {
    if (LEVELS[level] < this.min) return;
    const record = this.redactor.value({
      time: new Date().toISOString(),
      level,
      msg: message,
      ...this.base,
      ...fields,
    });
    this.write(`${JSON.stringify(record)}\n`);
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  return new JsonLogger(
    LEVELS[options.level ?? "info"],
    new Redactor(options.secrets),
    write,
    options.base ?? {},
  );
}
