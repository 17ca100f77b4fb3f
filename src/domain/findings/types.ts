import type { ScanState, Severity } from "../ports.js";

/**
 * The findings-history contracts shared by its parts: the history of scan results per project
 * (history.ts), the four-eyes decisions on single findings (decisions.ts), and their readers (the
 * scan card and summary, subscriptions, the `findings` command).
 */

/** A finding's stable identity across scans of one project (fingerprint.ts says how it is made). */
export type Fingerprint = string;

export type SeverityCounts = Record<Severity, number>;

/** What a scan's findings are against the project's previous finished scan. */
export interface ScanDiff {
  /** No earlier scan of the project to compare with. */
  first: boolean;
  /** Open now, absent from the previous scan (accepted and false positives excluded). */
  new: SeverityCounts;
  /** Present in the previous scan, absent now. */
  fixed: SeverityCounts;
  /** Present in both (accepted and false positives excluded). */
  open: SeverityCounts;
  /** Found now but covered by a decision in force. */
  accepted: number;
  falsePositive: number;
}

/** One ended scan as the history keeps it. */
export interface ScanResult {
  scanId: string;
  projectId: string;
  outcome: ScanState;
  startedAt: number;
  endedAt: number;
  durationMs: number;
  counts: SeverityCounts;
  total: number;
  diff: ScanDiff;
  /** Why the result should not be trusted; absent when nothing is suspicious. */
  suspect?: { reasons: string[] };
}

/** A decision on one finding of a project, made by one person and approved by a second. */
export interface FindingDecision {
  kind: "accepted" | "false_positive";
  fingerprint: Fingerprint;
  reason: string;
  requestedBy: string;
  approvedBy: string;
  decidedAt: number;
  /** Risk acceptances expire; false positives do not. */
  expiresAt?: number;
}

/** The decisions in force, as findings history needs them to classify a scan's findings. */
export interface FindingDecisions {
  inForce(projectId: string, now: number): Promise<ReadonlyMap<Fingerprint, FindingDecision>>;
}

/** A finding as last seen in a project's history, for the cards that ask a decision about it. */
export interface KnownFinding {
  fingerprint: Fingerprint;
  title: string;
  severity: Severity;
  /** Where it was found, for display (path, parameter, method). */
  location?: string;
  lastSeenScanId: string;
}

/** Findings history as its readers ask it. */
export interface FindingLookup {
  finding(projectId: string, fingerprint: Fingerprint): Promise<KnownFinding | undefined>;
  /** The ended scan's result, once the history recorded it. */
  result(scanId: string): Promise<ScanResult | undefined>;
}
