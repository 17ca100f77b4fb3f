import { isIP } from "node:net";
import { z } from "zod";
import { AppError } from "./errors.js";

/** Validation of what people type, with messages that say how to fix it. */

export const projectName = z
  .string()
  .trim()
  .min(2, "a project name needs at least 2 characters")
  .max(40, "a project name has at most 40 characters")
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    "use letters, digits, '.', '_' and '-' (no spaces), starting with a letter or digit",
  );

function ipv4Private(ip: string): boolean {
  const [a = 0, b = 0] = ip.split(".").map(Number);
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    a >= 224
  );
}

function ipv6Private(ip: string): boolean {
  const lower = ip.toLowerCase();
  if (lower === "::1" || lower === "::") return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped?.[1]) return ipv4Private(mapped[1]);
  return /^f[cd]/.test(lower) || /^fe[89ab]/.test(lower);
}

/** Loopback, private, link-local and internal names: scanning them from a cloud scanner is a mistake or an attack. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const kind = isIP(host);
  if (kind === 4) return ipv4Private(host);
  if (kind === 6) return ipv6Private(host);
  return (
    host === "localhost" || !host.includes(".") || /\.(localhost|local|internal|lan|home\.arpa)$/.test(host)
  );
}

export function targetUrl(allowPrivate: boolean) {
  return z
    .string()
    .trim()
    .max(1000, "a target URL has at most 1000 characters")
    .transform((value, ctx) => {
      // Slack wraps typed links as <https://x|label>; take the URL part.
      const unwrapped = /^<([^|>]+)(\|[^>]*)?>$/.exec(value)?.[1] ?? value;
      let url: URL;
      try {
        url = new URL(unwrapped);
      } catch {
        ctx.addIssue({
          code: "custom",
          message: "not a URL; give a full address like https://shop.example.com",
        });
        return z.NEVER;
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        ctx.addIssue({
          code: "custom",
          message: `only http:// and https:// targets can be scanned, not ${url.protocol}`,
        });
        return z.NEVER;
      }
      if (url.username || url.password) {
        ctx.addIssue({
          code: "custom",
          message: "remove the user name and password from the URL; credentials never belong in a target URL",
        });
        return z.NEVER;
      }
      if (!url.hostname) {
        ctx.addIssue({ code: "custom", message: "the URL needs a host name" });
        return z.NEVER;
      }
      if (!allowPrivate && isPrivateHost(url.hostname)) {
        ctx.addIssue({
          code: "custom",
          message: `${url.hostname} is a private, loopback or internal address; the scanner runs on the internet and cannot reach it (ALLOW_PRIVATE_TARGETS=true lifts this check)`,
        });
        return z.NEVER;
      }
      url.hash = "";
      return url.toString();
    });
}

/** Parses with a schema and turns the first problem into a validation error with the usage line. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, what: string, usage: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problem = result.error.issues[0]?.message ?? "is not valid";
  throw new AppError("validation", `The ${what} is not valid: ${problem}.\nUsage: \`${usage}\``);
}
