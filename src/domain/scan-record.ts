import type { MessageRef } from "./approvals.js";
import { type Clock, type KeyValueStore, type ScanState, TERMINAL_SCAN_STATES } from "./ports.js";

/**
 * A scan: the one record of its state. Only the operations below change it; ScanService (start,
 * card, stop) and the watcher (what the scanner reported) call them, nothing writes it directly.
 */
export interface ScanRecord {
  scanId: string;
  projectId: string;
  projectName: string;
  targetUrl: string;
  backend: string;
  requestedBy: string;
  approvedBy?: string;
  /** Set when a schedule started the scan: `requestedBy` is who scheduled it. */
  scheduleId?: string;
  channel: string;
  card?: MessageRef;
  state: ScanState;
  rawCode?: string;
  /** The scanner's own words for the state (e.g. why it failed), as last reported. */
  rawText?: string;
  /** How long the scanner expects the scan to take, where it says (DAST Essentials). */
  estimatedDurationMs?: number;
  /** When the record was created: the scan was requested (or attached). */
  startedAt: number;
  updatedAt: number;
  /** When the bot first saw the scan running; absent until then (and in records stored before). */
  runningAt?: number;
  /** When the bot first saw a terminal state; absent until then (and in records stored before). */
  endedAt?: number;
  stopRequestedBy?: string;
  /** When the stop was sent; absent in records stored before. */
  stopRequestedAt?: number;
}

/** The first time a scan is seen running or ended is kept; later observations never move it. */
function stamped(scan: ScanRecord, now: number): ScanRecord {
  const next = { ...scan };
  if (scan.state === "running" && next.runningAt === undefined) next.runningAt = now;
  if (TERMINAL_SCAN_STATES.has(scan.state) && next.endedAt === undefined) next.endedAt = now;
  return next;
}

/** What a scanner says besides the state (ScanStatus.rawText, estimatedDurationMs). */
export interface ScanSaid {
  rawText?: string;
  estimatedDurationMs?: number;
}

function saidOf(said: ScanSaid): ScanSaid {
  return {
    ...(said.rawText ? { rawText: said.rawText } : {}),
    ...(said.estimatedDurationMs === undefined ? {} : { estimatedDurationMs: said.estimatedDurationMs }),
  };
}

const SCANS = "scans";

/** The scan records in the store, keyed by scan ID, and the domain operations that change them. */
export class ScanBook {
  constructor(
    private readonly store: KeyValueStore,
    private readonly clock: Clock,
  ) {}

  getScan(scanId: string): Promise<ScanRecord | undefined> {
    return this.store.get<ScanRecord>(SCANS, scanId);
  }

  async listScans(): Promise<ScanRecord[]> {
    return (await this.store.entries<ScanRecord>(SCANS)).map(([, scan]) => scan);
  }

  private async write(scan: ScanRecord): Promise<ScanRecord> {
    const saved = { ...scan, updatedAt: this.clock.now() };
    await this.store.set(SCANS, scan.scanId, saved);
    return saved;
  }

  /** "Scan started" (or attached to a running one): the record is created. */
  started(scan: ScanRecord): Promise<ScanRecord> {
    return this.write(stamped(scan, this.clock.now()));
  }

  /** The scan's card was posted: later updates edit it and replies go into its thread. */
  async cardPosted(scanId: string, card: MessageRef): Promise<ScanRecord | undefined> {
    const scan = await this.getScan(scanId);
    return scan ? this.write({ ...scan, card }) : undefined;
  }

  /**
   * "Scan observed": the scanner reported a state; a change is recorded, the same state is not. The
   * scanner's words and estimate, when given, are kept with the change.
   */
  async observed(
    scanId: string,
    state: ScanState,
    rawCode?: string,
    said: ScanSaid = {},
  ): Promise<ScanRecord | undefined> {
    const scan = await this.getScan(scanId);
    if (!scan || (scan.state === state && scan.rawCode === rawCode)) return scan;
    const next: ScanRecord = { ...scan, state, ...saidOf(said) };
    if (rawCode === undefined) delete next.rawCode;
    else next.rawCode = rawCode;
    return this.write(stamped(next, this.clock.now()));
  }

  /**
   * "Scan attached" (`scan status <id> <project>`): a scan the bot did not start, or one it knows,
   * with the state the scanner just reported. What the record already holds (card, people) is kept.
   */
  async attached(scan: ScanRecord): Promise<ScanRecord> {
    const known = await this.getScan(scan.scanId);
    const card = known?.card ?? scan.card;
    return this.write(
      stamped(
        {
          ...(known ?? scan),
          ...(card ? { card } : {}),
          state: scan.state,
          ...(scan.rawCode === undefined ? {} : { rawCode: scan.rawCode }),
          ...saidOf(scan),
        },
        this.clock.now(),
      ),
    );
  }

  /** A stop was sent to the scanner for this person; the scan ends when the scanner says so. */
  async stopRequested(scanId: string, user: string): Promise<ScanRecord | undefined> {
    const scan = await this.getScan(scanId);
    return scan
      ? this.write({ ...scan, stopRequestedBy: user, stopRequestedAt: this.clock.now() })
      : undefined;
  }
}
