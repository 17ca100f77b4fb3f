/**
 * Wall-clock time in an IANA time zone, with the zone's own daylight-saving rules, through the
 * runtime's time zone data (Intl, https://tc39.es/ecma402/#datetimeformat-objects). Schedules and
 * subscription digests and quiet hours all read local time here, so both agree on what "09:00 in
 * Europe/Berlin" is on the nights the clock changes.
 */

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

export interface LocalTime extends LocalParts {
  second: number;
  /** 0 is Sunday. */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let found = formatters.get(timeZone);
  if (!found) {
    found = new Intl.DateTimeFormat("en-US", {
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
    formatters.set(timeZone, found);
  }
  return found;
}

/** True for an IANA zone name this runtime knows ("UTC", "Europe/Berlin"); offsets and odd text are not. */
export function isTimeZone(name: string): boolean {
  if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+){0,2}$/.test(name)) return false;
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

export function localTime(at: number, timeZone: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(at))) {
    if (part.type !== "literal") parts[part.type] = part.value;
  }
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

/** The zone's offset from UTC at an instant, in ms (whole minutes). */
function offsetAt(at: number, timeZone: string): number {
  const p = localTime(at, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
  return asUtc - Math.floor(at / 60_000) * 60_000;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** A local wall time as "YYYY-MM-DDTHH:MM". */
export function wallKey(p: LocalParts): string {
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`;
}

/**
 * The instant of a local wall time in a zone. A time the clock repeats (set back) is the first of
 * the two; a time the clock skips (set forward) is the instant the same wall time would have had
 * before the change, e.g. 02:30 on the spring-forward night in Europe/Berlin is 03:30 CEST.
 */
export function instantOf(p: LocalParts, timeZone: string): number {
  const naive = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
  const before = offsetAt(naive - 12 * 3600_000, timeZone);
  const after = offsetAt(naive + 12 * 3600_000, timeZone);
  const wanted = wallKey(p);
  const valid = [naive - before, naive - after].filter((at) => wallKey(localTime(at, timeZone)) === wanted);
  if (valid.length > 0) return Math.min(...valid);
  return naive - before;
}
