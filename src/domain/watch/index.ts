import { randomUUID } from "node:crypto";
import { AppError } from "../errors.js";
import type { Logger, ReportFormat, ScanStatus } from "../ports.js";
import { TERMINAL_SCAN_STATES } from "../ports.js";
import type { ScanRecord } from "../scans.js";
import { BudgetLedger, RequestBudget } from "./budget.js";
import { PollClaims } from "./claims.js";
import { DueSchedule } from "./due-index.js";
import { EffectQueue } from "./effects.js";
import { reportPlan, resolveOptions, type WatcherOptions } from "./options.js";
import { cardSignature, planStarted, planTerminal, type ReportPlan } from "./plan.js";
import { Polling } from "./polling.js";
import { type AttachResult, emptyReport, type TickReport, type WatcherDeps } from "./ports.js";
import { type WatchRecord, WatchRecords } from "./record.js";
import { Ticker } from "./tick.js";

/**
 * The scan watcher: once a scan is started (or attached to), the bot owns it until its report is in
 * Slack. One record per scan in the store (record.ts); every tick (tick.ts) polls the due ones
 * (due-index.ts) with bounded concurrency within a global request budget (budget.ts), under per-scan
 * claims so two replicas never poll the same scan (claims.ts), edits the card when the state changes,
 * replies once per change in the card's thread, and at the end posts the findings summary and
 * uploads the reports (effects.ts, exactly-once feel through reconciliation).
 */

export { RequestBudget } from "./budget.js";
export { DueIndex } from "./due-index.js";
export { DEFAULT_WATCHER_OPTIONS, RECOMMENDED_MIN_POLL_MS, type WatcherOptions } from "./options.js";
export { cardSignature } from "./plan.js";
export type {
  AttachResult,
  ProjectLookup,
  ScanHistory,
  ScanRecords,
  TickReport,
  UploadResult,
  WatcherDeps,
  WatchNotice,
  WatchOutput,
  WatchSubject,
} from "./ports.js";
export {
  type EffectKind,
  type EffectStatus,
  WATCHES,
  type WatchEffect,
  type WatchOutcome,
  type WatchPhase,
  type WatchRecord,
} from "./record.js";

const LOCKS = "watch-locks";

export class ScanWatcher {
  readonly options: WatcherOptions;
  readonly instanceId = randomUUID();
  private readonly deps: WatcherDeps;
  private readonly log: Logger;
  private readonly records: WatchRecords;
  private readonly schedule: DueSchedule;
  private readonly polling: Polling;
  private readonly ticker: Ticker;
  private readonly plan: ReportPlan;
  private running: Promise<TickReport> | undefined;

  constructor(deps: WatcherDeps) {
    this.deps = deps;
    this.log = deps.logger.child({ component: "watcher" });
    this.options = resolveOptions(deps.options, this.log);
    const o = this.options;
    const log = this.log;
    this.plan = {
      ...reportPlan(deps.scanner, o.reportFormats, log),
      notify: deps.output.notify !== undefined,
    };
    this.records = new WatchRecords(deps.store, deps.clock);
    this.schedule = new DueSchedule(deps.store, this.records, log, o.resyncMs, o.tickMs);
    this.polling = new Polling(o, this.plan, log);
    const effects = new EffectQueue({
      scanner: deps.scanner,
      output: deps.output,
      records: this.records,
      summarize: deps.summarize,
      ...(deps.history ? { history: deps.history } : {}),
      clock: deps.clock,
      polling: this.polling,
      plan: this.plan,
      options: o,
      log,
    });
    this.ticker = new Ticker({
      clock: deps.clock,
      scans: deps.scans,
      scanner: deps.scanner,
      records: this.records,
      schedule: this.schedule,
      claims: new PollClaims(
        deps.store.leases,
        deps.clock,
        log,
        this.instanceId,
        o.pollClaimTtlMs,
        2 * o.pollIntervalMs,
      ),
      budget: new RequestBudget(o.maxRequestsPerMinute),
      ledger: new BudgetLedger(deps.store, log),
      polling: this.polling,
      effects,
      options: o,
      log,
    });
  }

