import type { AppError } from "../errors.js";
import { isAppError, toAppError } from "../errors.js";
import type { Clock, Logger, Scanner, ScanStatus } from "../ports.js";
import type { ScanRecord } from "../scans.js";
import { type BudgetLedger, type RequestBudget, TickAllowance } from "./budget.js";
import type { PollClaims } from "./claims.js";
import type { DueSchedule } from "./due-index.js";
import { BudgetExhausted, type EffectQueue, ScannerFailure } from "./effects.js";
import type { WatcherOptions } from "./options.js";
import { hasOpenEffects } from "./plan.js";
import type { Polling } from "./polling.js";
import { emptyReport, type ScanRecords, type TickReport } from "./ports.js";
import type { QuietWatch, WatchRecord, WatchRecords } from "./record.js";

interface TickContext {
  /** When the tick started, and the tick slot it belongs to (start rounded down to the tick grid). */
  start: number;
  slot: number;
  allowance: TickAllowance;
  deadline: number;
  report: TickReport;
  /** Watches to look at again on a later tick (never re-popped within this one). */
  later: Array<[string, number]>;
  /**
   * On a store only this process writes: the schedule writes of quiet polls, each holding its claim
   * until it lands, awaited before the tick ends. The worker moves on meanwhile, so SQLite commits
   * them hundreds to a statement instead of one per worker (sqlite-writes.ts); a networked store gets
   * no more operations at once than there are workers.
   */
  writes: Array<Promise<void>> | undefined;
}

/** A status call already made for a watch (the quiet path), handed to the full record's processing. */
interface Polled {
  status?: ScanStatus;
  failure?: AppError;
}

export interface TickDeps {
  clock: Clock;
  scans: ScanRecords;
  scanner: Scanner;
  records: WatchRecords;
  schedule: DueSchedule;
  claims: PollClaims;
  budget: RequestBudget;
  ledger: BudgetLedger;
  polling: Polling;
  effects: EffectQueue;
  options: WatcherOptions;
  log: Logger;
}

/**
 * One scheduler tick: pops the due watches and processes them with bounded concurrency within the
 * request budget, each under its poll claim, re-read from the store. Never throws; problems are
 * logged and retried on a later tick.
 */
export class Ticker {
  constructor(private readonly deps: TickDeps) {}

  async run(): Promise<TickReport> {
    const { clock, schedule, records, budget, ledger, options: o, log } = this.deps;
    const index = schedule.index;
    const start = clock.now();
    const report = emptyReport(index.size);
    try {
      await schedule.sync(start);
    } catch (error) {
      log.error("watch index could not be loaded; tick skipped", { error });
      report.errors++;
      return report;
    }
    await ledger.load(budget);
    const ctx: TickContext = {
      start,
      slot: Math.floor(start / o.tickMs) * o.tickMs,
      allowance: new TickAllowance(budget, clock, o.tickMs),
      deadline: start + o.tickMs,
      report,
      later: [],
      writes: records.local ? [] : undefined,
    };
    report.due = index.countDue(start);
    const worker = async () => {
      for (;;) {
        if (ctx.allowance.exhausted || clock.now() > ctx.deadline) return;
        const item = index.popDue(start);
        if (!item) return;
        await this.handle(item, ctx);
      }
    };
    await this.deps.claims.renewedDuring(async () => {
      await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
      await Promise.all(ctx.writes ?? []);
    });
    for (const [id, at] of ctx.later) index.set(id, at);
    report.budgetExhausted = ctx.allowance.exhausted;
    report.active = index.size;
    if (report.statusCalls + report.reportCalls > 0) await ledger.save(budget, clock.now());
    if (report.errors > 0 || report.slackFailures > 0 || ctx.allowance.exhausted) {
      log.info("watch tick", { ...report });
    } else {
      log.debug("watch tick", { ...report });
    }
    return report;
  }

