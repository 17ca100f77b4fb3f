import type { ApprovalRequest } from "../approval-record.js";
import type { DecisionRequest } from "../findings/decision-record.js";
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
import type { Subscription, SubscriptionBook } from "./records.js";

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
/** Only a person gets a DM (a scan started by a schedule has no one to tell). */
const isPerson = (id: string) => /^[UW][A-Z0-9]{2,}$/.test(id);

export class NotificationRouter {
  constructor(private readonly deps: RouterDeps) {}

  /** Fills in what findings history knows about a finished scan. */
  private async withResult(event: ScanEvent): Promise<ScanEvent> {
    if (event.kind !== "finished" || !this.deps.findings || event.counts) return event;
    const result = await this.deps.findings.result(event.scanId);
    if (!result) return event;
    return { ...event, counts: result.counts, newCounts: result.diff.new, fixedCounts: result.diff.fixed };
  }

  /**
   * Routes a scan's start or end. `link` (the card's thread) is asked only when the event reaches
   * someone, so a bot without subscriptions makes no Slack call for it.
   */
  async scan(input: ScanEvent, link?: () => Promise<string | undefined>): Promise<number> {
    const event = await this.withResult(input);
    const targets: Array<{ destination: string; kind: Notice["kind"]; digest?: Subscription }> = [];
    for (const subscription of await this.deps.book.list()) {
      const kind = scanNoticeKind(subscription, event);
      if (!kind) continue;
      targets.push({
        destination: subscription.channel,
        kind,
        ...(subscription.digest ? { digest: subscription } : {}),
      });
    }
    if (
      DM_SCAN_KINDS.has(event.kind) &&
      isPerson(event.requestedBy) &&
      (await this.deps.book.dmWanted(event.requestedBy))
    )
      targets.push({ destination: event.requestedBy, kind: event.kind as Notice["kind"] });
    if (targets.length === 0) return 0;
    const href = event.link ?? (await link?.());
    const base = {
      at: this.deps.clock.now(),
      key: `scan:${event.scanId}:${event.kind === "started" ? "started" : "ended"}`,
      projectId: event.projectId,
      projectName: event.projectName,
      scanId: event.scanId,
      requestedBy: event.requestedBy,
      ...(href ? { link: href } : {}),
      ...(event.counts ? { counts: event.counts } : {}),
      ...(event.newCounts ? { newCounts: event.newCounts } : {}),
      ...(event.fixedCounts ? { fixedCounts: event.fixedCounts } : {}),
    };
    for (const target of targets) {
      const notice: Notice = { ...base, kind: target.kind };
      if (target.digest) await this.deps.digests.record(target.digest, notice);
      else await this.deps.outbox.enqueue(target.destination, notice);
    }
    this.deps.logger.debug("scan event routed", {
      scanId: event.scanId,
      kind: event.kind,
      routed: targets.length,
    });
    return targets.length;
  }

  /** Routes a request (to `approval` subscribers) or its end (to the requester); `link` is asked only when needed. */
  async approval(event: ApprovalEvent, link?: () => Promise<string | undefined>): Promise<number> {
    const targets: Array<{ destination: string; digest?: Subscription }> = [];
    if (event.kind === "approval") {
      for (const subscription of await this.deps.book.list()) {
        if (!approvalReaches(subscription, event)) continue;
        targets.push({
          destination: subscription.channel,
          ...(subscription.digest ? { digest: subscription } : {}),
        });
      }
    } else if (isPerson(event.requestedBy) && (await this.deps.book.dmWanted(event.requestedBy)))
      targets.push({ destination: event.requestedBy });
    if (targets.length === 0) return 0;
    const href = event.link ?? (await link?.());
    const notice: Notice = {
      kind: event.kind,
      key: `approval:${event.requestId}:${event.kind === "approval" ? "opened" : "ended"}`,
      at: this.deps.clock.now(),
      projectId: event.projectId,
      projectName: event.projectName,
      requestId: event.requestId,
      requestedBy: event.requestedBy,
      ...(event.by ? { by: event.by } : {}),
      ...(href ? { link: href } : {}),
      ...(event.scanId ? { scanId: event.scanId } : {}),
      ...(event.about ? { about: event.about } : {}),
    };
    for (const target of targets) {
      if (target.digest) await this.deps.digests.record(target.digest, notice);
      else await this.deps.outbox.enqueue(target.destination, notice);
    }
    return targets.length;
  }

  /**
   * The requester hears how their request ended even when nobody routed it then: a request whose time
   * ran out while nobody looked, and a decision whose notice was lost (the process stopped between
   * the decision and its routing). Routed under the request's key, so a notice already queued or
   * delivered is not sent again; decisions are looked at for CATCH_UP_MS after they were made, well
   * inside the outbox's memory of delivered notices.
   */
  async unnoticed(requests: readonly ApprovalRequest[]): Promise<number> {
    const now = this.deps.clock.now();
    let routed = 0;
    for (const request of requests) {
      const ran = request.status === "pending" && request.expiresAt <= now;
      const decided =
        (request.status === "approved" || request.status === "start_failed" || request.status === "denied") &&
        request.decidedAt !== undefined &&
        now - request.decidedAt <= CATCH_UP_MS;
      if (!ran && !decided) continue;
      const event = approvalEvent(ran ? { ...request, status: "expired" } : request);
      if (!event) continue;
      await this.approval(event);
      routed++;
    }
    return routed;
  }
}

/** How long after a decision the minute job still makes sure its requester was told. */
export const CATCH_UP_MS = 86_400_000;

/** The fields of a request every notice of it carries; who decided only once someone has. */
function requestEvent(
  kind: ApprovalEvent["kind"] | undefined,
  request: Pick<ApprovalRequest, "id" | "projectId" | "projectName" | "requestedBy" | "decidedBy">,
  extra: Pick<ApprovalEvent, "scanId" | "about">,
): ApprovalEvent | undefined {
  if (!kind) return undefined;
  return {
    kind,
    requestId: request.id,
    projectId: request.projectId,
    projectName: request.projectName,
    requestedBy: request.requestedBy,
    ...(request.decidedBy && kind !== "expired" && kind !== "approval" ? { by: request.decidedBy } : {}),
    ...extra,
  };
}

/** What a request's state means to subscribers and its requester; a withdrawal means nothing to anyone. */
export function approvalEvent(request: ApprovalRequest): ApprovalEvent | undefined {
  const kind =
    request.status === "pending"
      ? "approval"
      : request.status === "approved" || request.status === "start_failed"
        ? "approved"
        : request.status === "denied" || request.status === "expired"
          ? request.status
          : undefined;
  return requestEvent(kind, request, request.scanId ? { scanId: request.scanId } : {});
}

/**
 * The same for a finding decision request: a pending one asks `approval` subscribers, its end tells the
 * requester (a withdrawal, again, tells no one).
 */
export function decisionEvent(request: DecisionRequest): ApprovalEvent | undefined {
  const kind =
    request.status === "pending"
      ? "approval"
      : request.status === "approved" || request.status === "denied" || request.status === "expired"
        ? request.status
        : undefined;
  return requestEvent(kind, request, {
    about: { kind: request.kind, ...(request.finding ? { title: request.finding.title } : {}) },
  });
}
