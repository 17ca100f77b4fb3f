import type { FindingLocation, KeyValueStore, ScanState, Severity } from "../ports.js";
import { SEVERITIES } from "../ports.js";
import type { Fingerprint, ScanResult } from "./types.js";

/**
 * How findings history lies in the store. Three records, all with the retention TTL
 * (FINDINGS_RETENTION_DAYS) and written once per scan, keyed by IDs (never listed):
 *   findings-results/<scanId>     the ScanResult: counts, diff, suspect reasons (what the card reads)
 *   findings-scans/<scanId>       the scan's findings, one compact tuple per fingerprint
 *   findings-projects/<projectId> the project's recent scans, newest first (for the previous scan and
 *                                 the suspect judgement); rewritten with each scan, so it lives as long
 *                                 as the project's newest scan
 */

export const NS = {
  results: "findings-results",
  scans: "findings-scans",
  projects: "findings-projects",
} as const;

/** Scans a project's index keeps: the previous one, and enough for the suspect judgement's median. */
export const INDEX_MAX_SCANS = 20;
/** Distinct findings kept per scan, most severe first: a runaway report cannot grow a record without end. */
export const STORED_FINDINGS_MAX = 3000;
export const STORED_TEXT_MAX = { title: 200, location: 300 } as const;

/**
 * One finding as stored: [fingerprint, severity index in SEVERITIES, status when the scan ended
 * (index in STORED_STATUS), title, location for display].
 */
export type StoredFinding = [Fingerprint, number, number, string, string?];

export const STORED_STATUS = ["open", "new", "accepted", "false_positive"] as const;
export type StoredStatus = (typeof STORED_STATUS)[number];

export interface StoredScan {
  v: 1;
  scanId: string;
  projectId: string;
  endedAt: number;
  /** The project's previous finished scan the diff was made against. */
  previousScanId?: string;
  /** Present when the scan had more distinct findings than STORED_FINDINGS_MAX. */
  dropped?: number;
  findings: StoredFinding[];
}

export interface IndexEntry {
  scanId: string;
  outcome: ScanState;
  endedAt: number;
  /** Absent when the bot never saw the scan run. */
  durationMs?: number;
  total: number;
}

export interface ProjectIndex {
  v: 1;
  scans: IndexEntry[];
}

export interface HistoryFinding {
  fingerprint: Fingerprint;
  severity: Severity;
  title: string;
  location?: string;
}

export function severityAt(index: number): Severity {
  return SEVERITIES[index] ?? "info";
}

export function toStored(finding: HistoryFinding, status: StoredStatus): StoredFinding {
  const tuple: StoredFinding = [
    finding.fingerprint,
    SEVERITIES.indexOf(finding.severity),
    STORED_STATUS.indexOf(status),
    finding.title.slice(0, STORED_TEXT_MAX.title),
  ];
  if (finding.location !== undefined) tuple.push(finding.location.slice(0, STORED_TEXT_MAX.location));
  return tuple;
}

export function fromStored([fingerprint, severity, , title, location]: StoredFinding): HistoryFinding {
  return { fingerprint, severity: severityAt(severity), title, ...(location ? { location } : {}) };
}

export function storedStatus(finding: StoredFinding): StoredStatus {
  return STORED_STATUS[finding[2]] ?? "open";
}

/** "GET /vulnerabilities/exec/ · ip": where a finding was found, for people. */
export function locationLabel(location: FindingLocation | undefined): string | undefined {
  if (location === undefined) return undefined;
  const place = [location.method, location.path ?? location.url].filter(Boolean).join(" ");
  const label = [place, location.parameter].filter(Boolean).join(" · ");
  return label === "" ? undefined : label;
}

/** The store as findings history uses it; every write carries the retention TTL. */
export class HistoryRecords {
  constructor(
    private readonly store: KeyValueStore,
    private readonly retentionMs: number,
  ) {}

  result(scanId: string): Promise<ScanResult | undefined> {
    return this.store.get<ScanResult>(NS.results, scanId);
  }

  saveResult(result: ScanResult): Promise<void> {
    return this.store.set(NS.results, result.scanId, result, this.retentionMs);
  }

  scan(scanId: string): Promise<StoredScan | undefined> {
    return this.store.get<StoredScan>(NS.scans, scanId);
  }

  saveScan(scan: StoredScan): Promise<void> {
    return this.store.set(NS.scans, scan.scanId, scan, this.retentionMs);
  }

  async index(projectId: string): Promise<ProjectIndex> {
    return (await this.store.get<ProjectIndex>(NS.projects, projectId)) ?? { v: 1, scans: [] };
  }

  /**
   * Adds the scan to the project's index (again is a no-op), newest first, without entries past the
   * retention. A per-project lease keeps two replicas recording scans of one project from losing
   * each other's entry; if it cannot be had in about a second, the write goes ahead (a lost entry
   * only makes one later diff compare against an older scan).
   */
  async addToIndex(projectId: string, entry: IndexEntry, now: number, holder: string): Promise<ProjectIndex> {
    const lease = `findings-index:${projectId}`;
    let held = false;
    for (let attempt = 0; attempt < 20 && !held; attempt++) {
      held = await this.store.leases.acquire(lease, holder, 10_000);
      if (!held) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    try {
      const index = await this.index(projectId);
      const scans = [entry, ...index.scans.filter((s) => s.scanId !== entry.scanId)]
        .filter((s) => s.endedAt > now - this.retentionMs)
        .sort((a, b) => b.endedAt - a.endedAt)
        .slice(0, INDEX_MAX_SCANS);
      const next: ProjectIndex = { v: 1, scans };
      await this.store.set(NS.projects, projectId, next, this.retentionMs);
      return next;
    } finally {
      if (held) await this.store.leases.release(lease, holder);
    }
  }
}
