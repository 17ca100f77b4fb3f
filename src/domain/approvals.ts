import { randomUUID } from "node:crypto";
import {
  APPROVALS,
  type ApprovalAudience,
  type ApprovalPolicy,
  type ApprovalRequest,
  alreadyDecided,
  DECIDED_STATUS,
  DECISIONS,
  type Decision,
  type DecisionOutcome,
  type MessageRef,
  STARTS,
  type StartApproved,
  type StoredDecision,
} from "./approval-record.js";
import type { AuditTrail } from "./audit.js";
import type { Authorizer } from "./authz.js";
import { AppError, command, person, say, toAppError } from "./errors.js";
import {
  pendingRequest,
  requireApproverAudience,
  requireDecidingChannels,
  requireSecondPerson,
} from "./four-eyes.js";
import type { Clock, KeyValueStore } from "./ports.js";
import type { ProjectRecord, ProjectRegistry } from "./projects.js";

export type {
  ApprovalAudience,
  ApprovalPolicy,
  ApprovalRequest,
  ApprovalStatus,
  Decision,
  DecisionOutcome,
  MessageRef,
  StartApproved,
} from "./approval-record.js";

/**
 * Four-eyes approval of scan starts; the only writer of approval records. A decision binds to the
 * project ID and target URL the card showed, is re-authorized (people, channels) when it is made, and
 * races are settled by the store's first-writer-wins `add`. A start that fails after approval leaves a
 * resumable `start_failed` request, never a stuck one.
 */
export class ApprovalService {
  constructor(
    private readonly deps: {
      store: KeyValueStore;
      clock: Clock;
      authz: Authorizer;
      projects: ProjectRegistry;
      audit: AuditTrail;
      audience: ApprovalAudience;
      policy: ApprovalPolicy;
    },
  ) {}

  async get(id: string): Promise<ApprovalRequest | undefined> {
    return this.deps.store.get<ApprovalRequest>(APPROVALS, id);
  }

  private async save(request: ApprovalRequest): Promise<void> {
    // Kept a week past expiry so a late click still gets a clear answer.
    const ttl = Math.max(0, request.expiresAt - this.deps.clock.now()) + 7 * 24 * 3600_000;
    await this.deps.store.set(APPROVALS, request.id, request, ttl);
  }

  async list(): Promise<ApprovalRequest[]> {
    return (await this.deps.store.entries<ApprovalRequest>(APPROVALS)).map(([, request]) => request);
  }

  async pending(): Promise<ApprovalRequest[]> {
    const now = this.deps.clock.now();
    return (await this.list()).filter((request) => request.status === "pending" && request.expiresAt > now);
  }

  /** "Scan requested": a pending request bound to the project's ID and URL as they are now. */
  async open(user: string, channel: string, project: ProjectRecord): Promise<ApprovalRequest> {
    const { clock, audit, policy, audience } = this.deps;
    await requireApproverAudience(
      audience,
      policy.approvalChannel,
      channel,
      user,
      "Nobody who may approve scans can see this conversation, so this request could never be approved. Ask in a channel where an approver is a member (an admin can also set APPROVAL_CHANNEL).",
    );
    const request: ApprovalRequest = {
      id: randomUUID(),
      projectId: project.id,
      projectName: project.name,
      targetUrl: project.url,
      ...pendingRequest(user, channel, policy, clock.now()),
    };
    await this.save(request);
    await audit.record({
      user,
      action: "scan.request",
      target: `${project.name} (${project.id})`,
      outcome: "ok",
    });
    return request;
  }

  /** Remembers where the request card was posted, so later decisions edit it. */
  async cardPosted(id: string, card: MessageRef): Promise<ApprovalRequest | undefined> {
    const request = await this.get(id);
    if (!request) return undefined;
    const saved = { ...request, card };
    await this.save(saved);
    return saved;
  }

