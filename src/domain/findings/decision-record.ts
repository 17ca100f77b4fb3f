import type { MessageRef } from "../approval-record.js";
import { AppError, person, say } from "../errors.js";
import type { Severity } from "../ports.js";
import type { Fingerprint } from "./types.js";

/**
 * The decision request on one finding and its vocabulary; `FindingDecisionService` (decisions.ts) is
 * its only writer. One record per request: a finding can have several over time (an acceptance that
 * ran out, then a new one); the newest approved one in force counts.
 */

export type DecisionKind = "accepted" | "false_positive";

/**
 * `expired`: nobody decided before the request's TTL (APPROVAL_TTL_HOURS), or what it was about is gone
 * (`ended` says why). An approved risk acceptance that runs out keeps `approved`: `validUntil` says
 * until when it is in force, so it stops counting at that moment whether or not a job has run.
 */
export type DecisionStatus = "pending" | "approved" | "denied" | "withdrawn" | "expired";

/** How long a risk acceptance may last; false positives do not expire. */
export const ACCEPTANCE_DAYS = [30, 90, 180] as const;
export type AcceptanceDays = (typeof ACCEPTANCE_DAYS)[number];

/** The reason is required and bounded: it is shown on cards and read by the approver. */
export const REASON_MIN = 10;
export const REASON_MAX = 500;

/** The finding as the requester saw it when asking, for the cards (scanner text: escape on display). */
export interface DecisionSubject {
  title: string;
  severity: Severity;
  location?: string;
}

export interface DecisionRequest {
  id: string;
  /** What the decision binds to: the project by ID and the finding's fingerprint. */
  projectId: string;
  projectName: string;
  fingerprint: Fingerprint;
  finding?: DecisionSubject;
  kind: DecisionKind;
  reason: string;
  /** Risk acceptance only: how long it is in force once approved. */
  days?: AcceptanceDays;
  requestedBy: string;
  /** Where it was asked; the expiry line goes there. */
  channel: string;
  /** Where the request card goes when it is not `channel` (APPROVAL_CHANNEL). */
  approvalChannel?: string;
  createdAt: number;
  /** The request lapses unless decided before this. */
  expiresAt: number;
  status: DecisionStatus;
  decidedBy?: string;
  decidedAt?: number;
  /** Risk acceptance: approval time plus `days`; in force while now is before it. */
  validUntil?: number;
  card?: MessageRef;
  /** Why an expired request ended early (e.g. "project deleted"); absent when its time ran out. */
  ended?: string;
}

/** The first writer of this per request wins: a click, or the lapse when time ran out. */
export interface StoredVote {
  decision: "approve" | "deny" | "withdraw" | "lapse";
  user: string;
  at: number;
  ended?: string;
}

export const VOTE_STATUS: Record<StoredVote["decision"], DecisionStatus> = {
  approve: "approved",
  deny: "denied",
  withdraw: "withdrawn",
  lapse: "expired",
};

export const REQUESTS = "finding-decisions";
export const VOTES = "finding-decision-votes";
export const NOTICES = "finding-decision-notices";

export const KIND_WORDS: Record<DecisionKind, string> = {
  accepted: "risk acceptance",
  false_positive: "false positive",
};

/** The answer to a click on a request that is no longer pending. */
export function alreadyDecided(request: DecisionRequest): AppError {
  const when = request.decidedAt ? ` at ${new Date(request.decidedAt).toISOString()}` : "";
  const by = request.decidedBy ? say` by ${person(request.decidedBy)}` : [];
  const what = `This ${KIND_WORDS[request.kind]} request`;
  if (request.status === "expired") {
    return new AppError(
      "conflict",
      request.ended
        ? `${what} has ended: ${request.ended}. Ask again from the findings list if it still applies.`
        : `${what} expired at ${new Date(request.expiresAt).toISOString()} without a decision. Ask again from the findings list if it still applies.`,
    );
  }
  if (request.status === "pending") return new AppError("conflict", `${what} has not been decided yet.`);
  return new AppError("conflict", [`${what} was already ${request.status}`, ...by, `${when}.`]);
}
