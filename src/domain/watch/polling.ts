import type { AppError } from "../errors.js";
import type { Logger, ScanStatus } from "../ports.js";
import { TERMINAL_SCAN_STATES } from "../ports.js";
import type { WatcherOptions } from "./options.js";
import { planGone, planState, planTerminal, planWatchFailed, type ReportPlan } from "./plan.js";
import type { WatchRecord } from "./record.js";

/**
 * Polling and backoff: when a scan's next status check is due, and what a status or a failed call
 * does to its watch (a state change plans its effects; failures back off, then give up).
 */
export class Polling {
  constructor(
    private readonly options: WatcherOptions,
    private readonly plan: ReportPlan,
    private readonly log: Logger,
  ) {}

  /** One poll interval, delayed by up to jitterRatio of it so scans started together spread out. */
  interval(): number {
    const o = this.options;
    return o.pollIntervalMs + Math.floor(o.random() * o.jitterRatio * o.pollIntervalMs);
  }

  /** At least one interval (Veracode), doubling per failure, capped; a server's Retry-After wins. */
  backoff(failures: number, retryAfterMs?: number): number {
    const o = this.options;
    const base = Math.min(o.pollIntervalMs * 2 ** (failures - 1), Math.max(o.maxBackoffMs, o.pollIntervalMs));
    return Math.max(base + Math.floor(o.random() * o.jitterRatio * o.pollIntervalMs), retryAfterMs ?? 0);
  }

  /** The next status check after a successful one made in the tick slot `slot`. */
  nextStatusAfter(slot: number): number {
    return slot + this.options.pollIntervalMs;
  }

  /**
   * A status from the scanner. The next status check is one interval after this tick's slot: with
   * an interval that is a multiple of the tick, a scan is polled every interval exactly, on the tick
   * grid, instead of drifting by a tick each time. Returns whether the state changed.
   */
  onStatus(watch: WatchRecord, status: ScanStatus, slot: number): boolean {
    watch.failures = 0;
    delete watch.lastError;
    watch.nextStatusAt = this.nextStatusAfter(slot);
    if (status.state === watch.state) {
      if (status.rawCode !== watch.rawCode) watch.rawCode = status.rawCode;
      return false;
    }
    this.log.info("scan state changed", { scanId: watch.scanId, from: watch.state, to: status.state });
    this.observed(watch, status);
    return true;
  }

  /** Plans what a state the watch has not announced yet causes. */
  observed(watch: WatchRecord, status: ScanStatus): void {
    if (TERMINAL_SCAN_STATES.has(status.state)) planTerminal(watch, status.state, status.rawCode, this.plan);
    else planState(watch, status.state, status.rawCode);
  }

  /** A failed status call: not_found ends the watch; others back off, then give up. */
  onScanError(watch: WatchRecord, error: AppError, slot: number): void {
    watch.lastError = error.userMessage;
    if (error.kind === "not_found") {
      this.log.warn("scan no longer exists at the scanner; watch ends", { scanId: watch.scanId, error });
      planGone(watch, error.userMessage);
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
      planWatchFailed(watch, error.userMessage, watch.failures);
      return;
    }
    const backoff = this.backoff(watch.failures, error.retryAfterMs);
    watch.nextStatusAt = slot + backoff;
    this.log.warn("scanner call failed; retried later", {
      scanId: watch.scanId,
      attempt: watch.failures,
      maxRetries: this.options.maxRetries,
      retryInMs: backoff,
      error,
    });
  }
}