  /**
   * Approve or deny. Only an approver other than the requester may approve; the requester may withdraw
   * (deny) their own request. The first decision wins; later clicks learn the stored decision.
   */
  async decide<S extends { scanId: string }>(
    requestId: string,
    user: string,
    decision: Decision,
    clickChannel: string | undefined,
    start: StartApproved<S>,
  ): Promise<DecisionOutcome<S>> {
    const { authz, store, clock, audit } = this.deps;
    const request = await this.get(requestId);
    if (!request) throw new AppError("not_found", "This approval request no longer exists.");
    if (request.status !== "pending") throw alreadyDecided(request);
    requireDecidingChannels(authz, this.deps.policy.approvalChannel, [clickChannel, request.channel]);
    await this.requireUnexpired(request);
    const withdrawing = await requireSecondPerson(authz, {
      user,
      requestedBy: request.requestedBy,
      decision,
      capability: "approve_scan",
      what: "scan request",
    });
    const project = decision === "approve" ? await this.requireStillValid(request) : undefined;
    const won = await store.add<StoredDecision>(DECISIONS, request.id, {
      decision: withdrawing ? "withdraw" : decision,
      user,
      at: clock.now(),
    });
    if (!won) {
      // An approval whose start never got going (crash, store failure) resumes with this click.
      const stuck = project ? await this.resumable(request) : undefined;
      if (stuck && project && (await this.claimStart(stuck, user))) {
        return this.startApproved(stuck, project, stuck.decidedBy ?? user, start, user);
      }
      throw await this.lostRace(request);
    }
    // The first start attempt is claimed like every Retry, so a Retry cannot race it.
    if (project && !(await this.claimStart(request, user))) throw await this.lostRace(request);
    const decided: ApprovalRequest = {
      ...request,
      status: withdrawing ? "withdrawn" : DECIDED_STATUS[decision],
      decidedBy: user,
      decidedAt: clock.now(),
    };
    if (!project) {
      await this.save(decided);
      await audit.record({
        user,
        action: withdrawing ? "scan.withdraw" : "scan.deny",
        target: `${request.projectName} (${request.projectId})`,
        outcome: "ok",
      });
      return { request: decided };
    }
    return this.startApproved(decided, project, user, start);
  }

  /** Retry of an approved request whose start failed: same checks as approving, once per attempt. */
  async retry<S extends { scanId: string }>(
    requestId: string,
    user: string,
    clickChannel: string | undefined,
    start: StartApproved<S>,
  ): Promise<DecisionOutcome<S>> {
    const { authz, store } = this.deps;
    const stored = await this.get(requestId);
    if (!stored) throw new AppError("not_found", "This approval request no longer exists.");
    const request = await this.resumable(stored);
    if (!request) throw alreadyDecided(stored);
    requireDecidingChannels(authz, this.deps.policy.approvalChannel, [clickChannel, request.channel]);
    await this.requireUnexpired(request);
    await authz.require(user, "approve_scan");
    if (user === request.requestedBy) {
      throw new AppError("permission", "You cannot start your own scan request; another approver has to.");
    }
    const project = await this.requireStillValid(request);
    if (!(await this.claimStart(request, user))) {
      const by = await store.get<{ user: string }>(STARTS, `${request.id}:${request.attempts ?? 0}`);
      throw new AppError(
        "conflict",
        by
          ? say`Starting this scan is already under way by ${person(by.user)}.`
          : "Starting this scan is already under way.",
      );
    }
    return this.startApproved(request, project, request.decidedBy ?? user, start, user);
  }

  /** Deleting a project ends its open requests, so no one approves a scan of something gone. */
  async expireForProject(projectId: string, reason: string): Promise<ApprovalRequest[]> {
    const open = (await this.list()).filter(
      (request) =>
        request.projectId === projectId &&
        (request.status === "pending" || request.status === "start_failed"),
    );
    const expired: ApprovalRequest[] = [];
    for (const request of open) {
      const ended = { ...request, status: "expired" as const, reason };
      await this.save(ended);
      expired.push(ended);
    }
    return expired;
  }

