import type { CronFields } from "./occurrences.js";
import { type Timing, WEEKDAYS } from "./timing.js";

/** A schedule's timing in words: "every Monday at 02:00 Europe/Berlin". */

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

const capital = (word: string) => `${word.charAt(0).toUpperCase()}${word.slice(1)}`;
const pad = (n: number) => String(n).padStart(2, "0");
const ordinal = (n: number) => {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
  return `${n}${suffix}`;
};

function list(words: string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}

const isRange = (values: readonly unknown[], from: number, to: number) =>
  values.length === to - from + 1 && values.every((v, i) => v === from + i);

function dayName(token: number | string): string {
  if (typeof token === "number") return capital(WEEKDAYS[token % 7] ?? String(token));
  const last = /^([0-7])L$/i.exec(token);
  if (last) return `last ${capital(WEEKDAYS[Number(last[1]) % 7] ?? "")} of the month`;
  const nth = /^([0-7])#([1-5])$/.exec(token);
  if (nth) return `${ordinal(Number(nth[2]))} ${capital(WEEKDAYS[Number(nth[1]) % 7] ?? "")} of the month`;
  return token;
}

function days(fields: CronFields): string {
  const everyDom = isRange(fields.dayOfMonth, 1, 31);
  const sorted = [...fields.dayOfWeek].sort((a, b) => (Number(a) || 7) - (Number(b) || 7));
  const everyDow = isRange(fields.dayOfWeek, 0, 6);
  const weekdays = isRange(fields.dayOfWeek, 1, 5);
  const dow = everyDow ? "" : weekdays ? "every weekday" : `every ${list(sorted.map(dayName))}`;
  const dom = everyDom
    ? ""
    : `on the ${list(fields.dayOfMonth.map((d) => (d === "L" ? "last day" : typeof d === "number" ? ordinal(d) : d)))} of the month`;
  const months = isRange(fields.month, 1, 12)
    ? ""
    : ` in ${list(fields.month.map((m) => MONTHS[m - 1] ?? String(m)))}`;
  if (!dow && !dom) return `every day${months}`;
  if (dow && dom) return `${dom} if it is ${dow.replace(/^every /, "a ")}${months}`;
  return `${dow || dom}${months}`;
}

function times(fields: CronFields): string {
  const minute = fields.minute[0] ?? 0;
  if (isRange(fields.hour, 0, 23)) return `every hour at :${pad(minute)}`;
  const hours = [...fields.hour].sort((a, b) => a - b);
  const shown = hours.slice(0, 6).map((h) => `${pad(h)}:${pad(minute)}`);
  const more = hours.length > 6 ? ` and ${hours.length - 6} more times` : "";
  return `at ${list(shown)}${more}`;
}

/** Words for any cron fields, e.g. "every Monday and Thursday at 02:00". */
function fieldsInWords(fields: CronFields): string {
  const on = days(fields);
  return on === "every day" && isRange(fields.hour, 0, 23) ? times(fields) : `${on} ${times(fields)}`;
}

/** Words for a schedule's timing, its zone last: "every Monday at 02:00 Europe/Berlin". */
export function timingInWords(timing: Timing, fields: CronFields): string {
  const { cadence } = timing;
  const base =
    cadence.kind === "daily"
      ? `every day at ${timing.time}`
      : cadence.kind === "weekly"
        ? `every ${dayName(cadence.day)} at ${timing.time}`
        : cadence.kind === "monthly"
          ? `on the ${ordinal(cadence.day)} of every month at ${timing.time}`
          : fieldsInWords(fields);
  return `${base} ${timing.timeZone}`;
}
