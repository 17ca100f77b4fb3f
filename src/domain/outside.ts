import type * as z from "zod";
import type { AppError } from "./errors.js";

/**
 * The one way to validate data from outside the bot (scanner and Veracode responses, webhook and
 * echoed payloads). zod can throw instead of failing (a deeply nested value overflows the stack; a
 * ZodError with a huge issue list cannot be turned into text), so every throw and every failure
 * becomes the caller's AppError, whose detail names at most a few field paths and never quotes a
 * value. The ZodError itself is not kept as a cause: a logger that serialized it could throw again.
 */
export function parseOutside<T>(
  schema: z.ZodType<T>,
  value: unknown,
  failure: (problem: string) => AppError,
): T {
  let result: ReturnType<typeof schema.safeParse>;
  try {
    result = schema.safeParse(value);
  } catch (error) {
    const name = error instanceof Error ? error.name : typeof error;
    throw failure(`the validator gave up (${name})`);
  }
  if (result.success) return result.data;
  throw failure(describeIssues(result.error.issues));
}

/**
 * The same guard for callers that have a safe answer of their own when outside data does not fit (an
 * echoed payload read as empty, a request with no readable source): undefined on any failure or throw.
 */
export function readOutside<T>(schema: z.ZodType<T>, value: unknown): T | undefined {
  try {
    const result = schema.safeParse(value);
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

const SHOWN_ISSUES = 5;

/** "invalid fields: data.id (invalid_type), data.name (too_big); and 99,995 more". */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, SHOWN_ISSUES).map((issue) => {
    const path = issue.path
      .slice(0, 8)
      .map((part) => String(part).slice(0, 40))
      .join(".");
    return `${path || "(root)"} (${issue.code})`;
  });
  const more = issues.length - shown.length;
  return `invalid fields: ${shown.join(", ")}${more > 0 ? `; and ${more} more` : ""}`;
}
