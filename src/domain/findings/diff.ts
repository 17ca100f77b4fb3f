import type { Severity } from "../ports.js";
import type { HistoryFinding } from "./history-records.js";
import type { FindingDecision, Fingerprint, ScanDiff, SeverityCounts } from "./types.js";

/** What each finding of a scan is against the project's previous finished scan. */
export type FindingStatus = "new" | "open" | "accepted" | "false_positive";

export function zeroCounts(): SeverityCounts {
  return { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
}

export interface DiffOutcome {
  diff: ScanDiff;
  /** Each current finding's status, in the order given. */
  status: Map<Fingerprint, FindingStatus>;
  /** The previous scan's findings absent now. */
  fixed: HistoryFinding[];
}

/**
 * Classifies a scan's findings: a decision in force (accepted risk, false positive) wins, and such a
 * finding is counted apart, never as new; otherwise a finding the previous scan also had is still
 * open, one it did not have is new (also when an older scan had it: it came back). Without a
 * previous scan nothing is new: the first scan's findings are all open.
 */
export function diffScans(
  current: readonly HistoryFinding[],
  previous: readonly HistoryFinding[] | undefined,
  decisions: ReadonlyMap<Fingerprint, FindingDecision>,
): DiffOutcome {
  const diff: ScanDiff = {
    first: previous === undefined,
    new: zeroCounts(),
    fixed: zeroCounts(),
    open: zeroCounts(),
    accepted: 0,
    falsePositive: 0,
  };
  const before = new Map<Fingerprint, Severity>((previous ?? []).map((f) => [f.fingerprint, f.severity]));
  const status = new Map<Fingerprint, FindingStatus>();
  for (const finding of current) {
    if (status.has(finding.fingerprint)) continue;
    const decision = decisions.get(finding.fingerprint);
    if (decision?.kind === "accepted") {
      diff.accepted += 1;
      status.set(finding.fingerprint, "accepted");
    } else if (decision?.kind === "false_positive") {
      diff.falsePositive += 1;
      status.set(finding.fingerprint, "false_positive");
    } else if (previous === undefined || before.has(finding.fingerprint)) {
      diff.open[finding.severity] += 1;
      status.set(finding.fingerprint, "open");
    } else {
      diff.new[finding.severity] += 1;
      status.set(finding.fingerprint, "new");
    }
  }
  const fixed = (previous ?? []).filter((f) => !status.has(f.fingerprint));
  for (const finding of fixed) diff.fixed[finding.severity] += 1;
  return { diff, status, fixed };
}