  /** Report formats uploaded at the end of a finished scan (REPORT_FORMATS ∩ scanner.reportFormats). */
  get uploadFormats(): readonly ReportFormat[] {
    return this.plan.formats;
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
   * not exist fails here with not_found) and records it as attached (ScanBook.attached). A scan that
   * already has a card (the bot started it; its watch gave up) is watched again at once. A scan
   * without a card is returned card-less: the caller posts its card and calls watch(), as after a
   * start. A scan already watched is answered from its record, without a scanner call.
   */
  async attach(scanId: string, projectId: string, channel: string, user: string): Promise<AttachResult> {
    const { scanner, scans, clock } = this.deps;
    const existing = await this.records.get(scanId);
    if (existing && existing.projectId !== projectId)
      throw wrongProject(scanId, existing.projectId, projectId);
    // A live watch answers from the records; one whose scan record is missing is checked again below.
    const watched = existing && existing.phase !== "ended" ? await scans.getScan(scanId) : undefined;
    if (existing && watched) {
      return {
        scan: watched,
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
    const card = known?.card;
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
      ...(status.rawText ? { rawText: status.rawText } : {}),
      ...(status.estimatedDurationMs === undefined
        ? {}
        : { estimatedDurationMs: status.estimatedDurationMs }),
    };
    const recorded = await scans.attached(scan);
    const resumable = existing?.outcome === "watch_failed" || existing?.outcome === "not_found";
    if (existing && !resumable) return { scan: recorded, status, watch: existing, alreadyWatched: false };
    if (!card) return { scan: recorded, status, alreadyWatched: false };
    if (!existing && TERMINAL_SCAN_STATES.has(status.state))
      return { scan: recorded, status, alreadyWatched: false };
    const watch = await this.withLock(scanId, () => this.watchLocked(recorded, status));
    this.log.info("scan attached", { scanId, user, state: status.state });
    return { scan: recorded, status, watch, alreadyWatched: false };
  }

  /** watch() under the scan's lock; `status` is a status fetched just now (attach). */
  private async watchLocked(scan: ScanRecord, status?: ScanStatus): Promise<WatchRecord> {
    const { clock } = this.deps;
    const now = clock.now();
    const existing = await this.records.get(scan.scanId);
    if (existing && existing.phase !== "ended") {
      this.schedule.index.set(existing.scanId, existing.nextPollAt);
      return existing;
    }
    if (existing && existing.outcome !== "watch_failed" && existing.outcome !== "not_found") return existing;
    // The card and project name are read from the scan record when something is posted: it must hold them.
    const known = await this.deps.scans.getScan(scan.scanId);
    if (!known?.card) await this.deps.scans.attached(scan);
    if (existing) return this.resume(existing, now, status);
    const watch: WatchRecord = {
      scanId: scan.scanId,
      projectId: scan.projectId,
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
      planTerminal(watch, scan.state, scan.rawCode, this.plan);
      watch.nextStatusAt = now;
      watch.nextPollAt = now;
    } else {
      // The start (or the status check before) was the last call; the first poll is one interval later.
      watch.nextStatusAt = now + this.polling.interval();
      watch.nextPollAt = watch.nextStatusAt;
      if (this.plan.notify) {
        // The start goes to subscribers on the next tick, not with the first poll.
        planStarted(watch);
        watch.nextPollAt = now;
      }
    }
    await this.records.set(watch);
    await this.schedule.track(watch);
    await this.schedule.announce(watch);
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
      nextStatusAt: now + this.polling.interval(),
      attaches: ended.attaches + 1,
      watchedBy: this.instanceId,
      updatedAt: now,
    };
    delete watch.outcome;
    delete watch.endedAt;
    delete watch.lastError;
    if (status && (TERMINAL_SCAN_STATES.has(status.state) || status.state !== ended.state))
      this.polling.observed(watch, status);
    // The next tick removes the card's "not watched" note (and shows a new state).
    watch.nextPollAt = now;
    await this.records.set(watch);
    await this.schedule.track(watch);
    await this.schedule.announce(watch);
    this.log.info("watch resumed", { scanId: watch.scanId, attaches: watch.attaches, state: watch.state });
    return watch;
  }

  /** Rebuilds the due index from the store (call once at start-up). Pending effects are reconciled by the ticks. */
  async start(): Promise<{ active: number; pendingEffects: number }> {
    const entries = await this.schedule.rebuild(this.deps.clock.now());
    const pendingEffects = entries.filter(
      ([, w]) => w.phase !== "ended" && w.effects.some((e) => e.status === "pending"),
    ).length;
    const active = this.schedule.index.size;
    this.log.info("scan watcher started", { active, pendingEffects });
    return { active, pendingEffects };
  }

  /** The watch record of a scan (running, ended or given up); the scan itself lives in the scan records. */
  async getWatch(scanId: string): Promise<WatchRecord | undefined> {
    return this.records.get(scanId);
  }

  // ---- the tick ----

  /**
   * One scheduler tick (tick.ts). Never throws. A call while the previous tick of this instance
   * still runs returns at once with `skipped`.
   */
  async tick(): Promise<TickReport> {
    if (this.running) return { ...emptyReport(this.schedule.index.size), skipped: true };
    this.running = this.ticker.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Waits for a tick in progress (shutdown). */
  async idle(): Promise<void> {
    await this.running?.catch(() => {});
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

function wrongProject(scanId: string, actual: string, given: string): AppError {
  return new AppError("validation", `Scan ${scanId} belongs to project ${actual}, not ${given}.`);
}
