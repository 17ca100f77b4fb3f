import { randomUUID } from "node:crypto";
import { AppError, isAppError, toAppError } from "./errors.js";
import type {
  Clock,
  FindingsSummary,
  KeyValueStore,
  Logger,
  Report,
  ReportFormat,
  Scanner,
  ScanState,
  ScanStatus,
} from "./ports.js";
import { TERMINAL_SCAN_STATES } from "./ports.js";
import type { MessageRef, ScanRecord } from "./scans.js";

/**
 * The scan watcher: once a scan is started (or attached to), the bot owns it until its report is in
 * Slack. One record per scan in the store is the single source of truth; every tick polls the due
 * ones (bounded concurrency, a global request budget, per-scan claims so two replicas never poll the
 * same scan), edits the card when the state changes, replies once per change in the card's thread,
 * and at the end posts the findings summary and uploads the reports.
 *
 * Exactly-once feel: every Slack side effect has a deterministic ID (`state:running`, `final`,
 * `summary`, `file:pdf`, ...). It is recorded as `planned` together with the poll result that caused
 * it, switched to `pending` (saved) right before it is performed and to `done` after. A `pending`
 * effect found on a later tick (crash, lost response, failed save) is first looked up in the card's
 * thread (message metadata or file name); it is performed again only when Slack does not have it.
 * chat.update of the card is idempotent and is simply repeated until the record says it is shown.
 */

// ---- records ----

export type WatchPhase = "polling" | "reporting" | "ended";

/** Why a watch ended: the scan's own terminal state, or the watcher giving up / the scan vanishing. */
export type WatchOutcome = "finished" | "stopped" | "failed" | "watch_failed" | "not_found";

export type EffectKind = "state" | "final" | "summary" | "file" | "files_refused" | "watch_failed" | "gone";

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

export interface WatchRecord {
  scanId: string;
  projectId: string;
  projectName: string;
  /** The scan card; replies go into its thread. */
  card: MessageRef;
  /** Last state the scanner reported. */
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

// ---- ports ----

export type WatchNotice =
  | { kind: "state"; state: ScanState; rawCode?: string }
  | { kind: "final"; state: ScanState; rawCode?: string; reportFormats: readonly ReportFormat[] }
  | { kind: "summary"; summary: FindingsSummary; format: ReportFormat }
  | { kind: "summary_unavailable"; reason: string }
  | { kind: "files_refused"; refused: ReadonlyArray<{ format: ReportFormat; reason: string }> }
  | { kind: "watch_failed"; reason: string; attempts: number }
  | { kind: "gone"; reason: string };

export interface WatchSubject {
  scanId: string;
  projectId: string;
  projectName: string;
}

export type UploadResult = { ok: true } | { ok: false; reason: string };

/**
 * The Slack side of the watcher (slack/notifier.ts). Failures are thrown as AppError; `retryable`
 * false means Slack will not accept it as is (the card update is then skipped; posts are still
 * retried later). Uploads that Slack refuses for good (e.g. file_uploads_disabled) are answered
 * with `{ ok: false, reason }` instead of an error.
 */
export interface WatchOutput {
  /** chat.update: idempotent, so never reconciled. */
  updateCard(card: MessageRef, scan: ScanRecord, watch: WatchRecord): Promise<void>;
  /** One message in the card's thread, tagged with the effect ID (message metadata). */
  post(card: MessageRef, subject: WatchSubject, notice: WatchNotice, effectId: string): Promise<void>;
  /** One report file into the card's thread, under a name derived from (scan ID, format). */
  upload(card: MessageRef, subject: WatchSubject, report: Report, effectId: string): Promise<UploadResult>;
  /** IDs of the effects of this scan already visible in the card's thread. */
  postedEffects(card: MessageRef, subject: WatchSubject): Promise<ReadonlySet<string>>;
}

/** ScanService satisfies this: the scan records the rest of the bot reads. */
export interface ScanRecords {
  getScan(scanId: string): Promise<ScanRecord | undefined>;
  saveScan(scan: ScanRecord): Promise<void>;
}

/** Project names for attach; ProjectRegistry satisfies it. */
export interface ProjectLookup {
  get(projectId: string): Promise<{ name: string; url: string } | undefined>;
}

/** Authorizer satisfies it. */
export interface AttachAuthorizer {
  require(userId: string, capability: "report", channelId?: string): Promise<void>;
}

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
   * Lifetime of a per-scan poll claim. It must outlast the slowest processing of one watch (scanner
   * timeouts, Slack 429 waits); a replica that dies mid-poll delays that scan this long. Default 10 min.
   */
  pollClaimTtlMs: number;
  /** Ended watches stay readable (recentResults) this long. Default 7 days. */
  endedRetentionMs: number;
  /** Full rebuild of the in-memory due index from the store, as a safety net. Default 10 min. */
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
  pollClaimTtlMs: 10 * 60_000,
  endedRetentionMs: 7 * 24 * 3600_000,
  resyncMs: 10 * 60_000,
  random: Math.random,
};

/** Veracode's published minimum between status checks. */
export const RECOMMENDED_MIN_POLL_MS = 120_000;

export interface WatcherDeps {
  scanner: Scanner;
  store: KeyValueStore;
  clock: Clock;
  logger: Logger;
  output: WatchOutput;
  scans: ScanRecords;
  /** scanners/findings.ts summarizeReport. */
  summarize: (report: Report) => FindingsSummary;
  projects?: ProjectLookup;
  authz?: AttachAuthorizer;
  options?: Partial<WatcherOptions>;
}

export interface TickReport {
  /** True when another tick of this instance was still running. */
  skipped: boolean;
  due: number;
  processed: number;
  statusCalls: number;
  reportCalls: number;
  stateChanges: number;
  /** Watches another instance held the claim for. */
  contended: number;
  slackFailures: number;
  errors: number;
  budgetExhausted: boolean;
  active: number;
}

