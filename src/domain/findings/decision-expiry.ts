import type { AuditTrail } from "../audit.js";
import { type AppError, isAppError, toAppError } from "../errors.js";
import type { Clock, KeyValueStore, Logger } from "../ports.js";
import type { ProjectRegistry } from "../projects.js";
import { type DecisionRequest, NOTICES } from "./decision-record.js";
import { type FindingDecisionService, targetOf } from "./decisions.js";

/** How the ends of decisions reach people (the Slack layer renders them). */
export interface DecisionNotices {
  /** One line in the request's channel: the risk acceptance ran out. Throws when not delivered. */
  acceptanceExpired(request: DecisionRequest): Promise<void>;
  /** A request nobody decided in time: its card shows that it ended. */
  requestEnded(request: DecisionRequest): Promise<void>;
}

export interface DecisionExpiryDeps {
  decisions: FindingDecisionService;
  /** A pending request of a deleted project ends (its card says so). */
  projects: Pick<ProjectRegistry, "get">;
  store: KeyValueStore;
  clock: Clock;
  audit: AuditTrail;
  logger: Logger;
  notices: DecisionNotices;
}

export interface DecisionExpiryResult {
  /** Expiry lines delivered by this run. */
  noticed: number;
  /** Pending requests this run ended. */
  ended: number;
  /** Expiry lines not delivered: due again next run, unless Slack refused them for good. */
  failed: number;
}

const NOTICE_CLAIM_MS = 10 * 60_000;
/** Outlives the request record (90 days past the expiry), so a line is never repeated. */
const NOTICE_SENT_MS = 120 * 86_400_000;

/**
 * Ends what is due: risk acceptances that ran out get their one line, pending requests past their TTL
 * or of a deleted project end. Everything due since the last run is due now, so a run after downtime catches up. Safe on
 * several replicas and overlapping runs: each line is claimed with the store's `add` first (as the
 * credential alerts are); a failed delivery drops the claim so the next run retries, and only a crash
 * between delivery and recording it can repeat a line (after the claim's 10 minutes).
 */
export async function expireDecisions(deps: DecisionExpiryDeps): Promise<DecisionExpiryResult> {
  const now = deps.clock.now();
  const log = deps.logger.child({ component: "finding-decisions" });
  const result: DecisionExpiryResult = { noticed: 0, ended: 0, failed: 0 };
  for (const request of await deps.decisions.list()) {
    if (request.status === "pending") {
      const why =
        request.expiresAt <= now
          ? ""
          : (await deps.projects.get(request.projectId))
            ? undefined
            : "project deleted";
      if (why === undefined) continue;
      const { request: ended, won } = await deps.decisions.end(request, why || undefined);
      if (!won) continue;
      result.ended += 1;
      await deps.notices
        .requestEnded(ended)
        .catch((error: unknown) => log.warn("could not show an ended request on its card", { error }));
      continue;
    }
    const ranOut =
      request.status === "approved" &&
      request.kind === "accepted" &&
      request.validUntil !== undefined &&
      request.validUntil <= now;
    if (!ranOut) continue;
    if (!(await deps.store.add(NOTICES, request.id, { state: "sending" }, NOTICE_CLAIM_MS))) continue;
    let refused: AppError | undefined;
    try {
      await deps.notices.acceptanceExpired(request);
    } catch (error) {
      const failure = toAppError(error);
      // A refusal for good (the bot left the channel, it was archived) would fail every run.
      const forGood =
        isAppError(error) &&
        !error.retryable &&
        !["unavailable", "rate_limited", "store"].includes(error.kind);
      if (!forGood) {
        log.error("risk acceptance expiry line not delivered; retrying at the next run", {
          request: request.id,
          error: failure.message,
        });
        await deps.store.delete(NOTICES, request.id);
        result.failed += 1;
        continue;
      }
      log.error("risk acceptance expiry line refused for good; not retried", {
        request: request.id,
        channel: request.channel,
        error: failure.message,
      });
      refused = failure;
    }
    await deps.store.set(
      NOTICES,
      request.id,
      { state: refused ? "refused" : "sent", at: now },
      NOTICE_SENT_MS,
    );
    await deps.audit.record({
      user: request.requestedBy,
      action: "finding.accepted.expire",
      target: targetOf(request),
      outcome: refused ? "failed" : "ok",
      detail: `approved by ${request.decidedBy ?? "unknown"}; ran out ${new Date(request.validUntil ?? now).toISOString()}${refused ? `; the line was refused (${refused.kind})` : ""}`,
    });
    if (refused) result.failed += 1;
    else result.noticed += 1;
  }
  return result;
}
