import { AppError, toAppError } from "../errors.js";
import type { Clock, FindingsSummary, Logger, ReportFile, ReportFormat, Scanner } from "../ports.js";
import { reportFormatNamed } from "../ports.js";
import { readReport, reportFromFile } from "../reports.js";
import type { MessageRef, ScanRecord } from "../scans.js";
import type { WatcherOptions } from "./options.js";
import { cardSignature, isOpen, NOTIFY_STARTED, planFilesRefused, type ReportPlan } from "./plan.js";
import type { Polling } from "./polling.js";
import type {
  ScanEventKind,
  ScanHistory,
  TickReport,
  WatchNotice,
  WatchOutput,
  WatchSubject,
} from "./ports.js";
import type { WatchEffect, WatchRecord, WatchRecords } from "./record.js";

/**
 * The effect queue with reconciliation. Open effects are carried out in order; each is saved as
 * `pending` right before its Slack call and as `done` right after (together with the next one's
 * `pending`). A `pending` effect found on a later tick (crash, lost response, failed save) is first
 * looked up in the card's thread (message metadata or file name); it is performed again only when
 * Slack does not have it. chat.update of the card is idempotent and is simply repeated until the
 * record says it is shown.
 */

/** The tick's request allowance ran out; the watch is looked at again on the next tick. */
export class BudgetExhausted extends Error {
  constructor() {
    super("scanner request budget exhausted for this tick");
  }
}

/** A report download failed and is retried like a poll; carries the AppError. */
export class ScannerFailure extends Error {
  constructor(readonly error: AppError) {
    super(error.message);
  }
}

/** What one tick lends the effect queue: its slot, its request allowance and its counters. */
export interface EffectRun {
  slot: number;
  take(): boolean;
  report: Pick<TickReport, "reportCalls">;
}

export interface EffectQueueDeps {
  scanner: Scanner;
  output: WatchOutput;
  records: WatchRecords;
  summarize: (report: ReportFile) => FindingsSummary;
  history?: ScanHistory;
  /** When a scan record has no end time yet (records stored before it had one). */
  clock: Clock;
  polling: Polling;
  plan: ReportPlan;
  options: WatcherOptions;
  log: Logger;
}

/** The scan record an effect is rendered from (read once per tick): its card and project name. */
export type CardedScan = ScanRecord & { card: MessageRef };

function notifyEvent(effect: WatchEffect): ScanEventKind {
  if (effect.id === NOTIFY_STARTED) return "started";
  return effect.state === "finished" ? "finished" : "failed";
}

function subjectOf(scan: CardedScan): WatchSubject {
  return { scanId: scan.scanId, projectId: scan.projectId, projectName: scan.projectName };
}

export class EffectQueue {
  constructor(private readonly deps: EffectQueueDeps) {}

  /** Carries out the open effects in order; `pending` ones left by an earlier attempt are looked up first. */
  async run(watch: WatchRecord, scan: CardedScan, run: EffectRun): Promise<void> {
    const { output, log } = this.deps;
    const subject = subjectOf(scan);
    if (cardSignature(watch) !== watch.cardShows) await this.refreshCard(watch, scan);

    if (watch.effects.some((e) => e.status === "pending")) {
      const seen = await output.postedEffects(scan.card, subject);
      for (const effect of watch.effects) {
        if (effect.status === "pending" && seen.has(effect.id)) {
          effect.status = "done";
          log.info("side effect found in the thread after an interruption; not repeated", {
            scanId: watch.scanId,
            effect: effect.id,
          });
        }
      }
    }

    const reports = new Map<ReportFormat, ReportFile | AppError>();
    planFilesRefused(watch);
    // files_refused is appended once the last file is settled, so the loop reaches it too.
    for (let i = 0; i < watch.effects.length; i++) {
      const effect = watch.effects[i] as WatchEffect;
      if (!isOpen(effect)) continue;
      if (effect.kind === "file") {
        await this.deliverFile(watch, scan, effect, reports, run);
        planFilesRefused(watch);
        continue;
      }
      if (effect.kind === "notify") {
        await this.markPending(watch, effect);
        await output.notify?.(scan.card, scan, notifyEvent(effect), effect.id);
        effect.status = "done";
        continue;
      }
      const notice = await this.notice(watch, scan, effect, reports, run);
      await this.markPending(watch, effect);
      await output.post(scan.card, subject, notice, effect.id);
      effect.status = "done";
    }
    if (cardSignature(watch) !== watch.cardShows) await this.refreshCard(watch, scan);
  }

