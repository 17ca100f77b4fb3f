import * as z from "zod";
import { REPORT_FORMATS, reportFormatNamed } from "./domain/ports.js";
import { DAST_STOP_ACTIONS, DEFAULT_REPORT_MAX_BYTES } from "./scanners/settings.js";

/**
 * The shape of the plain (non-secret) settings, one key per environment variable, with messages a person
 * can act on. config.ts reads the environment and applies this schema; nothing else uses it.
 */

export const DEFAULT_SLACK_API_URL = "https://slack.com/api/";

const plural = (n: number, unit: string) => (n === 1 ? unit.replace(/s$/, "") : unit);

/**
 * A number read from text, with messages a person can act on ("must be a whole number of seconds, got a
 * non-number") instead of the schema library's own ("expected number, received NaN").
 */
function numberOf(unit: string, range: { min: number; max: number; whole?: boolean; above?: boolean }) {
  const of = unit ? ` of ${unit}` : "";
  const kind = range.whole ? `a whole number${of}` : `a number${of}`;
  const count = (n: number) => (unit ? `${n} ${plural(n, unit)}` : String(n));
  return z.string().transform((text, ctx) => {
    const value = Number(text.trim());
    const fail = (message: string) => {
      ctx.addIssue({ code: "custom", message });
      return z.NEVER;
    };
    if (text.trim() === "" || !Number.isFinite(value)) return fail(`must be ${kind}, got a non-number`);
    if (range.whole && !Number.isInteger(value)) return fail(`must be ${kind}, got a fraction (${value})`);
    if (range.above ? value <= range.min : value < range.min) {
      return fail(`must be ${range.above ? "more than" : "at least"} ${count(range.min)}, got ${value}`);
    }
    if (value > range.max) return fail(`must be at most ${count(range.max)}, got ${value}`);
    return value;
  });
}

const httpUrl = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL, such as https://example.com/" })
  .transform((value) => value.replace(/\/*$/, "/"));

/**
 * SCANNER_UI_URL: a link template with {projectId} and {scanId}; filled with sample IDs it must be an
 * https URL, and it may hold no other placeholder.
 */
const scannerUiUrl = z
  .string()
  .refine((value) => {
    if (/\{(?!projectId\}|scanId\})[^}]*\}/.test(value)) return false;
    try {
      return new URL(value.replaceAll("{projectId}", "1").replaceAll("{scanId}", "1")).protocol === "https:";
    } catch {
      return false;
    }
  }, "must be an https URL template with {projectId} and {scanId}, such as https://scanner.example.com/projects/{projectId}/scans/{scanId}")
  .optional();

function idList(pattern: RegExp, what: string) {
  return z
    .string()
    .default("")
    .transform((value) => value.split(/[\s,]+/).filter(Boolean))
    .pipe(z.array(z.string().regex(pattern, `must be a comma-separated list of ${what}`)));
}

function bool(fallback: boolean) {
  return z
    .enum(["true", "false", "1", "0", "yes", "no"], "must be true or false")
    .default(fallback ? "true" : "false")
    .transform((value) => value === "true" || value === "1" || value === "yes");
}

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, `must be one of ${values.join(", ")}`);

const SLACK_IDS = "Slack user IDs (U…/W…) or user group IDs (S…)";
const SLACK_ID = /^[UWS][A-Z0-9]{2,}$/;
const seconds = (min: number, max: number) => numberOf("seconds", { min, max });

/**
 * An IANA time zone name, as the runtime's Intl knows them. The default needs no check: the first
 * Intl.DateTimeFormat of a process loads time zone data (15–20 ms of the start), and UTC is always known.
 */
const knownTimeZone = (zone: string) => {
  if (zone === "UTC") return true;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};
const TIME_ZONE_PROBLEM = "must be an IANA time zone such as UTC or Europe/Berlin";
const timeZone = z.string().default("UTC").refine(knownTimeZone, TIME_ZONE_PROBLEM);

