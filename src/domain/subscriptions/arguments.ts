import * as z from "zod";
import { AppError, quoted } from "../errors.js";
import { isTimeZone } from "../zoned-time.js";
import {
  type DigestSchedule,
  EVENT_KINDS,
  type EventKind,
  type QuietHours,
  THRESHOLDS,
  type Threshold,
  URGENT_KINDS,
  type UrgentKind,
} from "./records.js";

/** The arguments of `subscribe`, `unsubscribe` and `notify`, parsed with zod into what the service needs. */

export const SUBSCRIBE_USAGE =
  "/crashtest subscribe <project|*> [severity>=low|medium|high|critical] [events=finished,failed,started,new-findings,approval] [digest=daily@09:00|weekly@mon 09:00|off] [tz=Area/City] [quiet=22:00-07:00|off] [urgent=failed,critical|none]";
export const UNSUBSCRIBE_USAGE = "/crashtest unsubscribe <project|*> [events=finished,failed,…]";
export const NOTIFY_USAGE = "/crashtest notify on|off";

export interface SubscribeArgs {
  project: string;
  minSeverity?: Threshold | "any";
  events?: EventKind[];
  /** `off` turns a digest back into messages per event. */
  digest?: DigestSchedule | "off";
  timezone?: string;
  quiet?: QuietHours | "off";
  urgent?: UrgentKind[];
}

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

const clockTime = z
  .string()
  .regex(/^([01]?\d|2[0-3]):([0-5]\d)$/, "write a time as HH:MM, from 00:00 to 23:59")
  .transform((text) => {
    const [h, m] = text.split(":").map(Number);
    return { hour: h as number, minute: m as number };
  });

const list = <T extends string>(words: readonly T[], what: string) =>
  z
    .string()
    .transform((text) =>
      text
        .split(",")
        .map((w) => w.trim().toLowerCase())
        .filter((w) => w !== ""),
    )
    .pipe(
      z
        .array(z.enum(words as unknown as [T, ...T[]], { error: () => `${what} are ${words.join(", ")}` }))
        .min(1, `name at least one of ${words.join(", ")}`),
    )
    .transform((items) => [...new Set(items)]);

const eventList = list(EVENT_KINDS, "the events");

const digest = z.string().transform((text, ctx): DigestSchedule | "off" => {
  const lower = text.toLowerCase();
  if (lower === "off") return "off";
  const daily = /^daily@(.+)$/.exec(lower);
  const weekly = /^weekly@([a-z]{3})[ @]?(.+)$/.exec(lower);
  const time = clockTime.safeParse(daily?.[1] ?? weekly?.[2] ?? "");
  const day = weekly ? DAYS.indexOf(weekly[1] as (typeof DAYS)[number]) : -1;
  if ((!daily && !weekly) || !time.success || (weekly && day < 0)) {
    ctx.addIssue({
      code: "custom",
      message: "a digest is daily@HH:MM or weekly@mon HH:MM (sun … sat), or off",
    });
    return z.NEVER;
  }
  return weekly ? { every: "weekly", day, ...time.data } : { every: "daily", ...time.data };
});

const quiet = z.string().transform((text, ctx): QuietHours | "off" => {
  if (text.toLowerCase() === "off") return "off";
  const [from, to, extra] = text.split("-");
  const a = clockTime.safeParse(from ?? "");
  const b = clockTime.safeParse(to ?? "");
  if (!a.success || !b.success || extra !== undefined || text === "") {
    ctx.addIssue({ code: "custom", message: "quiet hours are HH:MM-HH:MM, e.g. quiet=22:00-07:00, or off" });
    return z.NEVER;
  }
  const window = { from: a.data.hour * 60 + a.data.minute, to: b.data.hour * 60 + b.data.minute };
  if (window.from === window.to) {
    ctx.addIssue({ code: "custom", message: "quiet hours need a start and an end that differ" });
    return z.NEVER;
  }
  return window;
});

const urgent = z
  .string()
  .transform((text) => (text.toLowerCase() === "none" ? "" : text))
  .pipe(z.union([z.literal(""), list(URGENT_KINDS, "urgent kinds")]))
  .transform((value) => (value === "" ? [] : value));