export interface AttachResult {
  scan: ScanRecord;
  status: ScanStatus;
  /**
   * The watch, when the scan is (now) watched. Absent when the scan has no card yet (the caller posts
   * it and calls watch()) or ended before the bot knew it.
   */
  watch?: WatchRecord;
  alreadyWatched: boolean;
}

export const WATCHES = "watches";
const META = "watch-meta";
const POLL_CLAIMS = "poll";
const LOCKS = "watch-locks";
const ADDED = "watch-added";
const BUDGET = "budget";
const SUMMARY_FORMATS: readonly ReportFormat[] = ["json", "junit", "xml"];

// ---- request budget ----

/**
 * Sliding 60-second window over scanner requests, counted per second (a request counts for the
 * second it was made in and the 59 after, so the window is never undercounted). Its buckets are saved
 * in the store after each tick and loaded before the next, so the budget holds across replicas.
 */
export class RequestBudget {
  /** Per-second counts, oldest first (Map keeps insertion order; load() re-sorts). */
  private buckets = new Map<number, number>();
  private sum = 0;
  private last = Number.NEGATIVE_INFINITY;

  constructor(readonly perMinute: number) {}

  used(now: number): number {
    const oldest = Math.floor(now / 1000) - 59;
    for (const [second, count] of this.buckets) {
      if (second >= oldest) break;
      this.buckets.delete(second);
      this.sum -= count;
    }
    return this.sum;
  }

  tryTake(now: number): boolean {
    if (this.used(now) >= this.perMinute) return false;
    const second = Math.floor(now / 1000);
    if (second < this.last) {
      // A clock that went back: keep the order.
      this.load([[second, (this.buckets.get(second) ?? 0) + 1]]);
      return true;
    }
    this.buckets.set(second, (this.buckets.get(second) ?? 0) + 1);
    this.sum++;
    this.last = second;
    return true;
  }

  /** Merges a stored snapshot (per-second maximum, so nothing is counted twice or lost). */
  load(snapshot: ReadonlyArray<readonly [number, number]>): void {
    const merged = new Map(this.buckets);
    for (const [second, count] of snapshot) merged.set(second, Math.max(count, merged.get(second) ?? 0));
    this.buckets = new Map([...merged].sort((a, b) => a[0] - b[0]));
    this.sum = [...this.buckets.values()].reduce((a, b) => a + b, 0);
    this.last = Math.max(this.last, ...this.buckets.keys());
  }

  snapshot(now: number): Array<[number, number]> {
    this.used(now);
    return [...this.buckets];
  }
}

// ---- due index ----

/**
 * scanId -> nextPollAt for every live watch, with a binary min-heap so a tick pops the due ones in
 * O(k log n) instead of loading the whole namespace. Stale heap entries are skipped lazily. It is a
 * cache: rebuilt from the store at start and every resyncMs, and fed in between with the watches
 * other replicas add (`watch-added`); each popped entry is re-read from the store before anything is
 * done.
 */
export class DueIndex {
  private readonly at = new Map<string, number>();
  private heap: Array<{ at: number; id: string }> = [];

  get size(): number {
    return this.at.size;
  }

  set(id: string, at: number): void {
    if (this.at.get(id) === at) return;
    this.at.set(id, at);
    this.push({ at, id });
    if (this.heap.length > 2 * this.at.size + 1024) this.compact();
  }

  delete(id: string): void {
    this.at.delete(id);
  }

  clear(): void {
    this.at.clear();
    this.heap = [];
  }

  /** Removes and returns the most overdue entry at or before `now`. */
  popDue(now: number): { id: string; at: number } | undefined {
    for (;;) {
      const top = this.heap[0];
      if (!top) return undefined;
      if (this.at.get(top.id) !== top.at) {
        this.pop();
        continue;
      }
      if (top.at > now) return undefined;
      this.pop();
      this.at.delete(top.id);
      return top;
    }
  }

  countDue(now: number): number {
    let count = 0;
    for (const at of this.at.values()) if (at <= now) count++;
    return count;
  }

  private compact(): void {
    this.heap = [...this.at].map(([id, at]) => ({ id, at })).sort((a, b) => a.at - b.at);
  }

