/**
 * When a schedule runs: occurrences of cron fields in an IANA time zone, with the time zone's own
 * daylight-saving rules (Intl, https://tc39.es/ecma402/#datetimeformat-objects). An occurrence is a
 * local wall time; it is named by that wall time (its key), so a slot is one slot even when the clock
 * is set back and the same local time happens twice (it runs at the first of the two). A local time
 * the clock skips (set forward) runs at the instant the same wall time would have had before the
 * change, e.g. 02:30 on the spring-forward night in Europe/Berlin runs at 03:30 CEST.
 */

import { instantOf, localTime, wallKey } from "../zoned-time.js";

/** Expanded cron fields, as node-cron's parser reports them (minus seconds). */
export interface CronFields {
  minute: number[];
  hour: number[];
  /** Days 1–31, or "L" (last day of the month) and node-cron's other day tokens. */
  dayOfMonth: Array<number | string>;
  /** 1–12. */
  month: number[];
  /** 0–6 (Sunday 0), or "5L" (last Friday), "1#2" (second Monday). */
  dayOfWeek: Array<number | string>;
}

export interface Occurrence {
  /** The local wall time, "YYYY-MM-DDTHH:MM": the slot's name. */
  key: string;
  /** When it runs (epoch ms). */
  at: number;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function dayMatches(fields: CronFields, year: number, month: number, day: number): boolean {
  if (!fields.month.includes(month)) return false;
  const last = daysIn(year, month);
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  const domOk = fields.dayOfMonth.some((v) => v === day || (v === "L" && day === last));
  const dowOk = fields.dayOfWeek.some((v) => {
    if (typeof v === "number") return v % 7 === weekday;
    const lastOf = /^([0-7])L$/i.exec(v);
    if (lastOf) return Number(lastOf[1]) % 7 === weekday && day + 7 > last;
    const nth = /^([0-7])#([1-5])$/.exec(v);
    return nth !== null && Number(nth[1]) % 7 === weekday && Math.floor((day - 1) / 7) + 1 === Number(nth[2]);
  });
  // node-cron requires both the day of the month and the day of the week to match.
  return domOk && dowOk;
}

/** The day's occurrences in order of their instants. */
function occurrencesOn(fields: CronFields, timeZone: string, y: number, m: number, d: number): Occurrence[] {
  if (!dayMatches(fields, y, m, d)) return [];
  const out: Occurrence[] = [];
  for (const hour of [...fields.hour].sort((a, b) => a - b)) {
    for (const minute of [...fields.minute].sort((a, b) => a - b)) {
      const parts = { year: y, month: m, day: d, hour, minute };
      out.push({ key: wallKey(parts), at: instantOf(parts, timeZone) });
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

function shiftDay(p: { year: number; month: number; day: number }, by: number) {
  const date = new Date(Date.UTC(p.year, p.month - 1, p.day + by));
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

/** Looked ahead or back this far at most (a February 29 schedule, or "5#5", may be years apart). */
const SEARCH_DAYS = 366 * 8;

/** The first occurrence strictly after `after`, or undefined when there is none in eight years. */
export function nextOccurrence(fields: CronFields, timeZone: string, after: number): Occurrence | undefined {
  // Start a day early: a skipped time shifted forward can land on the next local day's clock.
  let cursor = shiftDay(localTime(after, timeZone), -1);
  for (let i = 0; i < SEARCH_DAYS; i++) {
    const found = occurrencesOn(fields, timeZone, cursor.year, cursor.month, cursor.day).find(
      (o) => o.at > after,
    );
    if (found) return found;
    cursor = shiftDay(cursor, 1);
  }
  return undefined;
}

/** The latest occurrence at or before `at`, or undefined when there is none in eight years. */
export function latestOccurrence(fields: CronFields, timeZone: string, at: number): Occurrence | undefined {
  let cursor = shiftDay(localTime(at, timeZone), 1);
  for (let i = 0; i < SEARCH_DAYS; i++) {
    const found = occurrencesOn(fields, timeZone, cursor.year, cursor.month, cursor.day)
      .filter((o) => o.at <= at)
      .pop();
    if (found) return found;
    cursor = shiftDay(cursor, -1);
  }
  return undefined;
}

/** The next `count` occurrences after `after`. */
export function nextOccurrences(
  fields: CronFields,
  timeZone: string,
  after: number,
  count: number,
): Occurrence[] {
  const out: Occurrence[] = [];
  let from = after;
  while (out.length < count) {
    const next = nextOccurrence(fields, timeZone, from);
    if (!next) break;
    out.push(next);
    from = next.at;
  }
  return out;
}
