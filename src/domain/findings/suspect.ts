/**
 * Whether a finished scan's result can be trusted (README "Findings history"). A scan whose login
 * failed or whose target was down often "finishes" quickly with few or no findings; no scanner says
 * so, so the result is compared with the project's recent scans.
 */

export interface SuspectThresholds {
  /** Suspect when the scan ran under this share of the recent scans' median duration (1/3). */
  durationRatio: number;
  /** How many recent scans the median is taken over (5). */
  recentScans: number;
  /** Suspect when it found nothing while the recent scans' median was at least this many findings (10). */
  manyFindings: number;
  /** Suspect when at least this share of the report's checks ended in a scanner error (0.2). */
  errorShare: number;
}

export const DEFAULT_SUSPECT_THRESHOLDS: SuspectThresholds = {
  durationRatio: 1 / 3,
  recentScans: 5,
  manyFindings: 10,
  errorShare: 0.2,
};

export interface SuspectInput {
  /** Absent when the bot never saw the scan run (attached after its end): no duration to judge. */
  durationMs?: number;
  total: number;
  /** Checks the report says could not run, of all its checks (JUnit `<error>`). */
  scannerErrors?: { count: number; checks: number };
}

/** Earlier finished scans of the project, newest first. */
export interface RecentScan {
  durationMs?: number;
  total: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** "4 min", "2 h", "1 h 20 min", "40 s". */
export function durationText(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The reasons not to trust the result, in words for the card; empty when nothing is suspicious. */
export function suspectReasons(
  scan: SuspectInput,
  earlier: readonly RecentScan[],
  thresholds: SuspectThresholds = DEFAULT_SUSPECT_THRESHOLDS,
): string[] {
  const reasons: string[] = [];
  const recent = earlier.slice(0, Math.max(1, thresholds.recentScans));
  const found = plural(scan.total, "finding");
  if (recent.length > 0) {
    const known = recent.flatMap((s) => (s.durationMs === undefined ? [] : [s.durationMs]));
    const usual = known.length > 0 ? median(known) : 0;
    if (scan.durationMs !== undefined && usual > 0 && scan.durationMs < usual * thresholds.durationRatio) {
      reasons.push(
        `${found}, but the scan ran ${durationText(scan.durationMs)} against a usual ${durationText(usual)}: the login or the target may have failed`,
      );
    }
    const usualTotal = median(recent.map((s) => s.total));
    if (scan.total === 0 && usualTotal >= thresholds.manyFindings) {
      reasons.push(
        `0 findings, but the last ${plural(recent.length, "scan")} found ${Math.round(usualTotal)} as a rule: the login, the target or the scope may have changed`,
      );
    }
  }
  const errors = scan.scannerErrors;
  if (
    errors &&
    errors.count > 0 &&
    errors.checks > 0 &&
    errors.count / errors.checks >= thresholds.errorShare
  ) {
    reasons.push(
      `the scanner reported ${errors.count} of ${plural(errors.checks, "check")} as errors: the result is partial`,
    );
  }
  return reasons;
}