  /** Claims (scanId, nextPollAt), re-reads the record and works on it; always releases the claim. */
  private async handle(item: { id: string; at: number }, ctx: TickContext): Promise<void> {
    const { clock, records, claims, schedule } = this.deps;
    let key = item.at;
    for (let attempt = 0; attempt < 2; attempt++) {
      let claimed = false;
      let next: number | undefined;
      try {
        claimed = await claims.claim(item.id, key);
        if (!claimed) {
          ctx.report.contended++;
          // Another instance works on it; look again next tick (its new nextPollAt is read then).
          ctx.later.push([item.id, key + 1]);
          return;
        }
        const read = attempt === 0 ? await records.schedule(item.id) : undefined;
        const quiet = read?.quiet;
        let polled: Polled | undefined;
        if (quiet && quiet.nextPollAt === key && ctx.start >= quiet.nextStatusAt) {
          claims.takeOver(item.id);
          ctx.report.processed++;
          const outcome = await this.pollQuiet(quiet, key, ctx);
          if (!outcome) return;
          if ("written" in outcome) {
            // Released once the write has landed (afterWrite), like any other claim after its writes.
            claimed = false;
            ctx.writes?.push(this.afterWrite(outcome.written, item.id, key, ctx));
            return;
          }
          polled = outcome;
        }
        // The schedule record read above is current: only the claim's holder writes this watch now.
        const watch = await records.get(item.id, read);
        if (!watch || watch.phase === "ended") {
          claims.forget(item.id);
          schedule.index.delete(item.id);
          // A schedule record left behind by an interrupted end.
          if (watch) await records.dropSchedule(item.id);
          return;
        }
        if (polled) {
          await this.process(watch, ctx, polled);
          return;
        }
        if (watch.nextPollAt !== key) {
          // Moved on elsewhere; if it is due under its new key, claim that one right away.
          if (watch.nextPollAt <= clock.now() && attempt === 0) {
            next = watch.nextPollAt;
          } else {
            claims.forget(item.id);
            schedule.index.set(item.id, watch.nextPollAt);
            return;
          }
        } else {
          claims.takeOver(item.id);
          ctx.report.processed++;
          await this.process(watch, ctx);
          return;
        }
      } catch (error) {
        // The record in the store is unchanged or carries `pending` effects; the claim is released below.
        this.failed(item.id, key, error, ctx);
        return;
      } finally {
        if (claimed) await claims.release(item.id, key);
      }
      if (next === undefined) return;
      key = next;
    }
  }

  /**
   * The common case, from the compact schedule record alone: a quiet watch polled, and the scanner
   * answers what it last announced. Anything else returns the call's outcome for the full record.
   */
  private async pollQuiet(
    quiet: QuietWatch,
    claimedKey: number,
    ctx: TickContext,
  ): Promise<Polled | { written: Promise<void> } | undefined> {
    const { clock, records, schedule, polling } = this.deps;
    if (!ctx.allowance.take()) {
      ctx.later.push([quiet.scanId, claimedKey]);
      return undefined;
    }
    ctx.report.statusCalls++;
    const now = clock.now();
    const polled = await this.poll(quiet);
    if (polled.status?.state !== quiet.state || polled.status.rawCode !== quiet.rawCode) return polled;
    quiet.lastPolledAt = now;
    quiet.nextStatusAt = polling.nextStatusAfter(ctx.slot);
    // Strictly later than the claimed key, so the next claim is a new one.
    quiet.nextPollAt = Math.max(quiet.nextStatusAt, claimedKey + 1);
    const written = records.saveQuiet(quiet).then(() => schedule.index.set(quiet.scanId, quiet.nextPollAt));
    if (ctx.writes) return { written };
    await written;
    return undefined;
  }

  /** A quiet poll's deferred schedule write: a failure is handled as in handle(); then the claim goes. */
  private async afterWrite(written: Promise<void>, id: string, key: number, ctx: TickContext): Promise<void> {
    try {
      await written;
    } catch (error) {
      this.failed(id, key, error, ctx);
    } finally {
      await this.deps.claims.release(id, key);
    }
  }

  /** A watch whose processing failed: counted, logged, and looked at again on a later tick. */
  private failed(id: string, key: number, error: unknown, ctx: TickContext): void {
    ctx.report.errors++;
    this.deps.log.error("watch processing failed; retried on a later tick", { scanId: id, error });
    ctx.later.push([id, key]);
  }

  private async poll(watch: Pick<WatchRecord, "projectId" | "scanId">): Promise<Polled> {
    try {
      return {
        status: await this.deps.scanner.getScanStatus({ projectId: watch.projectId, scanId: watch.scanId }),
      };
    } catch (error) {
      return { failure: toAppError(error) };
    }
  }

