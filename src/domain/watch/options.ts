import { AppError } from "../errors.js";
import type { Logger, ReportFormat, Scanner } from "../ports.js";
import type { ReportPlan } from "./plan.js";

export interface WatcherOptions {
  /** SCAN_POLL_INTERVAL_SECONDS × 1000; default 120 s (Veracode: at least 2 min between status checks). */
  pollIntervalMs: number;
  /** SCANNER_MAX_REQUESTS_PER_MINUTE: every scanner call of the watcher counts. Default 120. */
  maxRequestsPerMinute: number;
  /** REPORT_FORMATS, intersected with scanner.reportFormats. Default pdf, json. */
  reportFormats: readonly ReportFormat[];
  /** How often tick() runs (the cron job is built from it). Default 15 s. */
  tickMs: number;
  /** Watches processed at once within a tick. Default 8. */
  concurrency: number;
  /** Transient scanner failures retried across polls before the watch gives up. Default 5. */
  maxRetries: number;
  /**
   * A scan's first poll (and each backoff) is delayed by up to this fraction of the interval, so
   * scans started together do not poll together; later polls keep that phase. Default 0.25.
   */
  jitterRatio: number;
  /** Longest backoff between failed scanner calls. Default 15 min. */
  maxBackoffMs: number;
  /** First retry delay after a Slack failure (doubles, up to maxBackoffMs). Default 30 s. */
  slackRetryMs: number;
  /**
   * Lifetime of a per-scan poll claim, renewed every third of it while its holder works on the scan.
   * A replica that dies mid-poll delays that scan at most this long plus one tick. Default 45 s.
   */
  pollClaimTtlMs: number;
  /** Ended watches are kept this long, so watch() of an ended scan stays a no-op. Default 7 days. */
  endedRetentionMs: number;
  /** The in-memory due index is read back from the store in slices, all of it once per resyncMs. Default 10 min. */
  resyncMs: number;
  /** Jitter source in [0, 1); tests pass () => 0. */
  random: () => number;
}

export const DEFAULT_WATCHER_OPTIONS: WatcherOptions = {
  pollIntervalMs: 120_000,
  maxRequestsPerMinute: 120,
  reportFormats: ["pdf", "json"],
  tickMs: 15_000,
  concurrency: 8,
  maxRetries: 5,
  jitterRatio: 0.25,
  maxBackoffMs: 15 * 60_000,
  slackRetryMs: 30_000,
  pollClaimTtlMs: 45_000,
  endedRetentionMs: 7 * 24 * 3600_000,
  resyncMs: 10 * 60_000,
  random: Math.random,
};

/** Veracode's published minimum between status checks. */
export const RECOMMENDED_MIN_POLL_MS = 120_000;

const SUMMARY_FORMATS: readonly ReportFormat[] = ["json", "xml"];

/** Defaults filled in and checked; a poll interval under Veracode's minimum is allowed (and noted). */
export function resolveOptions(given: Partial<WatcherOptions> | undefined, log: Logger): WatcherOptions {
  const o = { ...DEFAULT_WATCHER_OPTIONS, ...given };
  if (!(o.pollIntervalMs >= 1000))
    throw new AppError("config", "The scan poll interval must be at least 1 s.");
  if (!(o.maxRequestsPerMinute >= 1)) {
    throw new AppError("config", "SCANNER_MAX_REQUESTS_PER_MINUTE must be at least 1.");
  }
  if (o.pollIntervalMs < RECOMMENDED_MIN_POLL_MS) {
    // Debug only: config.ts already warns once, naming SCAN_POLL_INTERVAL_SECONDS.
    log.debug("scan poll interval is below Veracode's recommended 2 minutes between status checks", {
      pollIntervalSeconds: o.pollIntervalMs / 1000,
      recommendedSeconds: RECOMMENDED_MIN_POLL_MS / 1000,
    });
  }
  return o;
}

/** REPORT_FORMATS ∩ what the scanner offers, and the format the findings summary is read from. */
export function reportPlan(
  scanner: Scanner,
  wantedFormats: readonly ReportFormat[],
  log: Logger,
): ReportPlan {
  const supported = new Set(scanner.reportFormats);
  const wanted = wantedFormats;
  const formats = [...new Set(wanted)].filter((f) => supported.has(f));
  const dropped = wanted.filter((f) => !supported.has(f));
  if (dropped.length > 0) {
    log.warn("report formats the scanner does not offer are skipped", {
      skipped: dropped,
      scanner: scanner.name,
      offered: [...supported],
    });
  }
  return { formats, summaryFormat: SUMMARY_FORMATS.find((f) => supported.has(f)) };
}
