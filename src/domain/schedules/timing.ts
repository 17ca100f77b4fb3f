import * as z from "zod";
import { AppError, quoted } from "../errors.js";
import { isTimeZone } from "../zoned-time.js";
import type { CronFields } from "./occurrences.js";

/**
 * When a schedule runs, as typed: `daily|weekly <day>|monthly <n>|"<cron>" [at HH:MM] [tz=Area/City]`.
 * Parsed with zod; every refusal says what to type instead.
 */

export type Cadence =
  | { kind: "daily" }
  | { kind: "weekly"; day: number }
  | { kind: "monthly"; day: number }
  | { kind: "cron"; expression: string };

export interface Timing {
  cadence: Cadence;
  /** "HH:MM" local time; absent for a cron expression, which holds its own. */
  time?: string;
  timeZone: string;
}

/**
 * Cron syntax as node-cron reads it (https://github.com/node-cron/node-cron#cron-syntax): the scheduler
 * implements this port with node-cron's own validator, so a schedule is accepted exactly when node-cron
 * can run it.
 */
export interface CronSyntax {
  parse(expression: string): { fields: CronFields } | { problem: string };
}

export const TIMING_USAGE = 'daily|weekly <day>|monthly <1-28>|"<cron>" [at HH:MM] [tz=Area/City]';

export const CRON_HELP =
  'A cron expression is five fields in quotes, `"minute hour day-of-month month day-of-week"`, e.g. `"0 2 * * 1"` (every Monday at 02:00) or `"30 1 * * 1-5"` (weekdays at 01:30); the time zone comes from `tz=`. A schedule runs at most once an hour, so the minute field is one number.';

export const DEFAULT_TIME = "02:00";

export const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

const weekday = z
  .string()
  .transform((value) => value.toLowerCase())
  .pipe(
    z.union(
      WEEKDAYS.map((name) => z.literal([name, name.slice(0, 3)])),
      "is not a day of the week (monday … sunday, or mon … sun)",
    ),
  )
  .transform((name) => WEEKDAYS.findIndex((day) => day.startsWith(name.slice(0, 3))));

const dayOfMonth = z.coerce
  .number("must be a day of the month")
  .int("must be a whole day of the month")
  .min(1, "must be a day from 1 to 28")
  .max(
    28,
    'must be a day from 1 to 28 (every month has those; for the last day use a cron expression such as `"0 2 L * *"`)',
  );

const clockTime = z
  .string()
  .regex(/^([01]?\d|2[0-3]):[0-5]\d$/, "must be a time of day as HH:MM, 00:00 to 23:59")
  .transform((value) => value.padStart(5, "0"));

const timeZone = z
  .string()
  .min(1, "needs a zone after tz=")
  .refine(isTimeZone, "is not an IANA time zone (e.g. tz=Europe/Berlin, tz=America/New_York, tz=UTC)")
  // The zone's own spelling (europe/berlin is Europe/Berlin), as shown back and given to node-cron.
  .transform((zone) => new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone);

function refuse(what: string, message: string, extra = ""): never {
  throw new AppError("validation", `${what} ${message}.${extra}`);
}

function read<T>(schema: z.ZodType<T>, value: string, what: string, extra = ""): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  return refuse(what, parsed.error.issues[0]?.message ?? "is not valid", extra);
}

/** Refuses what node-cron would run but a scan schedule should not (seconds, many runs an hour). */
function cronShape(expression: string, syntax: CronSyntax): void {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) {
    refuse(
      `"${quoted(expression)}"`,
      `has ${fields.length} field${fields.length === 1 ? "" : "s"}, a schedule takes five`,
      ` ${CRON_HELP}`,
    );
  }
  const parsed = syntax.parse(expression);
  if ("problem" in parsed)
    refuse(`"${quoted(expression)}"`, `is not valid cron (${parsed.problem})`, ` ${CRON_HELP}`);
  if (parsed.fields.minute.length !== 1) {
    refuse(`"${quoted(expression)}"`, "runs more than once an hour", ` ${CRON_HELP}`);
  }
}