  private push(item: { at: number; id: string }): void {
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as { at: number; id: string };
      if (p.at <= item.at) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = item;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (!last || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const l = heap[left] as { at: number; id: string };
      const r = heap[right];
      const child = r && r.at < l.at ? right : left;
      const c = heap[child] as { at: number; id: string };
      if (c.at >= last.at) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
  }
}

// ---- helpers ----

const OPEN: ReadonlySet<EffectStatus> = new Set(["planned", "pending"]);

function isOpen(effect: WatchEffect): boolean {
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
export function cardSignature(watch: Pick<WatchRecord, "state" | "outcome">): string {
  const note = watch.outcome === "watch_failed" || watch.outcome === "not_found" ? watch.outcome : "";
  return `${watch.state}|${note}`;
}

function subjectOf(watch: WatchRecord): WatchSubject {
  return { scanId: watch.scanId, projectId: watch.projectId, projectName: watch.projectName };
}

class BudgetExhausted extends Error {
  constructor() {
    super("scanner request budget exhausted for this tick");
  }
}

/** A scanner call failed; carries the AppError. */
class ScannerFailure extends Error {
  constructor(readonly error: AppError) {
    super(error.message);
  }
}

interface TickContext {
  /** When the tick started, and the tick slot it belongs to (start rounded down to the tick grid). */
  start: number;
  slot: number;
  budget: RequestBudget;
  /** Requests still allowed in this tick (the per-tick share of the minute budget). */
  share: number;
  deadline: number;
  exhausted: boolean;
  report: TickReport;
  /** Watches to look at again on a later tick (never re-popped within this one). */
  later: Array<[string, number]>;
}

// ---- the watcher ----

export class ScanWatcher {
  readonly options: WatcherOptions;
  readonly instanceId = randomUUID();
  private readonly deps: WatcherDeps;
  private readonly log: Logger;
  private readonly index = new DueIndex();
  private readonly budget: RequestBudget;
  /** `watch-added` entries already applied to the index. */
  private readonly seenAdded = new Map<string, number>();
  private lastResync = Number.NEGATIVE_INFINITY;
  private synced = false;
  private running: Promise<TickReport> | undefined;
  private readonly formats: readonly ReportFormat[];
  private readonly summaryFormat: ReportFormat | undefined;

  constructor(deps: WatcherDeps) {
    this.deps = deps;
    this.options = { ...DEFAULT_WATCHER_OPTIONS, ...deps.options };
    this.log = deps.logger.child({ component: "watcher" });
    const o = this.options;
    if (!(o.pollIntervalMs >= 1000))
      throw new AppError("config", "The scan poll interval must be at least 1 s.");
    if (!(o.maxRequestsPerMinute >= 1)) {
      throw new AppError("config", "SCANNER_MAX_REQUESTS_PER_MINUTE must be at least 1.");
    }
    if (o.pollIntervalMs < RECOMMENDED_MIN_POLL_MS) {
      this.log.warn("scan poll interval is below Veracode's recommended 2 minutes between status checks", {
        pollIntervalSeconds: o.pollIntervalMs / 1000,
        recommendedSeconds: RECOMMENDED_MIN_POLL_MS / 1000,
      });
    }
    this.budget = new RequestBudget(o.maxRequestsPerMinute);
    const supported = new Set(deps.scanner.reportFormats);
    // People say "xml" for Crashtest's JUnit XML report, which the adapter calls "junit".
    const wanted = o.reportFormats.map((f) =>
      f === "xml" && !supported.has("xml") && supported.has("junit") ? "junit" : f,
    );
    this.formats = [...new Set(wanted)].filter((f) => supported.has(f));
    const dropped = wanted.filter((f) => !supported.has(f));
    if (dropped.length > 0) {
      this.log.warn("report formats the scanner does not offer are skipped", {
        skipped: dropped,
        scanner: deps.scanner.name,
        offered: [...supported],
      });
    }
    this.summaryFormat = SUMMARY_FORMATS.find((f) => supported.has(f));
  }

  /** Report formats uploaded at the end of a finished scan (REPORT_FORMATS ∩ scanner.reportFormats). */
  get uploadFormats(): readonly ReportFormat[] {
    return this.formats;
  }

  // ---- API for the rest of the bot ----

  /**
   * Starts watching a scan whose card was just posted. Idempotent: a scan already watched keeps its
   * record (and what has been posted). A watch that gave up (scanner failures) or whose scan had
   * vanished is resumed in place: same card, same effects, so nothing is posted twice.
   */
  async watch(scan: ScanRecord): Promise<WatchRecord> {
    if (!scan.card) {
      throw new AppError("internal", "A scan can only be watched once its card is posted.", {
        detail: `watch(${scan.scanId}) without a card`,
      });
    }
    return this.withLock(scan.scanId, () => this.watchLocked(scan));
  }

  /**
   * `scan status <id>` for a scan the bot does not watch: checks it at the scanner (a scan that does
   * not exist fails here with not_found) and records it through ScanService.saveScan. A scan that
   * already has a card (the bot started it; its watch gave up) is watched again at once. A scan
   * without a card is returned card-less: the caller posts its card and calls watch(), as after a
   * start. A scan already watched is answered from its record, without a scanner call.
   */
  async attach(scanId: string, projectId: string, channel: string, user: string): Promise<AttachResult> {
    const { store, scanner, scans, clock } = this.deps;
    await this.deps.authz?.require(user, "report", channel);
    const existing = await store.get<WatchRecord>(WATCHES, scanId);
    if (existing && existing.projectId !== projectId)
      throw wrongProject(scanId, existing.projectId, projectId);
    if (existing && existing.phase !== "ended") {
      const scan = (await scans.getScan(scanId)) ?? this.scanFromWatch(existing, user);
      return {
        scan,
        status: { scanId, state: existing.state, rawCode: existing.rawCode ?? existing.state },
        watch: existing,
        alreadyWatched: true,
      };
    }
    const status = await scanner.getScanStatus({ projectId, scanId });
    const known = await scans.getScan(scanId);
    if (known && known.projectId !== projectId) throw wrongProject(scanId, known.projectId, projectId);
    const now = clock.now();
    const project = known ? undefined : await this.deps.projects?.get(projectId);
    const card = known?.card ?? existing?.card;
    const scan: ScanRecord = {
      ...(known ?? {
        scanId,
        projectId,
        projectName: project?.name ?? projectId,
        targetUrl: project?.url ?? "",
        backend: scanner.name,
        requestedBy: user,
        channel,
        startedAt: now,
        updatedAt: now,
      }),
      ...(card ? { card } : {}),
      state: status.state,
      rawCode: status.rawCode,
    };
    await scans.saveScan(scan);
    const resumable = existing?.outcome === "watch_failed" || existing?.outcome === "not_found";
    if (existing && !resumable) return { scan, status, watch: existing, alreadyWatched: false };
    if (!card) return { scan, status, alreadyWatched: false };
    if (!existing && TERMINAL_SCAN_STATES.has(status.state)) return { scan, status, alreadyWatched: false };
    const watch = await this.withLock(scanId, () => this.watchLocked(scan, status));
    this.log.info("scan attached", { scanId, user, state: status.state });
    return { scan: { ...scan, card: watch.card }, status, watch, alreadyWatched: false };
  }

  /** watch() under the scan's lock; `status` is a status fetched just now (attach). */
  private async watchLocked(scan: ScanRecord, status?: ScanStatus): Promise<WatchRecord> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const existing = await store.get<WatchRecord>(WATCHES, scan.scanId);
    if (existing && existing.phase !== "ended") {
      this.index.set(existing.scanId, existing.nextPollAt);
      return existing;
    }
    if (existing && existing.outcome !== "watch_failed" && existing.outcome !== "not_found") return existing;
    if (existing) return this.resume(existing, now, status);
    const card = scan.card as MessageRef;
    const watch: WatchRecord = {
      scanId: scan.scanId,
      projectId: scan.projectId,
      projectName: scan.projectName,
      card,
      state: scan.state,
      ...(scan.rawCode === undefined ? {} : { rawCode: scan.rawCode }),
      phase: "polling",
      nextPollAt: 0,
      nextStatusAt: 0,
      failures: 0,
      slackFailures: 0,
      cardShows: "",
      effects: [],
      watchedBy: this.instanceId,
      createdAt: now,
      updatedAt: now,
      attaches: 0,
    };
    watch.cardShows = cardSignature(watch);
    if (TERMINAL_SCAN_STATES.has(scan.state)) {
      // Watched after the end: the bot still owes the report.
      this.planTerminal(watch, scan.state, scan.rawCode);
      watch.nextStatusAt = now;
      watch.nextPollAt = now;
    } else {
      // The start (or the status check before) was the last call; the first poll is one interval later.
      watch.nextStatusAt = now + this.interval();
      watch.nextPollAt = watch.nextStatusAt;
    }
    await store.set(WATCHES, watch.scanId, watch);
    this.index.set(watch.scanId, watch.nextPollAt);
    await this.announce(watch);
    this.log.info("watching scan", {
      scanId: watch.scanId,
      state: watch.state,
      nextPollAt: watch.nextPollAt,
    });
    return watch;
  }

  /** A watch that gave up, polling again; with a fresh status its change is announced at once. */
  private async resume(ended: WatchRecord, now: number, status?: ScanStatus): Promise<WatchRecord> {
    const watch: WatchRecord = {
      ...ended,
      phase: "polling",
      failures: 0,
      slackFailures: 0,
      nextStatusAt: now + this.interval(),
      attaches: ended.attaches + 1,
      watchedBy: this.instanceId,
      updatedAt: now,
    };
    delete watch.outcome;
    delete watch.endedAt;
    delete watch.lastError;
    if (status && TERMINAL_SCAN_STATES.has(status.state))
      this.planTerminal(watch, status.state, status.rawCode);
    else if (status && status.state !== ended.state) this.planState(watch, status.state, status.rawCode);
    // The next tick removes the card's "not watched" note (and shows a new state).
    watch.nextPollAt = now;
    await this.deps.store.set(WATCHES, watch.scanId, watch);
    this.index.set(watch.scanId, watch.nextPollAt);
    await this.announce(watch);
    this.log.info("watch resumed", { scanId: watch.scanId, attaches: watch.attaches, state: watch.state });
    return watch;
  }

  /** Rebuilds the due index from the store (call once at start-up). Pending effects are reconciled by the ticks. */
  async start(): Promise<{ active: number; pendingEffects: number }> {
    const added = await this.deps.store.entries<number>(ADDED);
    const entries = await this.deps.store.entries<WatchRecord>(WATCHES);
    this.loadIndex(entries, this.deps.clock.now(), added);
    const pendingEffects = entries.filter(
      ([, w]) => w.phase !== "ended" && w.effects.some((e) => e.status === "pending"),
    ).length;
    this.log.info("scan watcher started", { active: this.index.size, pendingEffects });
    return { active: this.index.size, pendingEffects };
  }

  /** Live watches, for the App Home tab (oldest first). */
  async activeWatches(limit = 50): Promise<WatchRecord[]> {
    const all = await this.deps.store.entries<WatchRecord>(WATCHES);
    return all
      .map(([, w]) => w)
      .filter((w) => w.phase !== "ended")
      .sort((a, b) => a.createdAt - b.createdAt)
      .slice(0, limit);
  }

  /** Watches that ended (newest first), kept endedRetentionMs, for the App Home tab. */
  async recentResults(limit = 10): Promise<WatchRecord[]> {
    const all = await this.deps.store.entries<WatchRecord>(WATCHES);
    return all
      .map(([, w]) => w)
      .filter((w) => w.phase === "ended")
      .sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0))
      .slice(0, limit);
  }

  async getWatch(scanId: string): Promise<WatchRecord | undefined> {
    return this.deps.store.get<WatchRecord>(WATCHES, scanId);
  }

  // ---- the tick ----

  /**
   * One scheduler tick: picks the due watches and processes them with bounded concurrency within the
   * request budget. Never throws; problems are logged and retried on a later tick. A call while the
   * previous tick of this instance still runs returns at once with `skipped`.
   */
  async tick(): Promise<TickReport> {
    if (this.running) return { ...emptyReport(this.index.size), skipped: true };
    this.running = this.runTick().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Waits for a tick in progress (shutdown). */
  async idle(): Promise<void> {
    await this.running?.catch(() => {});
  }

  private async runTick(): Promise<TickReport> {
    const { clock, store } = this.deps;
    const start = clock.now();
    const report = emptyReport(this.index.size);
    try {
      await this.syncIndex(start);
    } catch (error) {
      this.log.error("watch index could not be loaded; tick skipped", { error });
      report.errors++;
      return report;
    }
    try {
      const stored = await store.get<Array<[number, number]>>(META, BUDGET);
      if (stored) this.budget.load(stored);
    } catch (error) {
      this.log.warn("request budget ledger could not be read; using this instance's own", { error });
    }
    const o = this.options;
    const ctx: TickContext = {
      start,
      slot: Math.floor(start / o.tickMs) * o.tickMs,
      budget: this.budget,
      share: Math.max(1, Math.ceil((o.maxRequestsPerMinute * o.tickMs) / 60_000)),
      deadline: start + o.tickMs,
      exhausted: false,
      report,
      later: [],
    };
    report.due = this.index.countDue(start);
    const worker = async () => {
      for (;;) {
        if (ctx.exhausted || clock.now() > ctx.deadline) return;
        const item = this.index.popDue(start);
        if (!item) return;
        await this.handle(item, ctx);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
    for (const [id, at] of ctx.later) this.index.set(id, at);
    report.budgetExhausted = ctx.exhausted;
    report.active = this.index.size;
    if (report.statusCalls + report.reportCalls > 0) {
      try {
        await store.set(META, BUDGET, this.budget.snapshot(clock.now()), 5 * 60_000);
      } catch (error) {
        this.log.warn("request budget ledger could not be saved", { error });
      }
    }
    if (report.errors > 0 || report.slackFailures > 0 || ctx.exhausted) {
      this.log.info("watch tick", { ...report });
    } else {
      this.log.debug("watch tick", { ...report });
    }
    return report;
  }

  /**
   * Keeps the due index in step with the store without loading the whole namespace each tick: a full
   * rebuild at start and every resyncMs; in between, only the small `watch-added` namespace (one
   * short-lived key per watch another replica created or resumed).
   */
  private async syncIndex(now: number): Promise<void> {
    const { store } = this.deps;
    if (!this.synced || now - this.lastResync >= this.options.resyncMs) {
      // Announcements first: their records were written before them, so the full read has them.
      const added = await store.entries<number>(ADDED);
      this.loadIndex(await store.entries<WatchRecord>(WATCHES), now, added);
      this.log.debug("watch index rebuilt", { active: this.index.size });
      return;
    }
    const added = await store.entries<number>(ADDED);
    const current = new Set<string>();
    for (const [id, at] of added) {
      current.add(id);
      if (this.seenAdded.get(id) === at) continue;
      this.seenAdded.set(id, at);
      this.index.set(id, at);
    }
    for (const id of this.seenAdded.keys()) if (!current.has(id)) this.seenAdded.delete(id);
  }

  private loadIndex(
    entries: ReadonlyArray<[string, WatchRecord]>,
    now: number,
    added: ReadonlyArray<[string, number]>,
  ): void {
    this.index.clear();
    for (const [id, watch] of entries) {
      if (watch.phase !== "ended") this.index.set(id, watch.nextPollAt);
    }
    this.seenAdded.clear();
    for (const [id, at] of added) this.seenAdded.set(id, at);
    this.lastResync = now;
    this.synced = true;
  }

  /** Tells the other replicas about a new (or resumed) watch, so they need no full reload for it. */
  private async announce(watch: WatchRecord): Promise<void> {
    const ttl = Math.max(2 * this.options.resyncMs, 10 * 60_000);
    try {
      await this.deps.store.set(ADDED, watch.scanId, watch.nextPollAt, ttl);
      this.seenAdded.set(watch.scanId, watch.nextPollAt);
    } catch (error) {
      this.log.warn("new watch not announced; other replicas see it at their next full resync", {
        scanId: watch.scanId,
        error,
      });
    }
  }

  /** Claims (scanId, nextPollAt), re-reads the record and works on it; always releases the claim. */
  private async handle(item: { id: string; at: number }, ctx: TickContext): Promise<void> {
    const { store, clock } = this.deps;
    let key = item.at;
    for (let attempt = 0; attempt < 2; attempt++) {
      let claim: string | undefined;
      let next: number | undefined;
      try {
        claim = await this.claim(`${item.id}:${key}`);
        if (claim === undefined) {
          ctx.report.contended++;
          // Another instance works on it; look again next tick (its new nextPollAt is read then).
          ctx.later.push([item.id, key + 1]);
          return;
        }
        const watch = await store.get<WatchRecord>(WATCHES, item.id);
        if (!watch || watch.phase === "ended") {
          this.index.delete(item.id);
          return;
        }
        if (watch.nextPollAt !== key) {
          // Moved on elsewhere; if it is due under its new key, claim that one right away.
          if (watch.nextPollAt <= clock.now() && attempt === 0) {
            next = watch.nextPollAt;
          } else {
            this.index.set(item.id, watch.nextPollAt);
            return;
          }
        } else {
          ctx.report.processed++;
          await this.process(watch, ctx);
          return;
        }
      } catch (error) {
        ctx.report.errors++;
        this.log.error("watch processing failed; retried on a later tick", { scanId: item.id, error });
        // The record in the store is unchanged or carries `pending` effects; the claim is released below.
        ctx.later.push([item.id, key]);
        return;
      } finally {
        if (claim !== undefined) {
          await store.delete(POLL_CLAIMS, claim).catch((error: unknown) => {
            this.log.warn("poll claim could not be released; it expires on its own", { claim, error });
          });
        }
      }
      if (next === undefined) return;
      key = next;
    }
  }

  /**
   * Claims one poll slot (scanId:nextPollAt), first writer wins. The claim also carries its expiry on
   * the watcher's clock: a claim left by a dead process is taken over once expired, through a second
   * key (again first writer wins, so two instances cannot both take it over). Returns the key held.
   */
  private async claim(key: string): Promise<string | undefined> {
    const { store, clock } = this.deps;
    const ttl = this.options.pollClaimTtlMs;
    const value = () => ({ by: this.instanceId, until: clock.now() + ttl });
    if (await store.add(POLL_CLAIMS, key, value(), ttl)) return key;
    const holder = await store.get<{ by?: string; until?: number }>(POLL_CLAIMS, key);
    if (!holder || holder.until === undefined || holder.until > clock.now()) return undefined;
    const takeover = `${key}:takeover`;
    if (!(await store.add(POLL_CLAIMS, takeover, value(), ttl))) return undefined;
    this.log.warn("poll claim of a stopped instance expired; taken over", { claim: key, holder: holder.by });
    return takeover;
  }

  /** One watch, claim held, record fresh from the store. */
  private async process(watch: WatchRecord, ctx: TickContext): Promise<void> {
    const { clock } = this.deps;
    const claimedKey = watch.nextPollAt;
    const now = clock.now();

    // 1. Status poll, at most once per interval (counted in tick slots, see onStatus).
    if (watch.phase === "polling" && ctx.start >= watch.nextStatusAt) {
      if (!this.take(ctx)) {
        ctx.later.push([watch.scanId, claimedKey]);
        return;
      }
      ctx.report.statusCalls++;
      let status: ScanStatus | undefined;
      let failure: AppError | undefined;
      try {
        status = await this.deps.scanner.getScanStatus({ projectId: watch.projectId, scanId: watch.scanId });
      } catch (error) {
        failure = toAppError(error);
      }
      watch.lastPolledAt = now;
      if (status) this.onStatus(watch, status, ctx);
      else if (failure) this.onScanError(watch, failure, ctx.slot);
      if (!this.hasWork(watch)) {
        // The common case: nothing changed, nothing to post. One write.
        await this.reschedule(watch, claimedKey, now);
        return;
      }
      // The new state and the effects it causes are saved with the first effect's `pending` mark,
      // before anything that is not idempotent is done (only chat.update of the card comes earlier).
    }

    // 2. Slack side effects.
    let retryAt: number | undefined;
    try {
      await this.runEffects(watch, ctx);
      watch.slackFailures = 0;
    } catch (error) {
      if (error instanceof BudgetExhausted) {
        retryAt = now + 1;
      } else if (error instanceof ScannerFailure) {
        retryAt = watch.nextStatusAt;
      } else if (!isAppError(error) || error.kind === "store") {
        // Not Slack: the record in the store keeps its `pending` effects; handle() logs and retries.
        throw error;
      } else {
        const appError = toAppError(error);
        watch.slackFailures++;
        ctx.report.slackFailures++;
        const wait = Math.min(
          this.options.slackRetryMs * 2 ** (watch.slackFailures - 1),
          this.options.maxBackoffMs,
        );
        retryAt = now + wait;
        (appError.retryable ? this.log.warn : this.log.error).call(
          this.log,
          "slack side effect failed; retried on a later tick",
          {
            scanId: watch.scanId,
            attempt: watch.slackFailures,
            retryInMs: wait,
            retryable: appError.retryable,
            error: appError,
          },
        );
      }
    }
    await this.reschedule(watch, claimedKey, now, retryAt);
  }

  private hasWork(watch: WatchRecord): boolean {
    return (
      watch.effects.some(isOpen) || cardSignature(watch) !== watch.cardShows || watch.phase !== "polling"
    );
  }

  /**
   * The next status check is one interval after this tick's slot: with an interval that is a multiple
   * of the tick, a scan is polled every interval exactly, on the tick grid, instead of drifting by a
   * tick each time. (Jitter spreads each scan's first poll; see watch().)
   */
  private onStatus(watch: WatchRecord, status: ScanStatus, ctx: TickContext): void {
    watch.failures = 0;
    delete watch.lastError;
    watch.nextStatusAt = ctx.slot + this.options.pollIntervalMs;
    if (status.state === watch.state) {
      if (status.rawCode !== watch.rawCode) watch.rawCode = status.rawCode;
      return;
    }
    ctx.report.stateChanges++;
    this.log.info("scan state changed", { scanId: watch.scanId, from: watch.state, to: status.state });
    if (TERMINAL_SCAN_STATES.has(status.state)) this.planTerminal(watch, status.state, status.rawCode);
    else this.planState(watch, status.state, status.rawCode);
  }

  private planState(watch: WatchRecord, state: ScanState, rawCode: string | undefined): void {
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
  private planTerminal(watch: WatchRecord, state: ScanState, rawCode: string | undefined): void {
    watch.state = state;
    watch.rawCode = rawCode;
    watch.phase = "reporting";
    watch.outcome = state as WatchOutcome;
    const add = (effect: WatchEffect) => {
      if (!watch.effects.some((e) => e.id === effect.id)) watch.effects.push(effect);
    };
    const reports = state === "finished" ? this.formats : [];
    add({
      id: "final",
      kind: "final",
      status: "planned",
      state,
      ...(rawCode === undefined ? {} : { rawCode }),
    });
    if (state === "finished" && this.summaryFormat)
      add({ id: "summary", kind: "summary", status: "planned" });
    for (const format of reports) add({ id: `file:${format}`, kind: "file", status: "planned", format });
  }

  private onScanError(watch: WatchRecord, error: AppError, now: number): void {
    watch.lastError = error.userMessage;
    if (error.kind === "not_found") {
      this.log.warn("scan no longer exists at the scanner; watch ends", { scanId: watch.scanId, error });
      watch.phase = "reporting";
      watch.outcome = "not_found";
      watch.effects.push({
        id: uniqueId(watch, "gone"),
        kind: "gone",
        status: "planned",
        reason: error.userMessage,
      });
      return;
    }
    watch.failures++;
    if (!error.retryable || watch.failures > this.options.maxRetries) {
      this.log.error("scanner keeps failing for this scan; watch gives up", {
        scanId: watch.scanId,
        attempts: watch.failures,
        retryable: error.retryable,
        error,
      });
      watch.phase = "reporting";
      watch.outcome = "watch_failed";
      watch.effects.push({
        id: uniqueId(watch, "watch_failed"),
        kind: "watch_failed",
        status: "planned",
        reason: error.userMessage,
        attempts: watch.failures,
      });
      return;
    }
    const backoff = this.backoff(watch.failures, error.retryAfterMs);
    watch.nextStatusAt = now + backoff;
    this.log.warn("scanner call failed; retried later", {
      scanId: watch.scanId,
      attempt: watch.failures,
      maxRetries: this.options.maxRetries,
      retryInMs: backoff,
      error,
    });
  }

  /** At least one interval (Veracode), doubling per failure, capped; a server's Retry-After wins. */
  private backoff(failures: number, retryAfterMs?: number): number {
    const o = this.options;
    const base = Math.min(o.pollIntervalMs * 2 ** (failures - 1), Math.max(o.maxBackoffMs, o.pollIntervalMs));
    return Math.max(base + Math.floor(o.random() * o.jitterRatio * o.pollIntervalMs), retryAfterMs ?? 0);
  }

  private interval(): number {
    const o = this.options;
    return o.pollIntervalMs + Math.floor(o.random() * o.jitterRatio * o.pollIntervalMs);
  }

  private take(ctx: TickContext): boolean {
    if (ctx.exhausted) return false;
    if (ctx.share <= 0 || !ctx.budget.tryTake(this.deps.clock.now())) {
      ctx.exhausted = true;
      return false;
    }
    ctx.share--;
    return true;
  }

  /**
   * Carries out the open effects in order. Each is saved as `pending` right before its Slack call and
   * as `done` right after (together with the next one's `pending`). `pending` effects left by an
   * earlier attempt are looked up in the thread first.
   */
  private async runEffects(watch: WatchRecord, ctx: TickContext): Promise<void> {
    const { output } = this.deps;
    const subject = subjectOf(watch);
    if (cardSignature(watch) !== watch.cardShows) await this.refreshCard(watch);

    if (watch.effects.some((e) => e.status === "pending")) {
      const seen = await output.postedEffects(watch.card, subject);
      for (const effect of watch.effects) {
        if (effect.status === "pending" && seen.has(effect.id)) {
          effect.status = "done";
          this.log.info("side effect found in the thread after an interruption; not repeated", {
            scanId: watch.scanId,
            effect: effect.id,
          });
        }
      }
    }

    const reports = new Map<ReportFormat, Report | AppError>();
    this.planFilesRefused(watch);
    // files_refused is appended once the last file is settled, so the loop reaches it too.
    for (let i = 0; i < watch.effects.length; i++) {
      const effect = watch.effects[i] as WatchEffect;
      if (!isOpen(effect)) continue;
      if (effect.kind === "file") {
        await this.deliverFile(watch, effect, reports, ctx);
        this.planFilesRefused(watch);
        continue;
      }
      const notice = await this.notice(watch, effect, reports, ctx);
      await this.markPending(watch, effect);
      await output.post(watch.card, subject, notice, effect.id);
      effect.status = "done";
    }
    if (cardSignature(watch) !== watch.cardShows) await this.refreshCard(watch);
  }

  private async deliverFile(
    watch: WatchRecord,
    effect: WatchEffect,
    reports: Map<ReportFormat, Report | AppError>,
    ctx: TickContext,
  ): Promise<void> {
    const format = effect.format as ReportFormat;
    const report = await this.report(watch, format, reports, ctx);
    if (report instanceof AppError) {
      effect.status = "refused";
      effect.reason = report.userMessage;
      return;
    }
    await this.markPending(watch, effect);
    const result = await this.deps.output.upload(watch.card, subjectOf(watch), report, effect.id);
    if (result.ok) {
      effect.status = "done";
      return;
    }
    effect.status = "refused";
    effect.reason = result.reason;
    this.log.warn("report upload refused by Slack; the thread gets the command instead", {
      scanId: watch.scanId,
      format,
      reason: result.reason,
    });
  }

  private planFilesRefused(watch: WatchRecord): void {
    const files = watch.effects.filter((e) => e.kind === "file");
    if (files.length === 0 || files.some(isOpen)) return;
    if (!files.some((e) => e.status === "refused")) return;
    if (watch.effects.some((e) => e.kind === "files_refused")) return;
    watch.effects.push({ id: "files_refused", kind: "files_refused", status: "planned" });
  }

  private async notice(
    watch: WatchRecord,
    effect: WatchEffect,
    reports: Map<ReportFormat, Report | AppError>,
    ctx: TickContext,
  ): Promise<WatchNotice> {
    switch (effect.kind) {
      case "state":
        return {
          kind: "state",
          state: effect.state ?? watch.state,
          ...(effect.rawCode ? { rawCode: effect.rawCode } : {}),
        };
      case "final":
        return {
          kind: "final",
          state: effect.state ?? watch.state,
          ...(effect.rawCode ? { rawCode: effect.rawCode } : {}),
          reportFormats: watch.effects.filter((e) => e.kind === "file").map((e) => e.format as ReportFormat),
        };
      case "summary": {
        const format = this.summaryFormat as ReportFormat;
        const report = await this.report(watch, format, reports, ctx);
        if (report instanceof AppError) return { kind: "summary_unavailable", reason: report.userMessage };
        try {
          return { kind: "summary", summary: this.deps.summarize(report), format };
        } catch (error) {
          const appError = toAppError(error, "The report could not be read.");
          this.log.warn("findings summary failed", { scanId: watch.scanId, error: appError });
          return { kind: "summary_unavailable", reason: appError.userMessage };
        }
      }
      case "files_refused":
        return {
          kind: "files_refused",
          refused: watch.effects
            .filter((e) => e.kind === "file" && e.status === "refused")
            .map((e) => ({ format: e.format as ReportFormat, reason: e.reason ?? "refused" })),
        };
      case "watch_failed":
        return {
          kind: "watch_failed",
          reason: effect.reason ?? "unknown error",
          attempts: effect.attempts ?? 0,
        };
      case "gone":
        return { kind: "gone", reason: effect.reason ?? "" };
      case "file":
        throw new Error("file effects are uploads, not notices");
    }
  }

  /**
   * Downloads a report once per tick (the JSON one feeds both the summary and the upload). Transient
   * failures count against maxRetries like polls; a report the scanner will not give comes back as the
   * AppError, and the thread gets the `/crashtest report` command instead.
   */
  private async report(
    watch: WatchRecord,
    format: ReportFormat,
    cache: Map<ReportFormat, Report | AppError>,
    ctx: TickContext,
  ): Promise<Report | AppError> {
    const cached = cache.get(format);
    if (cached) return cached;
    if (!this.take(ctx)) throw new BudgetExhausted();
    ctx.report.reportCalls++;
    try {
      const report = await this.deps.scanner.getReport(
        { projectId: watch.projectId, scanId: watch.scanId },
        format,
      );
      cache.set(format, report);
      watch.failures = 0;
      return report;
    } catch (error) {
      const appError = toAppError(error);
      watch.failures++;
      watch.lastError = appError.userMessage;
      if (appError.retryable && watch.failures <= this.options.maxRetries) {
        watch.nextStatusAt = ctx.slot + this.backoff(watch.failures, appError.retryAfterMs);
        this.log.warn("report download failed; retried later", {
          scanId: watch.scanId,
          format,
          attempt: watch.failures,
          error: appError,
        });
        throw new ScannerFailure(appError);
      }
      this.log.error("report download failed for good", { scanId: watch.scanId, format, error: appError });
      watch.failures = 0;
      cache.set(format, appError);
      return appError;
    }
  }

  private async refreshCard(watch: WatchRecord): Promise<void> {
    const { scans, output } = this.deps;
    const known = await scans.getScan(watch.scanId);
    const scan: ScanRecord = {
      ...(known ?? this.scanFromWatch(watch, "")),
      state: watch.state,
      ...(watch.rawCode === undefined ? {} : { rawCode: watch.rawCode }),
      card: watch.card,
    };
    if (known && (known.state !== scan.state || known.rawCode !== scan.rawCode)) await scans.saveScan(scan);
    try {
      await output.updateCard(watch.card, scan, watch);
    } catch (error) {
      const appError = toAppError(error);
      if (appError.retryable) throw appError;
      // Deleted card, or a message the app cannot edit: nothing to repeat; the thread still gets replies.
      this.log.warn("scan card could not be updated; skipped", { scanId: watch.scanId, error: appError });
    }
    watch.cardShows = cardSignature(watch);
  }

  private async markPending(watch: WatchRecord, effect: WatchEffect): Promise<void> {
    if (effect.status === "pending") {
      // Already pending and not found in the thread: do it again (the save that follows records it).
      await this.save(watch);
      return;
    }
    effect.status = "pending";
    await this.save(watch);
  }

  private async reschedule(
    watch: WatchRecord,
    claimedKey: number,
    now: number,
    retryAt?: number,
  ): Promise<void> {
    const open = watch.effects.some(isOpen) || cardSignature(watch) !== watch.cardShows;
    if (watch.phase === "reporting" && !open && retryAt === undefined) {
      watch.phase = "ended";
      watch.endedAt = now;
      await this.save(watch, this.options.endedRetentionMs);
      this.index.delete(watch.scanId);
      this.log.info("watch ended", { scanId: watch.scanId, outcome: watch.outcome });
      return;
    }
    let next: number;
    if (watch.phase === "polling")
      next = retryAt === undefined ? watch.nextStatusAt : Math.min(retryAt, watch.nextStatusAt);
    else next = retryAt ?? now + 1;
    if (watch.phase === "polling" && open && retryAt === undefined) next = now + 1;
    // Strictly later than the claimed key, so the next claim is a new one.
    watch.nextPollAt = Math.max(next, claimedKey + 1);
    await this.save(watch);
    this.index.set(watch.scanId, watch.nextPollAt);
  }

  private async save(watch: WatchRecord, ttlMs?: number): Promise<void> {
    watch.updatedAt = this.deps.clock.now();
    await this.deps.store.set(WATCHES, watch.scanId, watch, ttlMs);
  }

  private scanFromWatch(watch: WatchRecord, user: string): ScanRecord {
    return {
      scanId: watch.scanId,
      projectId: watch.projectId,
      projectName: watch.projectName,
      targetUrl: "",
      backend: this.deps.scanner.name,
      requestedBy: user,
      channel: watch.card.channel,
      card: watch.card,
      state: watch.state,
      ...(watch.rawCode === undefined ? {} : { rawCode: watch.rawCode }),
      startedAt: watch.createdAt,
      updatedAt: watch.updatedAt,
    };
  }

  /** Serialises watch/attach on one scan across replicas (first writer wins; others wait briefly). */
  private async withLock<T>(scanId: string, work: () => Promise<T>): Promise<T> {
    const { store } = this.deps;
    for (let attempt = 0; ; attempt++) {
      if (await store.add(LOCKS, scanId, { by: this.instanceId }, 30_000)) break;
      if (attempt >= 20) {
        throw new AppError("conflict", `Scan ${scanId} is being set up right now; try again in a moment.`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    try {
      return await work();
    } finally {
      await store.delete(LOCKS, scanId).catch(() => {});
    }
  }
}

function emptyReport(active: number): TickReport {
  return {
    skipped: false,
    due: 0,
    processed: 0,
    statusCalls: 0,
    reportCalls: 0,
    stateChanges: 0,
    contended: 0,
    slackFailures: 0,
    errors: 0,
    budgetExhausted: false,
    active,
  };
}

function wrongProject(scanId: string, actual: string, given: string): AppError {
  return new AppError("validation", `Scan ${scanId} belongs to project ${actual}, not ${given}.`);
}
