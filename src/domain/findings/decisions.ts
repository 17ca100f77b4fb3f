import { randomUUID } from "node:crypto";
import type { ApprovalAudience, ApprovalPolicy, MessageRef } from "../approval-record.js";
import { type AuditTrail, stripUserinfo } from "../audit.js";
import type { Authorizer } from "../authz.js";
import { AppError, person, say } from "../errors.js";
import {
  pendingRequest,
  requireApproverAudience,
  requireDecidingChannels,
  requireSecondPerson,
} from "../four-eyes.js";
import type { Clock, KeyValueStore } from "../ports.js";
import type { ProjectRegistry } from "../projects.js";
import {
  type AcceptanceDays,
  alreadyDecided,
  type DecisionKind,
  type DecisionRequest,
  type DecisionSubject,
  KIND_WORDS,
  REASON_MAX,
  REASON_MIN,
  REQUESTS,
  type StoredVote,
  VOTE_STATUS,
  VOTES,
} from "./decision-record.js";
import type { FindingDecision, FindingDecisions, FindingLookup, Fingerprint } from "./types.js";

export type { AcceptanceDays, DecisionKind, DecisionRequest, DecisionStatus } from "./decision-record.js";
export { ACCEPTANCE_DAYS, REASON_MAX, REASON_MIN } from "./decision-record.js";

const DAY_MS = 86_400_000;
/** Which request holds a finding while it is pending (one at a time). */
const OPEN = "finding-decision-open";
interface OpenClaim {
  id: string;
  at: number;
}
/** Kept past the end so a late click gets a clear answer and the expiry line can catch up. */
const KEEP_DECIDED_MS = 7 * DAY_MS;
const KEEP_LAPSED_ACCEPTANCE_MS = 90 * DAY_MS;

export interface DecisionInput {
  projectId: string;
  fingerprint: Fingerprint;
  kind: DecisionKind;
  reason: string;
  /** Required for a risk acceptance, absent for a false positive. */
  days?: AcceptanceDays;
}

export interface FindingDecisionDeps {
  store: KeyValueStore;
  clock: Clock;
  authz: Authorizer;
  projects: ProjectRegistry;
  audit: AuditTrail;
  audience: ApprovalAudience;
  /** The scan approvals' TTL and channel: a request nobody decides lapses after the same time. */
  policy: ApprovalPolicy;
  /** Findings history, for what the finding is; without it the cards show the fingerprint only. */
  lookup?: Pick<FindingLookup, "finding">;
}

/**
 * Four-eyes decisions on single findings (accept a risk for 30/90/180 days, mark a false positive);
 * the only writer of decision requests. Same rules as scan approvals: an approver other than the
 * requester decides, re-authorized when they click; the store's first-writer-wins `add` settles races
 * (between replicas, and between a click and the request's lapse); every step is audited.
 */
export class FindingDecisionService implements FindingDecisions {
  constructor(private readonly deps: FindingDecisionDeps) {}

  /** How long a request waits for a decision. */
  get requestTtlMs(): number {
    return this.deps.policy.approvalTtlMs;
  }

  /** What findings history knows of a finding, for the forms that ask about it. */
  async subject(projectId: string, fingerprint: Fingerprint): Promise<DecisionSubject | undefined> {
    const finding = await this.deps.lookup?.finding(projectId, fingerprint);
    if (!finding) return undefined;
    return {
      title: finding.title,
      severity: finding.severity,
      ...(finding.location ? { location: finding.location } : {}),
    };
  }

  /** The request as stored, with a decision that won but was not saved yet (crash) folded in. */
  async get(id: string): Promise<DecisionRequest | undefined> {
    const request = await this.deps.store.get<DecisionRequest>(REQUESTS, id);
    return request ? this.settled(request) : undefined;
  }

  async list(): Promise<DecisionRequest[]> {
    const stored = await this.deps.store.entries<DecisionRequest>(REQUESTS);
    return Promise.all(stored.map(([, request]) => this.settled(request)));
  }

  /** Approved decisions of a project in force at `now`, by fingerprint; the newest approval counts. */
  async inForce(projectId: string, now: number): Promise<ReadonlyMap<Fingerprint, FindingDecision>> {
    const found = new Map<Fingerprint, FindingDecision>();
    const approved = (await this.list())
      .filter((r) => r.projectId === projectId && inForceAt(r, now))
      .sort((a, b) => (a.decidedAt ?? 0) - (b.decidedAt ?? 0));
    for (const request of approved) found.set(request.fingerprint, asDecision(request));
    return found;
  }