  private async startApproved<S extends { scanId: string }>(
    request: ApprovalRequest,
    project: ProjectRecord,
    approvedBy: string,
    start: StartApproved<S>,
    retriedBy?: string,
  ): Promise<DecisionOutcome<S>> {
    const { audit } = this.deps;
    const actor = retriedBy ?? approvedBy;
    const action = retriedBy ? "scan.retry" : "scan.approve";
    const target = `${request.projectName} (${request.projectId})`;
    const attempts = (request.attempts ?? 0) + 1;
    try {
      const started = await start(project, {
        requestedBy: request.requestedBy,
        approvedBy,
        channel: request.channel,
      });
      const linked: ApprovalRequest = { ...request, status: "approved", scanId: started.scanId, attempts };
      delete linked.failure;
      await this.save(linked);
      await audit.record({ user: actor, action, target, outcome: "ok", detail: `scan ${started.scanId}` });
      return { request: linked, started };
    } catch (error) {
      const failure = toAppError(error);
      const failed: ApprovalRequest = {
        ...request,
        status: "start_failed",
        failure: failure.userMessage,
        attempts,
      };
      // Best effort: if the store is what failed, the stored approve decision still makes it resumable.
      await this.save(failed).catch(() => undefined);
      await audit
        .record({
          user: actor,
          action,
          target,
          outcome: "failed",
          detail: `approved by ${approvedBy}; the scan did not start (${failure.kind})`,
        })
        .catch(() => undefined);
      return { request: failed, failure };
    }
  }

  /** One start per attempt, whoever clicks first; the claim lapses so a crash mid-start is resumable. */
  private claimStart(request: ApprovalRequest, user: string): Promise<boolean> {
    const key = `${request.id}:${request.attempts ?? 0}`;
    return this.deps.store.add(STARTS, key, { user, at: this.deps.clock.now() }, 10 * 60_000);
  }

  /**
   * The request as Retry sees it: `start_failed`, or approved without a scan (the store failed after
   * the decision), or still pending while the stored decision says approve.
   */
  private async resumable(request: ApprovalRequest): Promise<ApprovalRequest | undefined> {
    if (request.status === "start_failed") return request;
    if (request.status === "approved" && !request.scanId) return request;
    if (request.status !== "pending") return undefined;
    const decided = await this.deps.store.get<StoredDecision>(DECISIONS, request.id);
    if (decided?.decision !== "approve") return undefined;
    return { ...request, status: "approved", decidedBy: decided.user, decidedAt: decided.at };
  }

  private async requireUnexpired(request: ApprovalRequest): Promise<void> {
    if (this.deps.clock.now() < request.expiresAt) return;
    await this.save({ ...request, status: "expired" });
    throw new AppError(
      "conflict",
      say`This request expired at ${new Date(request.expiresAt).toISOString()}. Ask for a new scan with ${command(`scan start ${request.projectName}`)}.`,
    );
  }

  /**
   * What the approver saw must still hold: the project (by ID, never by name) with the same target,
   * and a requester who may still start scans. Otherwise the request ends here.
   */
  private async requireStillValid(request: ApprovalRequest): Promise<ProjectRecord> {
    const { projects, authz } = this.deps;
    const project = await projects.get(request.projectId);
    const problem = !project
      ? {
          reason: "project deleted",
          text: say`Project ${request.projectName} was deleted after this request`,
        }
      : project.url !== request.targetUrl
        ? {
            reason: "target changed",
            text: say`The target of ${request.projectName} changed since this request (now ${project.url || "unknown"})`,
          }
        : !(await authz.can(request.requestedBy, "request_scan"))
          ? {
              reason: "requester may no longer start scans",
              text: say`${person(request.requestedBy)} may no longer start scans`,
            }
          : undefined;
    if (!problem && project) return project;
    const ended = { ...request, status: "expired" as const, reason: problem?.reason ?? "invalid" };
    await this.save(ended);
    throw new AppError("conflict", [
      ...(problem?.text ?? ["This request is no longer valid"]),
      "; nothing was started. Ask for a new scan if it is still wanted.",
    ]);
  }

  /** Someone else's decision won: answer from what is stored, never from a guess. */
  private async lostRace(request: ApprovalRequest): Promise<AppError> {
    const decided = await this.deps.store.get<StoredDecision>(DECISIONS, request.id);
    const latest = (await this.get(request.id)) ?? request;
    if (latest.status !== "pending") return alreadyDecided(latest);
    if (!decided) {
      return new AppError(
        "conflict",
        "Someone else is deciding this request right now; look at the card in a moment.",
      );
    }
    if (decided.decision === "approve") {
      return new AppError(
        "conflict",
        say`This request was already approved by ${person(decided.user)} at ${new Date(decided.at).toISOString()} and its scan is starting. If the card does not show it soon, an approver can press Retry.`,
      );
    }
    return alreadyDecided({
      ...latest,
      status: DECIDED_STATUS[decided.decision],
      decidedBy: decided.user,
      decidedAt: decided.at,
    });
  }
}