const timezone = z.string().refine(isTimeZone, "not a time zone; write it as Area/City, e.g. Europe/Berlin");

const severity = z
  .string()
  .transform((text) => text.toLowerCase())
  .pipe(
    z.enum([...THRESHOLDS, "any"], { error: () => `the severities are ${THRESHOLDS.join(", ")} (or any)` }),
  );

const project = z
  .string()
  .trim()
  .regex(
    /^(\*|[A-Za-z0-9][A-Za-z0-9._-]{0,63})$/,
    "name a project (as `projects` lists it) or * for every project",
  );

function usageError(why: string, usage: string): AppError {
  return new AppError("validation", `${why}\nUsage: \`${usage}\``);
}

/** No option value is longer; a longer one is refused before any parsing. */
const MAX_VALUE = 200;

function parsed<T>(schema: z.ZodType<T>, value: string, what: string, usage: string): T {
  if (value.length > MAX_VALUE) throw usageError(`${what} "${quoted(value)}" is too long.`, usage);
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const why = result.error.issues[0]?.message ?? "not valid";
  throw usageError(`${what} "${quoted(value)}": ${why}.`, usage);
}

/** `digest=weekly@mon 09:00` is two words once split; they are joined back. */
function joinDigestTime(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const next = args[i + 1];
    if (/^digest=weekly@[a-z]{3}$/i.test(arg) && next && /^\d{1,2}:\d{2}$/.test(next)) {
      out.push(`${arg} ${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

export function parseSubscribeArgs(args: readonly string[]): SubscribeArgs {
  const [first, ...rest] = joinDigestTime(args);
  if (first === undefined) throw usageError("Name a project, or * for every project.", SUBSCRIBE_USAGE);
  const out: SubscribeArgs = { project: parsed(project, first, "Project", SUBSCRIBE_USAGE) };
  for (const arg of rest) {
    const match = /^(severity>=|severity=|events=|digest=|tz=|quiet=|urgent=)(.*)$/i.exec(arg);
    const key = match?.[1]?.toLowerCase();
    const value = match?.[2] ?? "";
    if (key === "severity>=" || key === "severity=") {
      out.minSeverity = parsed(severity, value, "Severity", SUBSCRIBE_USAGE);
    } else if (key === "events=") out.events = parsed(eventList, value, "Events", SUBSCRIBE_USAGE);
    else if (key === "digest=") out.digest = parsed(digest, value, "Digest", SUBSCRIBE_USAGE);
    else if (key === "tz=") out.timezone = parsed(timezone, value, "Time zone", SUBSCRIBE_USAGE);
    else if (key === "quiet=") out.quiet = parsed(quiet, value, "Quiet hours", SUBSCRIBE_USAGE);
    else if (key === "urgent=") out.urgent = parsed(urgent, value, "Urgent", SUBSCRIBE_USAGE);
    else throw usageError(`"${quoted(arg)}" is not a subscription option.`, SUBSCRIBE_USAGE);
  }
  return out;
}

export function parseUnsubscribeArgs(args: readonly string[]): { project: string; events?: EventKind[] } {
  const [first, ...rest] = args;
  if (first === undefined) throw usageError("Name the project, or * for every project.", UNSUBSCRIBE_USAGE);
  const out: { project: string; events?: EventKind[] } = {
    project: parsed(project, first, "Project", UNSUBSCRIBE_USAGE),
  };
  for (const arg of rest) {
    const value = /^events=(.*)$/i.exec(arg)?.[1];
    if (value === undefined)
      throw usageError(`"${quoted(arg)}" is not an unsubscribe option.`, UNSUBSCRIBE_USAGE);
    out.events = parsed(eventList, value, "Events", UNSUBSCRIBE_USAGE);
  }
  return out;
}

export function parseNotifyArgs(args: readonly string[]): boolean {
  const word = args.length === 1 ? args[0]?.toLowerCase() : undefined;
  if (word === "on") return true;
  if (word === "off") return false;
  throw usageError("Say on or off.", NOTIFY_USAGE);
}
