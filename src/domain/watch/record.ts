import type { Clock, KeyValueStore, ReportFormat, ScanState } from "../ports.js";
import { hasOpenEffects } from "./plan.js";

/**
 * The watch record and its effects log. Every Slack side effect of a watch has a deterministic ID
 * (`state:running`, `final`, `summary`, `file:pdf`, ...). It is recorded as `planned` together with the
 * poll result that caused it (plan.ts), switched to `pending` (saved) right before it is performed and
 * to `done` after (effects.ts).
 */

export type WatchPhase = "polling" | "reporting" | "ended";

/** Why a watch ended: the scan's own terminal state, or the watcher giving up / the scan vanishing. */
export type WatchOutcome = "finished" | "stopped" | "failed" | "watch_failed" | "not_found";

export type EffectKind =
  | "state"
  | "final"
  | "summary"
  | "file"
  | "files_refused"
  | "watch_failed"
  | "gone"
  | "notify";

export type EffectStatus = "planned" | "pending" | "done" | "refused";

export interface WatchEffect {
  /** Deterministic within the scan; also what Slack message metadata / file names are matched on. */
  id: string;
  kind: EffectKind;
  status: EffectStatus;
  /** The state announced (state, final). */
  state?: ScanState;
  rawCode?: string;
  /** The report format (file). */
  format?: ReportFormat;
  /** Why a file could not be delivered, or why the watch gave up. */
  reason?: string;
  /** Failed attempts before the watch gave up (watch_failed). */
  attempts?: number;
}

/**
 * The watcher's bookkeeping for one scan. It holds no fact of the scan itself: the card (where replies
 * go) and the project name are read from the scan record (ScanBook) when an effect is rendered.
 */
export interface WatchRecord {
  scanId: string;
  /** The key of the scanner's status and report calls. */
  projectId: string;
  /**
   * The state (and raw code) last announced: what the card shows and the thread was told. A poll that
   * reports another state plans its notices; the scan's current state lives in the scan record.
   */
  state: ScanState;
  rawCode?: string;
  phase: WatchPhase;
  outcome?: WatchOutcome;
  /** When the next tick should look at this watch (status poll or pending effects). */
  nextPollAt: number;
  /** Earliest next status check: polls stay at least the poll interval apart. */
  nextStatusAt: number;
  lastPolledAt?: number;
  /** Consecutive failed scanner calls (transient ones are retried up to maxRetries). */
  failures: number;
  lastError?: string;
  /** Consecutive failed Slack attempts; the effect is retried on a later tick, never dropped. */
  slackFailures: number;
  /** Signature of what the card shows; the card is edited when it differs from the record. */
  cardShows: string;
  /** Every Slack side effect, in the order it is performed. */
  effects: WatchEffect[];
  watchedBy: string;
  createdAt: number;
  updatedAt: number;
  endedAt?: number;
  /** How often the watch was (re-)attached after ending badly. */
  attaches: number;
}

export const WATCHES = "watches";

/**
 * What an unchanged poll needs of a quiet watch (polling, nothing open, no failure): where to poll and
 * what it last announced. A poll that answers the same state and raw code then reads and writes only
 * the compact schedule record; anything else reads the full record.
 */
export interface QuietWatch {
  scanId: string;
  projectId: string;
  state: ScanState;
  rawCode?: string;
  nextPollAt: number;
  nextStatusAt: number;
  lastPolledAt?: number;
}

type Quiet = [projectId: string, state: ScanState, rawCode: string | null];

/** A schedule record as read (WatchRecords.schedule), handed back to WatchRecords.get. */
export interface ScheduleRead {
  readonly stored: StoredSchedule | undefined;
  readonly quiet?: QuietWatch;
}

/**
 * The compact schedule record, stored as a tuple. Its fifth field is 0 unless the full record was
 * quiet when it was written; records written before that field existed have four and are never quiet.
 */
type StoredSchedule = [
  at: number,
  nextPollAt: number,
  nextStatusAt: number,
  lastPolledAt: number,
  quiet?: Quiet | 0,
];