  private async deliverFile(
    watch: WatchRecord,
    scan: CardedScan,
    effect: WatchEffect,
    reports: Map<ReportFormat, ReportFile | AppError>,
    run: EffectRun,
  ): Promise<void> {
    // Watches stored before formats had one name may say "junit".
    const format = reportFormatNamed(effect.format ?? "") ?? (effect.format as ReportFormat);
    const report = await this.report(watch, format, reports, run);
    if (report instanceof AppError) {
      effect.status = "refused";
      effect.reason = report.userMessage;
      return;
    }
    await this.markPending(watch, effect);
    // Opened again for each retry of the upload: the report is held in memory here.
    const result = await this.deps.output.upload(
      scan.card,
      subjectOf(scan),
      format,
      async () => reportFromFile(report),
      effect.id,
    );
    if (result.ok) {
      effect.status = "done";
      return;
    }
    effect.status = "refused";
    effect.reason = result.reason;
    this.deps.log.warn("report upload refused by Slack; the thread gets the command instead", {
      scanId: watch.scanId,
      format,
      reason: result.reason,
    });
  }

  private async notice(
    watch: WatchRecord,
    scan: CardedScan,
    effect: WatchEffect,
    reports: Map<ReportFormat, ReportFile | AppError>,
    run: EffectRun,
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
        const format = this.deps.plan.summaryFormat as ReportFormat;
        const report = await this.report(watch, format, reports, run);
        if (report instanceof AppError) return { kind: "summary_unavailable", reason: report.userMessage };
        let summary: FindingsSummary;
        try {
          summary = this.deps.summarize(report);
        } catch (error) {
          const appError = toAppError(error, "The report could not be read.");
          this.deps.log.warn("findings summary failed", { scanId: watch.scanId, error: appError });
          return { kind: "summary_unavailable", reason: appError.userMessage };
        }
        return { kind: "summary", summary, format, ...(await this.remember(watch, scan, summary)) };
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
      case "notify":
        throw new Error(`${effect.kind} effects are not thread notices`);
    }
  }

  /**
   * Records the summarized scan in the findings history (once per scan ID, so a retried effect gets
   * the first result). A history that fails costs the diff, never the summary: it is logged and the
   * summary is posted without it.
   */
  private async remember(
    watch: WatchRecord,
    scan: CardedScan,
    summary: FindingsSummary,
  ): Promise<Pick<Extract<WatchNotice, { kind: "summary" }>, "result" | "fresh">> {
    if (!this.deps.history) return {};
    try {
      const { result, fresh } = await this.deps.history.record({
        scanId: watch.scanId,
        projectId: watch.projectId,
        scanner: this.deps.scanner.name,
        outcome: watch.state,
        startedAt: scan.runningAt ?? scan.startedAt,
        durationKnown: scan.runningAt !== undefined,
        endedAt: scan.endedAt ?? this.deps.clock.now(),
        summary,
      });
      return { result, fresh };
    } catch (error) {
      this.deps.log.error("findings history could not record the scan; summary posted without the diff", {
        scanId: watch.scanId,
        error: toAppError(error),
      });
      return {};
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
    cache: Map<ReportFormat, ReportFile | AppError>,
    run: EffectRun,
  ): Promise<ReportFile | AppError> {
    const { log } = this.deps;
    const cached = cache.get(format);
    if (cached) return cached;
    if (!run.take()) throw new BudgetExhausted();
    run.report.reportCalls++;
    try {
      // Read whole: the JSON report feeds both the summary and the upload. The adapter bounds it
      // by REPORT_MAX_BYTES.
      const report = await readReport(
        await this.deps.scanner.getReport({ projectId: watch.projectId, scanId: watch.scanId }, format),
      );
      cache.set(format, report);
      watch.failures = 0;
      return report;
    } catch (error) {
      const appError = toAppError(error);
      watch.failures++;
      watch.lastError = appError.userMessage;
      if (appError.retryable && watch.failures <= this.deps.options.maxRetries) {
        watch.nextStatusAt = run.slot + this.deps.polling.backoff(watch.failures, appError.retryAfterMs);
        log.warn("report download failed; retried later", {
          scanId: watch.scanId,
          format,
          attempt: watch.failures,
          error: appError,
        });
        throw new ScannerFailure(appError);
      }
      log.error("report download failed for good", { scanId: watch.scanId, format, error: appError });
      watch.failures = 0;
      cache.set(format, appError);
      return appError;
    }
  }

  private async refreshCard(watch: WatchRecord, known: CardedScan): Promise<void> {
    // The card shows the state last announced, so that it never runs ahead of its thread.
    const scan: CardedScan = {
      ...known,
      state: watch.state,
      ...(watch.rawCode === undefined ? {} : { rawCode: watch.rawCode }),
    };
    try {
      await this.deps.output.updateCard(scan.card, scan, watch);
    } catch (error) {
      const appError = toAppError(error);
      if (appError.retryable) throw appError;
      // Deleted card, or a message the app cannot edit: nothing to repeat; the thread still gets replies.
      this.deps.log.warn("scan card could not be updated; skipped", {
        scanId: watch.scanId,
        error: appError,
      });
    }
    watch.cardShows = cardSignature(watch);
  }

  /** Saved as `pending` before the Slack call; one already pending and not in the thread is done again. */
  private async markPending(watch: WatchRecord, effect: WatchEffect): Promise<void> {
    effect.status = "pending";
    await this.deps.records.save(watch);
  }
}