  /** "Accept risk" or "False positive" asked: a pending request bound to the project and finding. */
  async open(user: string, channel: string, input: DecisionInput): Promise<DecisionRequest> {
    const { authz, clock, audit, policy, audience, projects, lookup } = this.deps;
    await authz.require(user, "report", channel);
    const reason = checkedReason(input.reason);
    const days = input.kind === "accepted" ? input.days : undefined;
    if (input.kind === "accepted" && days === undefined) {
      throw new AppError("validation", "Choose how long the risk is accepted: 30, 90 or 180 days.");
    }
    const project = await projects.get(input.projectId);
    if (!project) {
      throw new AppError("not_found", "This project is no longer registered, so nothing was requested.");
    }
    const finding = await this.subject(project.id, input.fingerprint);
    if (lookup && !finding) {
      throw new AppError(
        "not_found",
        say`This finding is not in the history of ${project.name} (any more); nothing was requested.`,
      );
    }
    await requireApproverAudience(
      audience,
      policy.approvalChannel,
      channel,
      user,
      "Nobody who may approve this can see this conversation, so the request could never be decided. Ask in a channel where an approver is a member (an admin can also set APPROVAL_CHANNEL).",
    );
    const now = clock.now();
    const id = randomUUID();
    await this.claimFinding(project.id, input.fingerprint, id, now);
    const request: DecisionRequest = {
      id,
      projectId: project.id,
      projectName: project.name,
      fingerprint: input.fingerprint,
      ...(finding ? { finding } : {}),
      kind: input.kind,
      reason,
      ...(days !== undefined ? { days } : {}),
      ...pendingRequest(user, channel, policy, now),
    };
    await this.save(request);
    await audit.record({
      user,
      action: `finding.${input.kind}.request`,
      target: targetOf(request),
      outcome: "ok",
      ...(days !== undefined ? { detail: `${days} days` } : {}),
    });
    return request;
  }

