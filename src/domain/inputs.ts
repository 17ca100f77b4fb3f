import * as z from "zod";
import { isPrivateHost } from "./addresses.js";
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

/** Host, optional port and path, nothing that could be markup: what a URL typed without its scheme looks like. */
const SCHEMELESS = /^[a-z0-9][a-z0-9.-]*(:\d{1,5})?([/?][^\s<>|`]*)?$/i;

/** `shop.example.com` is a URL without its scheme: suggest the https one, so the fix is a copy away. */
function schemeHint(value: string): string | undefined {
  if (value.length > 1000) return undefined;
  const match = SCHEMELESS.exec(value);
  if (!match) return undefined;
  // `shop.example.com/x` or `host:8080`: a bare word such as `shop` stays "not a URL".
  const host = value.split(/[:/?]/, 1)[0] ?? "";
  return host.includes(".") || match[1] ? `https://${value}` : undefined;
}

export function privateTargetMessage(host: string, address?: string): string {
  const where = address ? `${host} points to ${address}, which is` : `${host} is`;
  return `${where} a private, loopback or internal address; the scanner runs on the internet and cannot reach it (ALLOW_PRIVATE_TARGETS=true lifts this check)`;
}

export function targetUrl(allowPrivate: boolean) {
  return z
    .string()
    .trim()
    .max(1000, "a target URL has at most 1000 characters")
    .transform((value, ctx) => {
      // Slack wraps typed links as <https://x|label>; take the URL part.
      const unwrapped = /^<([^|>]+)(\|[^>]*)?>$/.exec(value)?.[1] ?? value;
      const hint = schemeHint(unwrapped);
      if (hint) {
        ctx.addIssue({ code: "custom", message: `the URL needs its scheme (did you mean ${hint}?)` });
        return z.NEVER;
      }
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
        ctx.addIssue({ code: "custom", message: privateTargetMessage(url.hostname) });
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
