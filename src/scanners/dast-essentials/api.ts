import { AppError } from "../../domain/errors.js";

/**
 * The parts of the Veracode DAST Essentials Target Configuration Service (TCS) API the bot uses
 * (https://docs.veracode.com/r/DAST_Essentials_REST_API; the OpenAPI document is published in github.com/Blackmoon-co/veracode-dast-sdk).
 * Constants and request shapes only, no schema library: config.ts reads the enums at start-up; the
 * response readers are in bodies.ts, loaded with the scanner.
 */

/** Server path of the TCS API on the Veracode REST hosts (api.veracode.com, api.veracode.eu). */
export const DAST_TCS_PATH = "/dae/api/tcs-api/api/v1";
export const DEFAULT_DAST_API_URL = `https://api.veracode.com${DAST_TCS_PATH}`;

export const TARGET_TYPES = ["WEB_APP", "API"] as const;
export type TargetType = (typeof TARGET_TYPES)[number];

/** QUICK and FULL are what the bot offers; ENTERPRISE is in the spec's enum and passed through. */
export const SCAN_TYPES = ["QUICK", "FULL", "ENTERPRISE"] as const;
export type ScanType = (typeof SCAN_TYPES)[number];

export const STOP_ACTIONS = ["STOP_SAVE", "STOP_DELETE"] as const;
/** STOP_SAVE keeps what the analysis found so far; STOP_DELETE discards it. */
export type StopAction = (typeof STOP_ACTIONS)[number];

/** The `TargetRequest` body of POST /targets (every required field of the spec is always sent). */
export interface TargetRequest {
  name: string;
  protocol: "HTTP" | "HTTPS";
  /** Host[:port][/path] without the scheme, e.g. `shop.example.com`. */
  url: string;
  target_type: TargetType;
  scan_type: ScanType;
  /** true: only Security Leads see the target and `teams` must be null; false: needs one team. */
  is_sec_lead_only: boolean;
  teams: string[] | null;
  /** The organization's statement that it may scan the target; the bot asserts it for the user. */
  authorized_to_scan: boolean;
  api_specification_file_url?: string;
  description?: string;
}

/** The TCS API's analysis-run states (spec `Status`). There is no queued state. */
export const RUN_STATUSES = ["RUNNING", "STOPPING", "STOPPED", "FINISHED", "FAILED"] as const;

// IDs are UUIDs (some without hyphens) but opaque; they end up in paths, so they are checked before
// use. Percent-encoding alone would still let ".." through.
export const DAST_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function isDastId(value: string): boolean {
  return DAST_ID.test(value);
}

export function checkDastId(kind: "target" | "analysis run", value: string): string {
  if (!DAST_ID.test(value)) {
    throw new AppError("validation", `That is not a valid Veracode DAST Essentials ${kind} ID.`, {
      detail: `invalid ${kind} ID (${value.length} characters)`,
    });
  }
  return value;
}

export const DAST_REPORT_FORMATS = ["pdf", "csv", "xml"] as const;
export type DastReportFormat = (typeof DAST_REPORT_FORMATS)[number];

/** Content types of the report endpoint (spec: application/pdf, text/csv, application/xml). */
export const REPORT_CONTENT_TYPES: Readonly<Record<DastReportFormat, string>> = {
  pdf: "application/pdf",
  csv: "text/csv",
  xml: "application/xml",
};

/** The `{format}` path segment of the report endpoint: the spec calls the JUnit XML report `junit`. */
export const REPORT_PATHS: Readonly<Record<DastReportFormat, string>> = {
  pdf: "pdf",
  csv: "csv",
  xml: "junit",
};
