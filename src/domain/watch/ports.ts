import type { Recorded, ScanEnded } from "../findings/history.js";
import type { ScanResult } from "../findings/types.js";
import type {
  Clock,
  Finding,
  FindingsSummary,
  KeyValueStore,
  Logger,
  Report,
  ReportFile,
  ReportFormat,
  Scanner,
  ScanState,
  ScanStatus,
} from "../ports.js";
import type { ScanBook } from "../scan-record.js";
import type { MessageRef, ScanRecord } from "../scans.js";
import type { WatcherOptions } from "./options.js";
import type { WatchRecord } from "./record.js";

/** What the watcher needs from the rest of the bot, and what it answers. */

export type WatchNotice =
  | { kind: "state"; state: ScanState; rawCode?: string }
  | { kind: "final"; state: ScanState; rawCode?: string; reportFormats: readonly ReportFormat[] }
  | {
      kind: "summary";
      summary: FindingsSummary;
      format: ReportFormat;
      /** The findings history's judgement of this scan (absent when the history could not record it). */
      result?: ScanResult;
      /** The summary's findings that are new since the previous scan, most severe first. */
      fresh?: readonly Finding[];
    }
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
  /**
   * One report file into the card's thread, under a name derived from (scan ID, format). `open` gives
   * the report's bytes, again for each retry of the transfer.
   */
  upload(
    card: MessageRef,
    subject: WatchSubject,
    format: ReportFormat,
    open: () => Promise<Report>,
    effectId: string,
  ): Promise<UploadResult>;
  /** IDs of the effects of this scan already visible in the card's thread. */
  postedEffects(card: MessageRef, subject: WatchSubject): Promise<ReadonlySet<string>>;
  /**
   * Routes the scan's start or end to its subscribers (subscribed channels, the requester's DM),
   * with a link to the card's thread. Queued under the event's key, so a repeat after an
   * interruption adds nothing: it needs no lookup in the thread. Outputs without it route nothing.
   */
  notify?(card: MessageRef, scan: ScanRecord, event: ScanEventKind, effectId: string): Promise<void>;
}

export type ScanEventKind = "started" | "finished" | "failed";

/**
 * The scan records (domain/scan-record.ts ScanBook): the watcher reads them and reports what the
 * scanner said through their operations; it never writes a scan record itself.
 */
export type ScanRecords = Pick<ScanBook, "getScan" | "observed" | "attached">;

/** Where the end of a summarized scan is remembered; recording the same scan again answers the first result. */
export interface ScanHistory {
  record(scan: ScanEnded): Promise<Recorded>;
}

/** Project names for attach; ProjectRegistry satisfies it. */
export interface ProjectLookup {
  get(projectId: string): Promise<{ name: string; url: string } | undefined>;
}

export interface WatcherDeps {
  scanner: Scanner;
  store: KeyValueStore;
  clock: Clock;
  logger: Logger;
  output: WatchOutput;
  scans: ScanRecords;
  /** scanners/findings.ts summarizeReport. */
  summarize: (report: ReportFile) => FindingsSummary;
  /** Findings history (domain/findings/history.ts): records each summarized scan once. */
  history?: ScanHistory;
  projects?: ProjectLookup;
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

export function emptyReport(active: number): TickReport {
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