  /**
   * One pending request per finding, across replicas: the store's `add` claims the finding for the
   * request's lifetime. A claim whose request ended (decided, lapsed) is taken over.
   */
  private async claimFinding(projectId: string, fingerprint: Fingerprint, id: string, now: number) {
    const { store, policy } = this.deps;
    const key = `${projectId}|${fingerprint}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await store.add<OpenClaim>(OPEN, key, { id, at: now }, policy.approvalTtlMs)) return;
      const held = await store.get<OpenClaim>(OPEN, key);
      const holder = held ? await this.get(held.id) : undefined;
      if (holder?.status === "pending" && holder.expiresAt > now) {
        throw new AppError(
          "conflict",
          say`${person(holder.requestedBy)} already asked for a ${KIND_WORDS[holder.kind]} of this finding; an approver decides it on its card.`,
        );
      }
      // A claim younger than a minute without its record is a request being saved right now.
      if (held && !holder && now - held.at < 60_000) break;
      await store.delete(OPEN, key);
    }
    throw new AppError(
      "conflict",
      "Someone is asking about this finding right now; look for its card in a moment.",
    );
  }

  /** Remembers where the request card was posted, so later decisions edit it. */
  async cardPosted(id: string, card: MessageRef): Promise<DecisionRequest | undefined> {
    const request = await this.get(id);
    if (!request) return undefined;
    const saved = { ...request, card };
    await this.save(saved);
    return saved;
  }

  /**
   * Approve or deny. Only an approver other than the requester may approve; the requester may
   * withdraw (deny) their own request. The first decision wins; later clicks learn the stored one.
   */
  async decide(
    id: string,
    user: string,
    decision: "approve" | "deny",
    clickChannel: string | undefined,
  ): Promise<DecisionRequest> {
    const { authz, audit } = this.deps;
    const request = await this.get(id);
    if (!request) throw new AppError("not_found", "This request no longer exists.");
    if (request.status !== "pending") throw alreadyDecided(request);
    requireDecidingChannels(authz, this.deps.policy.approvalChannel, [clickChannel, request.channel]);
    const now = this.deps.clock.now();
    if (now >= request.expiresAt) throw alreadyDecided((await this.end(request)).request);
    const withdrawing = await requireSecondPerson(authz, {
      user,
      requestedBy: request.requestedBy,
      decision,
      capability: "decide_finding",
      what: `${KIND_WORDS[request.kind]} request`,
    });
    if (decision === "approve") await this.requireStillValid(request);
    const vote: StoredVote = { decision: withdrawing ? "withdraw" : decision, user, at: now };
    if (!(await this.deps.store.add(VOTES, request.id, vote, this.keepMs(request)))) {
      const latest = await this.get(request.id);
      throw latest && latest.status !== "pending"
        ? alreadyDecided(latest)
        : new AppError("conflict", "Someone else is deciding this request right now.");
    }
    const decided = applyVote(request, vote);
    await this.save(decided);
    await audit.record({
      user,
      action: `finding.${request.kind}.${vote.decision}`,
      target: targetOf(request),
      outcome: "ok",
      ...(decided.validUntil ? { detail: `until ${new Date(decided.validUntil).toISOString()}` } : {}),
    });
    return decided;
  }

  /**
   * A pending request whose time ran out (or whose subject is gone) ends, unless a click won first;
   * `won` is false when another replica or a click settled it.
   */
  async end(request: DecisionRequest, ended?: string): Promise<{ request: DecisionRequest; won: boolean }> {
    const vote: StoredVote = {
      decision: "lapse",
      user: "",
      at: this.deps.clock.now(),
      ...(ended ? { ended } : {}),
    };
    if (!(await this.deps.store.add(VOTES, request.id, vote, this.keepMs(request)))) {
      return { request: (await this.get(request.id)) ?? request, won: false };
    }
    const lapsed = applyVote(request, vote);
    await this.save(lapsed);
    await this.deps.audit.record({
      user: request.requestedBy,
      action: `finding.${request.kind}.lapse`,
      target: targetOf(request),
      outcome: "ok",
      detail: ended ?? "nobody decided in time",
    });
    return { request: lapsed, won: true };
  }

  private async settled(request: DecisionRequest): Promise<DecisionRequest> {
    if (request.status !== "pending") return request;
    const vote = await this.deps.store.get<StoredVote>(VOTES, request.id);
    return vote ? applyVote(request, vote) : request;
  }

  private keepMs(request: DecisionRequest): number {
    const now = this.deps.clock.now();
    if (request.status === "pending") return Math.max(0, request.expiresAt - now) + KEEP_DECIDED_MS;
    if (request.status !== "approved") return KEEP_DECIDED_MS;
    return Math.max(0, (request.validUntil ?? now) - now) + KEEP_LAPSED_ACCEPTANCE_MS;
  }

  private async save(request: DecisionRequest): Promise<void> {
    // A false positive stays for good; everything else is kept a while past its end.
    const forever = request.status === "approved" && request.kind === "false_positive";
    await this.deps.store.set(REQUESTS, request.id, request, forever ? undefined : this.keepMs(request));
  }

  /** What the approver saw must still hold: the project (by ID) and a requester who may still ask. */
  private async requireStillValid(request: DecisionRequest): Promise<void> {
    const { projects, authz } = this.deps;
    const problem = !(await projects.get(request.projectId))
      ? "project deleted"
      : !(await authz.can(request.requestedBy, "report"))
        ? "the requester may no longer read findings"
        : undefined;
    if (!problem) return;
    throw alreadyDecided((await this.end(request, problem)).request);
  }
}

function checkedReason(input: string): string {
  // A pasted URL with credentials must not be kept; the reason is shown on cards.
  const reason = stripUserinfo(input.trim());
  if (reason.length < REASON_MIN || reason.length > REASON_MAX) {
    throw new AppError(
      "validation",
      `Give a reason of ${REASON_MIN} to ${REASON_MAX} characters: the approver decides on it.`,
    );
  }
  return reason;
}

function applyVote(request: DecisionRequest, vote: StoredVote): DecisionRequest {
  const status = VOTE_STATUS[vote.decision];
  if (status === "expired") return { ...request, status, ...(vote.ended ? { ended: vote.ended } : {}) };
  const decided: DecisionRequest = { ...request, status, decidedBy: vote.user, decidedAt: vote.at };
  if (status === "approved" && request.kind === "accepted" && request.days !== undefined) {
    decided.validUntil = vote.at + request.days * DAY_MS;
  }
  return decided;
}

/** Approved, and for a risk acceptance not run out at `now`. */
export function inForceAt(request: DecisionRequest, now: number): boolean {
  if (request.status !== "approved") return false;
  return request.kind === "false_positive" || (request.validUntil !== undefined && now < request.validUntil);
}

function asDecision(request: DecisionRequest): FindingDecision {
  return {
    kind: request.kind,
    fingerprint: request.fingerprint,
    reason: request.reason,
    requestedBy: request.requestedBy,
    approvedBy: request.decidedBy ?? "",
    decidedAt: request.decidedAt ?? 0,
    ...(request.validUntil !== undefined ? { expiresAt: request.validUntil } : {}),
  };
}

export function targetOf(request: DecisionRequest): string {
  return `${request.projectName} (${request.projectId}) finding ${request.fingerprint}`;
}
