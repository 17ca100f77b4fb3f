import type { Clock, KeyValueStore, ReportFormat, ScanState } from "../ports.js";

/**
 * The watch record and its effects log. Every Slack side effect of a watch has a deterministic ID
 * (`state:running`, `final`, `summary`, `file:pdf`, ...). It is recorded as `planned` together with the
 * poll result that caused it, switched to `pending` (saved) right before it is performed and to `done`
 * after (effects.ts). The planning functions here only append to the log; they call nothing.
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

  constructor(
    private readonly store: KeyValueStore,
    private readonly clock: Clock,
  ) {}

  /** The full record with its schedule; `schedule` when the schedule record was just read (under the claim). */
  async get(scanId: string, schedule?: ScheduleRead): Promise<WatchRecord | undefined> {
    const [watch, stored] = await Promise.all([
      this.store.get<WatchRecord>(WATCHES, scanId),
      schedule ? schedule.stored : this.store.get<StoredSchedule>(scheduleNamespace(scanId), scanId),
    ]);
    if (!watch) return undefined;
    this.maybeQuiet.set(watch, Array.isArray(stored?.[4]));
    return withSchedule(watch, stored);
  }

  /** The schedule record alone, and what it says of a quiet watch (undefined when not quiet). */
  async schedule(scanId: string): Promise<ScheduleRead> {
    const stored = await this.store.get<StoredSchedule>(scheduleNamespace(scanId), scanId);
    const quiet = stored?.[4];
    if (!stored || !Array.isArray(quiet)) return { stored };
    return {
      stored,
      quiet: {
        scanId,
        projectId: quiet[0],
        state: quiet[1],
        ...(quiet[2] === null ? {} : { rawCode: quiet[2] }),
        nextPollAt: stored[1],
        nextStatusAt: stored[2],
        ...(stored[3] > 0 ? { lastPolledAt: stored[3] } : {}),
      },
    };
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
    return this.store.set(scheduleNamespace(watch.scanId), watch.scanId, stored);
  }

  private async writeSchedule(watch: WatchRecord, quiet: Quiet | 0): Promise<void> {
    const stored: StoredSchedule = [
      this.clock.now(),
      watch.nextPollAt,
      watch.nextStatusAt,
      watch.lastPolledAt ?? 0,
      quiet,
    ];
    await this.store.set(scheduleNamespace(watch.scanId), watch.scanId, stored);
    this.maybeQuiet.set(watch, quiet !== 0);
  }

  async dropSchedule(scanId: string): Promise<void> {
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

/** What the end of a finished scan delivers: report files, and the format the summary is read from. */
export interface ReportPlan {
  formats: readonly ReportFormat[];
  summaryFormat: ReportFormat | undefined;
  /** Whether the scan's start and end are routed to subscribers (the output has `notify`). */
  notify?: boolean;
}

const OPEN: ReadonlySet<EffectStatus> = new Set(["planned", "pending"]);

export function isOpen(effect: WatchEffect): boolean {
  return OPEN.has(effect.status);
}

function uniqueId(watch: WatchRecord, base: string): string {
  if (!watch.effects.some((e) => e.id === base)) return base;
  for (let n = 2; ; n++) {
    const id = `${base}#${n}`;
    if (!watch.effects.some((e) => e.id === id)) return id;
  }
}

/**
 * What the card should show for this record: the state, and whether the watch gave up or the scan
 * vanished. The card is edited when this differs from cardShows (a new raw code alone is no reason).
 */
export function cardSignature(watch: Pick<WatchRecord, "state" | "outcome" | "effects">): string {
  const note = watch.outcome === "watch_failed" || watch.outcome === "not_found" ? watch.outcome : "";
  // Once the summary is posted, the findings history has the scan's result: the card shows its diff.
  const summarized = watch.effects.some((e) => e.kind === "summary" && e.status === "done") ? "|summary" : "";
  return `${watch.state}|${note}${summarized}`;
}

/** Open effects, or a card that does not show the record yet. */
export function hasOpenEffects(watch: WatchRecord): boolean {
  return watch.effects.some(isOpen) || cardSignature(watch) !== watch.cardShows;
}

export function planState(watch: WatchRecord, state: ScanState, rawCode: string | undefined): void {
  watch.state = state;
  watch.rawCode = rawCode;
  watch.effects.push({
    id: uniqueId(watch, `state:${state}`),
    kind: "state",
    status: "planned",
    state,
    ...(rawCode === undefined ? {} : { rawCode }),
  });
}

/** The end of the scan: final state (broadcast), findings summary and report files. */
export function planTerminal(
  watch: WatchRecord,
  state: ScanState,
  rawCode: string | undefined,
  plan: ReportPlan,
): void {
  watch.state = state;
  watch.rawCode = rawCode;
  watch.phase = "reporting";
  watch.outcome = state as WatchOutcome;
  const add = (effect: WatchEffect) => {
    if (!watch.effects.some((e) => e.id === effect.id)) watch.effects.push(effect);
  };
  const reports = state === "finished" ? plan.formats : [];
  add({
    id: "final",
    kind: "final",
    status: "planned",
    state,
    ...(rawCode === undefined ? {} : { rawCode }),
  });
  if (state === "finished" && plan.summaryFormat) add({ id: "summary", kind: "summary", status: "planned" });
  for (const format of reports) add({ id: `file:${format}`, kind: "file", status: "planned", format });
  // Last: by then the summary effect has recorded the scan's result in findings history.
  if (plan.notify && (state === "finished" || state === "failed"))
    add({ id: NOTIFY_ENDED, kind: "notify", status: "planned", state });
}

/** The routed notifications of a scan (subscribed channels, the requester's DM): its start and its end. */
export const NOTIFY_STARTED = "notify:started";
export const NOTIFY_ENDED = "notify";

/** The card was just posted: the start is routed once, on the next tick. */
export function planStarted(watch: WatchRecord): void {
  if (watch.effects.some((e) => e.id === NOTIFY_STARTED)) return;
  watch.effects.push({ id: NOTIFY_STARTED, kind: "notify", status: "planned", state: watch.state });
}

/** The scanner no longer knows the scan: the watch ends with one notice. */
export function planGone(watch: WatchRecord, reason: string): void {
  watch.phase = "reporting";
  watch.outcome = "not_found";
  watch.effects.push({ id: uniqueId(watch, "gone"), kind: "gone", status: "planned", reason });
}

/** The watcher gives up on a scan it cannot poll: one notice with the reason. */
export function planWatchFailed(watch: WatchRecord, reason: string, attempts: number): void {
  watch.phase = "reporting";
  watch.outcome = "watch_failed";
  watch.effects.push({
    id: uniqueId(watch, "watch_failed"),
    kind: "watch_failed",
    status: "planned",
    reason,
    attempts,
  });
}

/** Once every file is settled and one was refused, one notice lists the report commands instead. */
export function planFilesRefused(watch: WatchRecord): void {
  const files = watch.effects.filter((e) => e.kind === "file");
  if (files.length === 0 || files.some(isOpen)) return;
  if (!files.some((e) => e.status === "refused")) return;
  if (watch.effects.some((e) => e.kind === "files_refused")) return;
  watch.effects.push({ id: "files_refused", kind: "files_refused", status: "planned" });
}
