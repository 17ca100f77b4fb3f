import type { DigestSchedule, QuietHours } from "./records.js";

/**
 * Wall-clock time in a channel's time zone, through the runtime's IANA time zone data (Intl), so a
 * digest at 09:00 stays at 09:00 across daylight saving changes.
 */

const formats = new Map<string, Intl.DateTimeFormat>();

function format(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      weekday: "short",
    });
    formats.set(timeZone, f);
  }
  return f;
}

export function isTimeZone(name: string): boolean {
  if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+){0,2}$/.test(name)) return false;
  try {
    format(name);
    return true;
  } catch {
    return false;
  }
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 is Sunday. */
  weekday: number;
}

export function localTime(at: number, timeZone: string): LocalTime {
  const parts = Object.fromEntries(
    format(timeZone)
      .formatToParts(new Date(at))
      .map((p) => [p.type, p.value]),
  );
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS.indexOf(parts.weekday ?? ""),
  };
}

/** The instant a local wall-clock time names (the earlier one when a clock change repeats it). */
export function zonedInstant(
  date: { year: number; month: number; day: number },
  hour: number,
  minute: number,
  timeZone: string,
): number {
  const wanted = Date.UTC(date.year, date.month - 1, date.day, hour, minute);
  let guess = wanted;
  // Two corrections settle the offset, also next to a daylight saving change.
  for (let i = 0; i < 2; i++) {
    const seen = localTime(guess, timeZone);
    const shown = Date.UTC(seen.year, seen.month - 1, seen.day, seen.hour, seen.minute, seen.second);
    guess += wanted - shown;
  }
  return guess;
}

const DAY_MS = 86_400_000;

/** The local calendar date `days` after the date of `at`. */
function dateOf(at: number, timeZone: string, days: number) {
  const local = localTime(at, timeZone);
  const shifted = new Date(Date.UTC(local.year, local.month - 1, local.day + days));
  return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() };
}

/** The latest time the digest was due at or before `now`. */
export function lastDigestSlot(schedule: DigestSchedule, timeZone: string, now: number): number {
  for (let back = 0; back <= 7; back++) {
    const date = dateOf(now, timeZone, -back);
    const slot = zonedInstant(date, schedule.hour, schedule.minute, timeZone);
    if (slot > now) continue;
    if (
      schedule.every === "weekly" &&
      new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay() !== schedule.day
    )
      continue;
    return slot;
  }
  return now - 8 * DAY_MS;
}

/** The length of one digest period, for the message's "since". */
export function digestPeriodMs(schedule: DigestSchedule): number {
  return schedule.every === "weekly" ? 7 * DAY_MS : DAY_MS;
}

function minuteOfDay(at: number, timeZone: string): number {
  const local = localTime(at, timeZone);
  return local.hour * 60 + local.minute;
}

export function inQuietHours(window: QuietHours, timeZone: string, at: number): boolean {
  const m = minuteOfDay(at, timeZone);
  return window.from < window.to ? m >= window.from && m < window.to : m >= window.from || m < window.to;
}

export function clockText(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}
