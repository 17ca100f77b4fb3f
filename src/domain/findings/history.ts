import type { Clock, Finding, FindingsSummary, Logger, ScanState, Severity } from "../ports.js";
import { SEVERITIES } from "../ports.js";
import { diffScans } from "./diff.js";
import { fingerprint } from "./fingerprint.js";
import {
  fromStored,
  type HistoryFinding,
  HistoryRecords,
  type IndexEntry,
  locationLabel,
  STORED_FINDINGS_MAX,
  type StoredScan,
  storedStatus,
  toStored,
} from "./history-records.js";
import { DEFAULT_SUSPECT_THRESHOLDS, type SuspectThresholds, suspectReasons } from "./suspect.js";
import type {
  FindingDecision,
  FindingDecisions,
  FindingLookup,
  Fingerprint,
  KnownFinding,
  ScanResult,
} from "./types.js";

/**
 * Findings history (README "Findings history"): when a scan ends with a findings summary, its
 * findings are remembered per project by fingerprint, and its result (counts, the diff against the
 * project's previous finished scan, why it may not be trusted) is kept for the card, the summary and
 * the `findings` command. The only writer of the findings-* records.
 */

export interface HistoryOptions {
  retentionDays: number;
  suspect: SuspectThresholds;
}

export const DEFAULT_RETENTION_DAYS = 180;

export interface FindingsHistoryDeps {
  store: ConstructorParameters<typeof HistoryRecords>[0];
  clock: Clock;
  /** Accepted risks and false positives in force (domain/findings/decisions.ts). */
  decisions: FindingDecisions;
  logger?: Logger;
  options?: Partial<HistoryOptions>;
  /** Who holds the per-project index lease (the replica). */
  holder?: string;
}

export interface ScanEnded {
  scanId: string;
  projectId: string;
  /** Scanner type (Scanner.name), part of every fingerprint. */
  scanner: string;
  outcome: ScanState;
  /** When the scan started running (else when it was requested). */
  startedAt: number;
  /** False when the bot never saw the scan run (attached after its end): its duration says nothing. */
  durationKnown?: boolean;
  endedAt: number;
  summary: FindingsSummary;
}

export interface Recorded {
  result: ScanResult;
  /** The summary's findings that are new since the previous scan, most severe first. */
  fresh: Finding[];
}

export type ListedStatus = "new" | "open" | "fixed" | "accepted" | "false_positive";

export interface ListedFinding extends KnownFinding {
  status: ListedStatus;
  decision?: FindingDecision;
}

export interface ProjectFindings {
  scanId: string;
  endedAt: number;
  result?: ScanResult;
  /** Most severe first: the latest scan's findings, then the previous scan's that are gone. */
  findings: ListedFinding[];
  /** Distinct findings beyond what the history keeps per scan. */
  dropped?: number;
}

const rank = (severity: Severity) => SEVERITIES.indexOf(severity);

export class FindingsHistory implements FindingLookup {
  private readonly records: HistoryRecords;
  private readonly options: HistoryOptions;
  private readonly holder: string;

  constructor(private readonly deps: FindingsHistoryDeps) {
    this.options = {
      retentionDays: deps.options?.retentionDays ?? DEFAULT_RETENTION_DAYS,
      suspect: deps.options?.suspect ?? DEFAULT_SUSPECT_THRESHOLDS,
    };
    this.records = new HistoryRecords(deps.store, this.options.retentionDays * 86_400_000);
    this.holder = deps.holder ?? `history-${process.pid}-${Math.random().toString(36).slice(2)}`;
  }

  result(scanId: string): Promise<ScanResult | undefined> {
    return this.records.result(scanId);
  }