/** Schedule records are spread over this many namespaces, so they can be read back a slice at a time. */
export const SCHEDULE_BUCKETS = 8;
const SCHEDULES = "watch-due";

function scheduleNamespace(scanId: string): string {
  // FNV-1a: a stable spread of scan IDs over the buckets.
  let hash = 0x811c9dc5;
  for (let i = 0; i < scanId.length; i++) hash = Math.imul(hash ^ scanId.charCodeAt(i), 0x01000193);
  return `${SCHEDULES}-${(hash >>> 0) % SCHEDULE_BUCKETS}`;
}

/** Watch records stored by earlier versions carried copies of the scan's card and project name. */
function withoutScanFacts(watch: WatchRecord): WatchRecord {
  const legacy = watch as WatchRecord & { card?: unknown; projectName?: unknown };
  delete legacy.card;
  delete legacy.projectName;
  return watch;
}

function withSchedule(record: WatchRecord, stored: StoredSchedule | undefined): WatchRecord {
  const watch = withoutScanFacts(record);
  if (!stored || !(stored[0] > watch.updatedAt) || watch.phase === "ended") return watch;
  watch.nextPollAt = stored[1];
  watch.nextStatusAt = stored[2];
  if (stored[3] > 0) watch.lastPolledAt = stored[3];
  return watch;
}

function quietOf(watch: WatchRecord): Quiet | 0 {
  const quiet =
    watch.phase === "polling" &&
    watch.failures === 0 &&
    watch.lastError === undefined &&
    !hasOpenEffects(watch);
  return quiet ? [watch.projectId, watch.state, watch.rawCode ?? null] : 0;
}

/**
 * The schedule records this process wrote, per store that nobody else writes (KeyValueStore.exclusive),
 * shared by every WatchRecords over it: each poll reads its schedule, and at 10,000 watched scans the
 * store's get was about a tenth of a watcher tick (npm run bench). Filled by writes only, so a record
 * read before a write never lands here.
 */
const WRITTEN = new WeakMap<KeyValueStore, Map<string, StoredSchedule>>();

/**
 * The watch records in the store: the full record (`watches`, one per scan: schedule, counters and the
 * effects log) and, for a live watch, its compact schedule record (`watch-due-<bucket>`). A record read
 * here carries the newer of the two schedules.
 *
 * A quiet schedule record must never stand for a full record that is not quiet, even after a crash
 * between the two writes: a full record saved not quiet, over a schedule that may say quiet, is
 * preceded by a schedule write that says it is not. A quiet full record needs no such write: a stale
 * quiet schedule's state or raw code differs from the scanner's answer (the full record is read
 * then), and its older schedule loses to the full record's when the due index is rebuilt.
 */
export class WatchRecords {
  /** Per record object: whether the schedule in the store may say quiet (unknown: it may). */
  private readonly maybeQuiet = new WeakMap<WatchRecord, boolean>();
  private readonly written: Map<string, StoredSchedule> | undefined;

  constructor(
    private readonly store: KeyValueStore,
    private readonly clock: Clock,
  ) {
    if (!store.exclusive) return;
    this.written = WRITTEN.get(store) ?? new Map();
    WRITTEN.set(store, this.written);
  }

  /** Whether only this process writes the store (KeyValueStore.exclusive). */
  get local(): boolean {
    return this.written !== undefined;
  }

  /** The full record with its schedule; `schedule` when the schedule record was just read (under the claim). */
  async get(scanId: string, schedule?: ScheduleRead): Promise<WatchRecord | undefined> {
    const [watch, stored] = await Promise.all([
      this.store.get<WatchRecord>(WATCHES, scanId),
      schedule ? schedule.stored : this.readSchedule(scanId),
    ]);
    if (!watch) return undefined;
    this.maybeQuiet.set(watch, Array.isArray(stored?.[4]));
    return withSchedule(watch, stored);
  }

