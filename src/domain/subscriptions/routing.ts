import type { FindingLookup } from "../findings/types.js";
import type { Clock, Logger } from "../ports.js";
import type { DigestLog } from "./digest.js";
import {
  type ApprovalEvent,
  approvalReaches,
  type Notice,
  type ScanEvent,
  scanNoticeKind,
} from "./matching.js";
import type { Outbox } from "./outbox.js";
import type { SubscriptionBook } from "./records.js";

/**
 * Routing: an event becomes a notice for each subscribed channel that asked for it (into the channel's
 * outbox, or its digest log for a digest subscription) and, for the requester's own scan and request,
 * a DM unless they said `notify off`. Routing the same event again adds nothing (the event key).
 */

export interface RouterDeps {
  book: SubscriptionBook;
  outbox: Outbox;
  digests: DigestLog;
  clock: Clock;
  logger: Logger;
  /** Findings history: the finished scan's counts and diff (new-findings, thresholds). */
  findings?: Pick<FindingLookup, "result">;
}

const DM_SCAN_KINDS = new Set(["finished", "failed"]);

export class NotificationRouter {
  constructor(private readonly deps: RouterDeps) {}

  /** Fills in what findings history knows about a finished scan. */
  private async withResult(event: ScanEvent): Promise<ScanEvent> {
    if (event.kind !== "finished" || !this.deps.findings || event.counts) return event;
    const result = await this.deps.findings.result(event.scanId);
    if (!result) return event;
    return { ...event, counts: result.counts, newCounts: result.diff.new, fixedCounts: result.diff.fixed };
  }

  async scan(input: ScanEvent): Promise<void> {
    const event = await this.withResult(input);
    const base = {
      at: this.deps.clock.now(),
      key: `scan:${event.scanId}:${event.kind === "started" ? "started" : "ended"}`,
      projectId: event.projectId,
      projectName: event.projectName,
      scanId: event.scanId,
      requestedBy: event.requestedBy,
      ...(event.link ? { link: event.link } : {}),
      ...(event.counts ? { counts: event.counts } : {}),
      ...(event.newCounts ? { newCounts: event.newCounts } : {}),
      ...(event.fixedCounts ? { fixedCounts: event.fixedCounts } : {}),
    };
    let routed = 0;
    for (const subscription of await this.deps.book.list()) {
      const kind = scanNoticeKind(subscription, event);
      if (!kind) continue;
      const notice: Notice = { ...base, kind };
      if (subscription.digest) await this.deps.digests.record(subscription, notice);
      else await this.deps.outbox.enqueue(subscription.channel, notice);
      routed++;
    }
    if (DM_SCAN_KINDS.has(event.kind) && (await this.deps.book.dmWanted(event.requestedBy))) {
      await this.deps.outbox.enqueue(event.requestedBy, { ...base, kind: event.kind as Notice["kind"] });
      routed++;
    }
    this.deps.logger.debug("scan event routed", { scanId: event.scanId, kind: event.kind, routed });
  }

  async approval(event: ApprovalEvent): Promise<void> {
    const notice: Notice = {
      kind: event.kind,
      key: `approval:${event.requestId}:${event.kind === "approval" ? "opened" : "ended"}`,
      at: this.deps.clock.now(),
      projectId: event.projectId,
      projectName: event.projectName,
      requestId: event.requestId,
      requestedBy: event.requestedBy,
      ...(event.by ? { by: event.by } : {}),
      ...(event.link ? { link: event.link } : {}),
      ...(event.scanId ? { scanId: event.scanId } : {}),
    };
    if (event.kind === "approval") {
      for (const subscription of await this.deps.book.list()) {
        if (!approvalReaches(subscription, event)) continue;
        if (subscription.digest) await this.deps.digests.record(subscription, notice);
        else await this.deps.outbox.enqueue(subscription.channel, notice);
      }
      return;
    }
    if (await this.deps.book.dmWanted(event.requestedBy))
      await this.deps.outbox.enqueue(event.requestedBy, notice);
  }
}