/** Parses the words after the project name into a Timing; throws AppError("validation") with the fix. */
export function parseTiming(words: readonly string[], syntax: CronSyntax): Timing {
  const usage = `\nUsage: \`${TIMING_USAGE}\``;
  const rest = [...words];
  let zone = "UTC";
  const tz = rest.findIndex((word) => /^tz=/i.test(word));
  if (tz >= 0) {
    zone = read(timeZone, (rest[tz] ?? "").slice(3), `"${quoted(rest[tz] ?? "")}":`, "");
    rest.splice(tz, 1);
  }
  let time: string | undefined;
  const at = rest.findIndex((word) => word.toLowerCase() === "at");
  if (at >= 0) {
    const value = rest[at + 1];
    if (value === undefined) refuse("`at`", "needs a time after it, e.g. `at 02:00`", usage);
    time = read(clockTime, value, `"${quoted(value)}"`);
    rest.splice(at, 2);
  }
  const [word, arg, ...extra] = rest;
  if (word === undefined) refuse("The schedule", "needs a cadence", usage);
  const cadence = ((): Cadence => {
    switch (word.toLowerCase()) {
      case "daily":
        if (arg !== undefined) extra.unshift(arg);
        return { kind: "daily" };
      case "weekly":
        if (arg === undefined) refuse("`weekly`", "needs a day, e.g. `weekly monday`", usage);
        return { kind: "weekly", day: read(weekday, arg, `"${quoted(arg)}"`) };
      case "monthly":
        if (arg === undefined) refuse("`monthly`", "needs a day of the month, e.g. `monthly 1`", usage);
        return { kind: "monthly", day: read(dayOfMonth, arg, `"${quoted(arg)}"`) };
      default:
        if (!/\s/.test(word.trim())) {
          refuse(
            `"${quoted(word)}"`,
            "is not a cadence: use daily, weekly <day>, monthly <n> or a quoted cron expression",
            usage,
          );
        }
        if (arg !== undefined) extra.unshift(arg);
        cronShape(word, syntax);
        return { kind: "cron", expression: word.trim().replace(/\s+/g, " ") };
    }
  })();
  if (extra.length > 0) refuse(`"${quoted(extra.join(" "))}"`, "is more than a schedule takes", usage);
  if (cadence.kind === "cron" && time !== undefined) {
    refuse("`at`", "does not go with a cron expression, which holds its own time", ` ${CRON_HELP}`);
  }
  return cadence.kind === "cron"
    ? { cadence, timeZone: zone }
    : { cadence, time: time ?? DEFAULT_TIME, timeZone: zone };
}

const ALL = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The timing as cron fields (a cron expression through node-cron's parser). */
export function timingFields(timing: Timing, syntax: CronSyntax): CronFields {
  const { cadence } = timing;
  if (cadence.kind === "cron") {
    const parsed = syntax.parse(cadence.expression);
    if ("problem" in parsed) throw new AppError("validation", `Not valid cron: ${parsed.problem}`);
    return parsed.fields;
  }
  const [hour, minute] = (timing.time ?? DEFAULT_TIME).split(":").map(Number);
  return {
    minute: [minute ?? 0],
    hour: [hour ?? 0],
    dayOfMonth: cadence.kind === "monthly" ? [cadence.day] : ALL(1, 31),
    month: ALL(1, 12),
    dayOfWeek: cadence.kind === "weekly" ? [cadence.day] : ALL(0, 6),
  };
}

/** The timing as one cron expression, for node-cron (run in the timing's zone). */
export function timingCron(timing: Timing): string {
  const { cadence } = timing;
  if (cadence.kind === "cron") return cadence.expression;
  const [hour, minute] = (timing.time ?? DEFAULT_TIME).split(":").map(Number);
  const dom = cadence.kind === "monthly" ? String(cadence.day) : "*";
  const dow = cadence.kind === "weekly" ? String(cadence.day) : "*";
  return `${minute} ${hour} ${dom} * ${dow}`;
}

/** Two timings are the same schedule time (a change of either needs approval again). */
export function sameTiming(a: Timing, b: Timing): boolean {
  return timingCron(a) === timingCron(b) && a.timeZone === b.timeZone;
}