  /** The schedule record alone, and what it says of a quiet watch (undefined when not quiet). */
  async schedule(scanId: string): Promise<ScheduleRead> {
    const stored = await this.readSchedule(scanId);
    const quiet = stored?.[4];
    if (!stored || !Array.isArray(quiet)) return { stored };
    // Built field by field, not with conditional spreads: this runs once per poll.
    const watch: QuietWatch = {
      scanId,
      projectId: quiet[0],
      state: quiet[1],
      nextPollAt: stored[1],
      nextStatusAt: stored[2],
    };
    if (quiet[2] !== null) watch.rawCode = quiet[2];
    if (stored[3] > 0) watch.lastPolledAt = stored[3];
    return { stored, quiet: watch };
  }

  async set(watch: WatchRecord, ttlMs?: number): Promise<void> {
    if (quietOf(watch) === 0 && this.maybeQuiet.get(watch) !== false) await this.writeSchedule(watch, 0);
    await this.store.set(WATCHES, watch.scanId, watch, ttlMs);
  }

  /** Saves a changed record, stamped with the time of the change. */
  save(watch: WatchRecord, ttlMs?: number): Promise<void> {
    watch.updatedAt = this.clock.now();
    return this.set(watch, ttlMs);
  }

  /** Writes only the schedule of a live watch (an unchanged poll, or after any save). */
  saveSchedule(watch: WatchRecord): Promise<void> {
    return this.writeSchedule(watch, quietOf(watch));
  }

  /** The schedule of a quiet watch after a poll that changed nothing else. */
  saveQuiet(watch: QuietWatch): Promise<void> {
    const stored: StoredSchedule = [
      this.clock.now(),
      watch.nextPollAt,
      watch.nextStatusAt,
      watch.lastPolledAt ?? 0,
      [watch.projectId, watch.state, watch.rawCode ?? null],
    ];
    return this.putSchedule(watch.scanId, stored);
  }

  private async writeSchedule(watch: WatchRecord, quiet: Quiet | 0): Promise<void> {
    const stored: StoredSchedule = [
      this.clock.now(),
      watch.nextPollAt,
      watch.nextStatusAt,
      watch.lastPolledAt ?? 0,
      quiet,
    ];
    await this.putSchedule(watch.scanId, stored);
    this.maybeQuiet.set(watch, quiet !== 0);
  }

  private readSchedule(scanId: string): Promise<StoredSchedule | undefined> {
    const written = this.written?.get(scanId);
    if (written) return Promise.resolve(written);
    return this.store.get<StoredSchedule>(scheduleNamespace(scanId), scanId);
  }

  private async putSchedule(scanId: string, stored: StoredSchedule): Promise<void> {
    // Until the write lands (or if it fails) the store says what the schedule is.
    this.written?.delete(scanId);
    await this.store.set(scheduleNamespace(scanId), scanId, stored);
    this.written?.set(scanId, stored);
  }

  async dropSchedule(scanId: string): Promise<void> {
    this.written?.delete(scanId);
    await this.store.delete(scheduleNamespace(scanId), scanId);
  }

  /** One bucket of schedules: scanId -> nextPollAt. */
  async schedules(bucket: number): Promise<Array<[string, number]>> {
    const entries = await this.store.entries<StoredSchedule>(`${SCHEDULES}-${bucket}`);
    return entries.map(([id, stored]) => [id, stored[1]]);
  }

  /** Every full record with its schedule (start-up). */
  async entries(): Promise<Array<[string, WatchRecord]>> {
    const schedules = new Map<string, StoredSchedule>();
    for (let bucket = 0; bucket < SCHEDULE_BUCKETS; bucket++) {
      for (const [id, stored] of await this.store.entries<StoredSchedule>(`${SCHEDULES}-${bucket}`))
        schedules.set(id, stored);
    }
    const entries = await this.store.entries<WatchRecord>(WATCHES);
    return entries.map(([id, watch]) => [id, withSchedule(watch, schedules.get(id))]);
  }
}
