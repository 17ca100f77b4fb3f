import { instantOf, localTime } from "../zoned-time.js";
import type { DigestSchedule, QuietHours } from "./records.js";

/** Digest slots and quiet hours in a channel's local time (zoned-time.ts reads the clock). */

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
    const slot = instantOf({ ...date, hour: schedule.hour, minute: schedule.minute }, timeZone);
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
