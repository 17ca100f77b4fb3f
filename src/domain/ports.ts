/**
 * What the domain needs from the outside world. Adapters in scanners/, store/, slack/, veracode/,
 * scheduler/ and net/ implement these; domain code imports nothing else.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * Narrow persistence: JSON values under a namespace and key, with optional TTL. Errors surface as
 * AppError("store"), never swallowed.
 */
export interface KeyValueStore {
  get<T>(namespace: string, key: string): Promise<T | undefined>;
  set<T>(namespace: string, key: string, value: T, ttlMs?: number): Promise<void>;
  /** Insert only when no live value exists; true when this call wrote it (first writer wins). */
  add<T>(namespace: string, key: string, value: T, ttlMs?: number): Promise<boolean>;
  delete(namespace: string, key: string): Promise<boolean>;
  /** Every live entry of a namespace. */
  entries<T>(namespace: string): Promise<Array<[string, T]>>;
  /** Exclusive short-lived leases between replicas (poll claims); see Leases. */
  readonly leases: Leases;
  /**
   * True when this process is the store's only writer (memory; a SQLite file, locked to one process):
   * what it wrote stays true until it writes again, so it may keep its own copy. Absent: false.
   */
  readonly exclusive?: boolean;
  /** Verifies the backend answers; used at start-up and by the health check. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * DNS, as the bot sees it: every A and AAAA address a host name has right now. An empty list means the
 * name has no such record; a failed lookup throws AppError("unavailable").
 */
export interface HostResolver {
  resolve(hostname: string): Promise<string[]>;
}

/**
 * Exclusive, short-lived leases: one atomic backend operation each, no value stored. `acquire` is true
 * for exactly one holder until the lease is released or its TTL runs out; `renew` (false once the
 * lease is lost) and `release` act only while the caller still holds it. Errors as AppError("store").
 */
export interface Leases {
  acquire(key: string, holder: string, ttlMs: number): Promise<boolean>;
  renew(key: string, holder: string, ttlMs: number): Promise<boolean>;
  release(key: string, holder: string): Promise<void>;
}

// ---- Scanner port ----

export type ScanState = "queued" | "running" | "finished" | "stopped" | "failed";

export const TERMINAL_SCAN_STATES: ReadonlySet<ScanState> = new Set(["finished", "stopped", "failed"]);

/** One name per format, the one users type and read. `xml` is the JUnit XML findings report. */
export const REPORT_FORMATS = ["pdf", "xml", "json", "csv"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Other names people use for a format; resolved by reportFormatNamed, nowhere else. */
const REPORT_FORMAT_ALIASES: Readonly<Record<string, ReportFormat>> = { junit: "xml" };

/**
 * The format a user, a configuration value or a stored record names (any case, `junit` for `xml`),
 * or undefined when the name is no format.
 */
export function reportFormatNamed(name: string): ReportFormat | undefined {
  const lower = name.trim().toLowerCase();
  if ((REPORT_FORMATS as readonly string[]).includes(lower)) return lower as ReportFormat;
  return Object.hasOwn(REPORT_FORMAT_ALIASES, lower) ? REPORT_FORMAT_ALIASES[lower] : undefined;
}

export interface ProjectSpec {
  name: string;
  url: string;
  /** Backend-specific options (e.g. DAST Essentials target_type / scan_type). */
  options?: Record<string, string>;
}

export interface Project {
  id: string;
  name: string;
  url: string;
}

export interface StartScanResult {
  scanId: string;
  /** True when the backend reported a scan already running for the project and returned its ID. */
  alreadyRunning: boolean;
}

export interface ScanStatus {
  scanId: string;
  state: ScanState;
  /** The backend's raw status (code or word), kept for display. */
  rawCode: string;
  rawText?: string;
  /** How long the scanner expects the whole scan to take, where it says (DAST Essentials). */
  estimatedDurationMs?: number;
}

/**
 * A report as the scanner sends it. `body` can be read once; whoever receives a Report reads it to
 * the end or cancels it (an unread body holds a connection). The scanner adapter refuses a report
 * over REPORT_MAX_BYTES up front when the server announces its size, and otherwise fails the stream
 * with the same AppError once the limit is passed, so a reader never holds more than the limit.
 */
export interface Report {
  format: ReportFormat;
  body: ReadableStream<Uint8Array>;
  /** Size in bytes when the server said it (Content-Length). */
  size?: number;
  contentType: string;
  fileName: string;
}

/** A report read into memory (domain/reports.ts readReport), e.g. for the findings summary. */
export interface ReportFile {
  format: ReportFormat;
  bytes: Uint8Array;
  contentType: string;
  fileName: string;
}

export interface ScanRef {
  projectId: string;
  scanId: string;
}

/**
 * A schedule the scanning platform runs by itself (DAST Essentials: an analysis profile's schedule),
 * shown read-only beside the bot's own so nobody runs two schedules for one target unaware.
 */
export interface PlatformSchedule {
  /** The platform's words: "DAILY", "WEEKLY", "MONTHLY", … */
  frequency: string;
  /** Every N units of `frequency`. */
  interval: number;
  time: string;
  timezone: string;
  weekday?: string;
  day?: number;
  status: string;
  nextRunAt?: number;
}

export interface Scanner {
  /** Short backend name for logs and messages, e.g. "crashtest". */
  readonly name: string;
  readonly reportFormats: readonly ReportFormat[];
  createProject(spec: ProjectSpec): Promise<Project>;
  /** The project as the scanner knows it; AppError("not_found") when it has no such project. */
  getProject(projectId: string): Promise<Project>;
  deleteProject(projectId: string): Promise<void>;
  startScan(projectId: string): Promise<StartScanResult>;
  stopScan(ref: ScanRef): Promise<void>;
  getScanStatus(ref: ScanRef): Promise<ScanStatus>;
  getReport(ref: ScanRef, format: ReportFormat): Promise<Report>;
  /** The platform's own schedules of a project; only scanners whose platform has them implement it. */
  platformSchedules?(projectId: string): Promise<PlatformSchedule[]>;
  close(): Promise<void>;
}

// ---- Findings ----

export type Severity = "critical" | "high" | "medium" | "low" | "info";
export const SEVERITIES: readonly Severity[] = ["critical", "high", "medium", "low", "info"];

export interface Finding {
  title: string;
  severity: Severity;
  category: string;
  score?: number;
  /**
   * The scanner's own words about this occurrence (JSON `information`, JUnit failure message).
   * Report text quotes attack payloads: escape it before display.
   */
  detail?: string;
  /**
   * The scanner's name for the check that found it, stable across scans: the Crashtest JSON
   * `finding_description_slug`, the JUnit testcase classname's scanner part.
   */
  slug?: string;
  /** Where it was found, as far as the report says (read from the scanner's text, scanners/location.ts). */
  location?: FindingLocation;
  /** How to fix it, when the report says (Crashtest JSON descriptions). */
  remediation?: Remediation;
}

export interface FindingLocation {
  /** Absolute http(s) URL as the report gives it. */
  url?: string;
  /** The URL's path (also when the report names only host and path). */
  path?: string;
  parameter?: string;
  /** Upper case, e.g. "GET". */
  method?: string;
}

export interface Remediation {
  howToFix?: string;
  /** http(s) links only. */
  references: { label: string; url: string }[];
}

export interface FindingsSummary {
  counts: Record<Severity, number>;
  total: number;
  /** Sorted most severe first. */
  findings: Finding[];
  /** Checks the report says could not run (JUnit `<error>` test cases), of all its checks. */
  scannerErrors?: { count: number; checks: number };
  /** The checks the report lists, findings or not (Crashtest JSON: its categories): what was covered. */
  checks?: string[];
}