  /** One watch, claim held, record fresh from the store; `polled` when its status call is already made. */
  private async process(watch: WatchRecord, ctx: TickContext, polled?: Polled): Promise<void> {
    const { clock, polling, effects, options, log } = this.deps;
    const claimedKey = watch.nextPollAt;
    const now = clock.now();
    let scan: ScanRecord | undefined;

    // 1. Status poll, at most once per interval (counted in tick slots, see Polling.onStatus).
    if (watch.phase === "polling" && (polled || ctx.start >= watch.nextStatusAt)) {
      if (!polled && !ctx.allowance.take()) {
        ctx.later.push([watch.scanId, claimedKey]);
        return;
      }
      if (!polled) ctx.report.statusCalls++;
      const before = { rawCode: watch.rawCode, failures: watch.failures, lastError: watch.lastError };
      const { status, failure } = polled ?? (await this.poll(watch));
      watch.lastPolledAt = now;
      if (status) {
        // "Scan observed": the scan record (its only home) learns a change; an unchanged poll costs nothing.
        const changed = status.state !== watch.state || status.rawCode !== watch.rawCode;
        if (polling.onStatus(watch, status, ctx.slot)) ctx.report.stateChanges++;
        if (changed)
          scan = await this.deps.scans.observed(watch.scanId, status.state, status.rawCode, status);
      } else if (failure) polling.onScanError(watch, failure, ctx.slot);
      if (!hasOpenEffects(watch) && watch.phase === "polling") {
        // The common case: nothing changed, nothing to post. One write, of the schedule alone when
        // nothing else in the record moved.
        const unchanged =
          watch.rawCode === before.rawCode &&
          watch.failures === before.failures &&
          watch.lastError === before.lastError;
        await this.reschedule(watch, claimedKey, now, undefined, unchanged);
        return;
      }
      // The new state and the effects it causes are saved with the first effect's `pending` mark,
      // before anything that is not idempotent is done (only chat.update of the card comes earlier).
    }

    // 2. Slack side effects, rendered from the scan record: its card and project name live only there.
    scan ??= await this.deps.scans.getScan(watch.scanId);
    if (!scan?.card) {
      await this.orphaned(watch, now, scan ? "its scan record has no card" : "its scan record is missing");
      return;
    }
    let retryAt: number | undefined;
    try {
      await effects.run(
        watch,
        { ...scan, card: scan.card },
        {
          slot: ctx.slot,
          take: () => ctx.allowance.take(),
          report: ctx.report,
        },
      );
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
        const wait = Math.min(options.slackRetryMs * 2 ** (watch.slackFailures - 1), options.maxBackoffMs);
        retryAt = now + wait;
        (appError.retryable ? log.warn : log.error).call(
          log,
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

  /**
   * A watch whose scan record is gone (a store that lost it, or a watch stored by an older version
   * without one) has no card to post to: it ends once, with an error in the log, and is not retried.
   * `scan status <id> <project>` records the scan again and resumes it.
   */
  private async orphaned(watch: WatchRecord, now: number, reason: string): Promise<void> {
    const { records, schedule, options, log } = this.deps;
    log.error("watch ends: nothing can be posted for it", { scanId: watch.scanId, reason });
    watch.phase = "ended";
    watch.outcome = "watch_failed";
    watch.lastError = `The bot lost track of this scan (${reason}).`;
    watch.endedAt = now;
    await records.save(watch, options.endedRetentionMs);
    await schedule.untrack(watch.scanId);
  }

  private async reschedule(
    watch: WatchRecord,
    claimedKey: number,
    now: number,
    retryAt?: number,
    scheduleOnly = false,
  ): Promise<void> {
    const { records, schedule, options, log } = this.deps;
    const open = hasOpenEffects(watch);
    if (watch.phase === "reporting" && !open && retryAt === undefined) {
      watch.phase = "ended";
      watch.endedAt = now;
      await records.save(watch, options.endedRetentionMs);
      await schedule.untrack(watch.scanId);
      log.info("watch ended", { scanId: watch.scanId, outcome: watch.outcome });
      return;
    }
    let next: number;
    if (watch.phase === "polling")
      next = retryAt === undefined ? watch.nextStatusAt : Math.min(retryAt, watch.nextStatusAt);
    else next = retryAt ?? now + 1;
    if (watch.phase === "polling" && open && retryAt === undefined) next = now + 1;
    // Strictly later than the claimed key, so the next claim is a new one.
    watch.nextPollAt = Math.max(next, claimedKey + 1);
    if (!scheduleOnly) await records.save(watch);
    await schedule.track(watch);
  }
}