export const plain = z.object({
  NODE_ENV: z.string().default("development"),
  LOG_LEVEL: oneOf(["debug", "info", "warn", "error"]).default("info"),
  PORT: numberOf("", { min: 0, max: 65535, whole: true }).default(3000),
  SLACK_API_URL: httpUrl.default(DEFAULT_SLACK_API_URL),
  SLACK_TEAM_ID: z
    .string()
    .regex(/^[TE][A-Z0-9]{2,}$/, "must be a workspace (T…) or organization (E…) ID")
    .optional(),
  SLACK_APP_ID: z
    .string()
    .regex(/^A[A-Z0-9]{2,}$/, "must be an app ID (A…)")
    .optional(),
  SCANNER: oneOf(["crashtest", "simulator", "dast-essentials"]).optional(),
  DAST_API_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  DAST_STOP_ACTION: z.enum(DAST_STOP_ACTIONS, "must be STOP_SAVE or STOP_DELETE").default("STOP_SAVE"),
  DAST_VERACODE_ACCOUNT: z.string().optional(),
  DAST_ESTIMATE_UNIT: oneOf(["seconds", "minutes"]).default("seconds"),
  DAST_TARGET_TYPE: z.string().optional(),
  DAST_SCAN_TYPE: z.string().optional(),
  DAST_TEAM_ID: z.string().optional(),
  CRASHTEST_API_URL: httpUrl.default("https://api.crashtest.cloud/"),
  CRASHTEST_TEAM_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be the numeric team ID from crashtest.cloud")
    .optional(),
  CRASHTEST_ROUTES: z.string().optional(),
  SIMULATOR_QUEUE_SECONDS: seconds(0, 86_400).default(5),
  SIMULATOR_RUN_SECONDS: seconds(0, 86_400).default(30),
  SIMULATOR_OUTCOME: oneOf(["finished", "failed", "stopped"]).default("finished"),
  ADMIN_USERS: idList(SLACK_ID, SLACK_IDS),
  APPROVER_USERS: idList(SLACK_ID, SLACK_IDS),
  OPERATOR_USERS: idList(SLACK_ID, SLACK_IDS),
  ALLOWED_CHANNELS: idList(/^[CGD][A-Z0-9]{2,}$/, "Slack channel IDs (C…/G…)"),
  REQUIRE_APPROVAL: bool(true),
  APPROVAL_TTL_HOURS: numberOf("hours", { min: 0, max: 720, above: true }).default(24),
  APPROVAL_CHANNEL: z
    .string()
    .regex(/^[CG][A-Z0-9]{2,}$/, "must be a channel ID (C…/G…)")
    .optional(),
  ALLOW_PRIVATE_TARGETS: bool(false),
  SCHEDULE_CATCH_UP: oneOf(["latest", "none"]).default("latest"),
  SCANNER_UI_URL: scannerUiUrl,
  SCAN_POLL_INTERVAL_SECONDS: numberOf("seconds", { min: 1, max: 86_400, whole: true }).default(120),
  SCANNER_MAX_REQUESTS_PER_MINUTE: numberOf("requests", { min: 1, max: 10_000, whole: true }).default(120),
  SCAN_WATCH_TICK_SECONDS: numberOf("seconds", { min: 1, max: 30, whole: true })
    .refine((n) => 60 % n === 0, "must divide a minute evenly: 1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30")
    .default(15),
  REPORT_FORMATS: z
    .string()
    .default("pdf,json")
    .transform((value) => [
      ...new Set(
        value
          .split(",")
          .filter((f) => f.trim() !== "")
          // One name per format: junit is another name for xml.
          .map((f) => reportFormatNamed(f) ?? f.trim()),
      ),
    ])
    .pipe(
      z
        .array(z.enum(REPORT_FORMATS, "must list pdf, xml, json or csv (junit is another name for xml)"))
        .min(1, "must list at least one of pdf, xml, json or csv"),
    ),
  FINDINGS_RETENTION_DAYS: numberOf("days", { min: 1, max: 3650, whole: true }).default(180),
  FINDINGS_SUSPECT_DURATION_RATIO: numberOf("", { min: 0, max: 1 }).default(1 / 3),
  FINDINGS_SUSPECT_RECENT_SCANS: numberOf("scans", { min: 1, max: 20, whole: true }).default(5),
  FINDINGS_SUSPECT_MANY_FINDINGS: numberOf("findings", { min: 1, max: 100_000, whole: true }).default(10),
  FINDINGS_SUSPECT_ERROR_SHARE: numberOf("", { min: 0, max: 1, above: true }).default(0.2),
  REPORT_MAX_BYTES: numberOf("bytes", { min: 1024, max: 2 ** 31, whole: true }).default(
    DEFAULT_REPORT_MAX_BYTES,
  ),
  REPORT_TRANSFERS_MAX: numberOf("", { min: 1, max: 64, whole: true }).default(3),
  VERACODE_API_PROFILE: z.string().optional(),
  VERACODE_ACCOUNTS: z.string().optional(),
  VERACODE_CREDENTIALS_FILE: z.string().optional(),
  VERACODE_API_URL: z.string().optional(),
  VERACODE_WATCH_USER_IDS: z.string().optional(),
  ALERT_CHANNEL: z
    .string()
    .regex(/^[CG][A-Z0-9]{2,}$/, "must be a channel ID (C…/G…)")
    .optional(),
  CREDENTIAL_CHECK_CRON: z.string().default("0 9 * * *"),
  CREDENTIAL_CHECK_TIMEZONE: timeZone,
  SUBSCRIPTIONS_TIMEZONE: timeZone,
  HOME: z.string().optional(),
});