  /**
   * Records an ended scan once: a second call for the same scan ID (a retried effect, another
   * replica) answers what the first stored and changes nothing.
   */
  async record(scan: ScanEnded): Promise<Recorded> {
    const prints = scan.summary.findings.map((f) => fingerprint(scan.scanner, f));
    const known = await this.records.result(scan.scanId);
    if (known) {
      const stored = await this.records.scan(scan.scanId);
      const fresh = new Set(stored?.findings.filter((f) => storedStatus(f) === "new").map((f) => f[0]));
      return { result: known, fresh: scan.summary.findings.filter((_, i) => fresh.has(prints[i] as string)) };
    }

    const now = this.deps.clock.now();
    const current: HistoryFinding[] = [];
    const seen = new Set<Fingerprint>();
    // The summary is sorted most severe first, so the first occurrence of a fingerprint is its worst.
    scan.summary.findings.forEach((finding, i) => {
      const print = prints[i] as string;
      if (seen.has(print)) return;
      seen.add(print);
      const location = locationLabel(finding.location);
      current.push({
        fingerprint: print,
        severity: finding.severity,
        title: finding.title,
        ...(location ? { location } : {}),
      });
    });

    const index = await this.records.index(scan.projectId);
    const earlier = index.scans.filter((s) => s.scanId !== scan.scanId && s.endedAt <= scan.endedAt);
    const previousEntry = earlier[0];
    const previous = previousEntry ? await this.records.scan(previousEntry.scanId) : undefined;
    const decisions = await this.deps.decisions.inForce(scan.projectId, now);
    const outcome = diffScans(current, previous?.findings.map(fromStored), decisions);

    const durationMs = Math.max(0, scan.endedAt - scan.startedAt);
    const timed = scan.durationKnown !== false;
    const reasons = suspectReasons(
      {
        ...(timed ? { durationMs } : {}),
        total: scan.summary.total,
        ...(scan.summary.scannerErrors ? { scannerErrors: scan.summary.scannerErrors } : {}),
      },
      earlier,
      this.options.suspect,
    );
    const result: ScanResult = {
      scanId: scan.scanId,
      projectId: scan.projectId,
      outcome: scan.outcome,
      startedAt: scan.startedAt,
      endedAt: scan.endedAt,
      durationMs,
      counts: { ...scan.summary.counts },
      total: scan.summary.total,
      diff: outcome.diff,
      ...(reasons.length > 0 ? { suspect: { reasons } } : {}),
    };
    const kept = current.slice(0, STORED_FINDINGS_MAX);
    const stored: StoredScan = {
      v: 1,
      scanId: scan.scanId,
      projectId: scan.projectId,
      endedAt: scan.endedAt,
      ...(previous ? { previousScanId: previous.scanId } : {}),
      ...(current.length > kept.length ? { dropped: current.length - kept.length } : {}),
      findings: kept.map((f) => toStored(f, outcome.status.get(f.fingerprint) ?? "open")),
    };
    const entry: IndexEntry = {
      scanId: scan.scanId,
      outcome: scan.outcome,
      endedAt: scan.endedAt,
      ...(timed ? { durationMs } : {}),
      total: scan.summary.total,
    };
    // The result is written last: once it is there, the scan is recorded (and never recomputed).
    await this.records.saveScan(stored);
    await this.records.addToIndex(scan.projectId, entry, now, this.holder);
    await this.records.saveResult(result);
    if (reasons.length > 0) {
      this.deps.logger?.warn("scan result is suspect", { scanId: scan.scanId, reasons });
    }
    const fresh = new Set(
      current.filter((f) => outcome.status.get(f.fingerprint) === "new").map((f) => f.fingerprint),
    );
    return { result, fresh: scan.summary.findings.filter((_, i) => fresh.has(prints[i] as string)) };
  }

  /** The finding as the project's most recent scans (up to five) last saw it. */
  async finding(projectId: string, print: Fingerprint): Promise<KnownFinding | undefined> {
    const index = await this.records.index(projectId);
    for (const entry of index.scans.slice(0, 5)) {
      const stored = await this.records.scan(entry.scanId);
      const hit = stored?.findings.find((f) => f[0] === print);
      if (hit) return { ...fromStored(hit), lastSeenScanId: entry.scanId };
    }
    return undefined;
  }

  /** The project's findings now: the latest scan's, classified with today's decisions, and the fixed ones. */
  async current(projectId: string): Promise<ProjectFindings | undefined> {
    const index = await this.records.index(projectId);
    const latest = index.scans[0];
    const stored = latest ? await this.records.scan(latest.scanId) : undefined;
    if (!latest || !stored) return undefined;
    const decisions = await this.deps.decisions.inForce(projectId, this.deps.clock.now());
    const listed: ListedFinding[] = stored.findings.map((tuple) => {
      const finding = fromStored(tuple);
      const decision = decisions.get(finding.fingerprint);
      const status: ListedStatus = decision ? decision.kind : storedStatus(tuple) === "new" ? "new" : "open";
      return { ...finding, lastSeenScanId: stored.scanId, status, ...(decision ? { decision } : {}) };
    });
    const previous = stored.previousScanId ? await this.records.scan(stored.previousScanId) : undefined;
    const here = new Set(stored.findings.map((f) => f[0]));
    for (const tuple of previous?.findings ?? []) {
      if (here.has(tuple[0])) continue;
      listed.push({ ...fromStored(tuple), lastSeenScanId: previous?.scanId ?? "", status: "fixed" });
    }
    listed.sort((a, b) => rank(a.severity) - rank(b.severity));
    const result = await this.records.result(stored.scanId);
    return {
      scanId: stored.scanId,
      endedAt: stored.endedAt,
      ...(result ? { result } : {}),
      findings: listed,
      ...(stored.dropped ? { dropped: stored.dropped } : {}),
    };
  }
}
