import { AppError, person, say } from "./errors.js";
import type { ProjectRecord } from "./projects.js";

/** The approval record and its vocabulary; `ApprovalService` (approvals.ts) is its only writer. */

/** Where a message lives in Slack, so later updates edit it instead of posting anew. */
export interface MessageRef {
  channel: string;
  ts: string;
}

/**
 * `start_failed`: approved, but the scanner (or the store) failed before a scan was recorded. It is
 * resumable: an approver presses Retry. `withdrawn`: denied by the requester themselves.
 */
export type ApprovalStatus = "pending" | "approved" | "start_failed" | "denied" | "withdrawn" | "expired";

export interface ApprovalRequest {
  id: string;
  /** The project as the requester and the approver saw it on the card: its ID and target URL. */
  projectId: string;
  projectName: string;
  targetUrl: string;
  requestedBy: string;
  /** Where the scan was asked for; its scan card goes there. */
  channel: string;
  /** Where the request card goes when it is not `channel` (APPROVAL_CHANNEL). */
  approvalChannel?: string;
  createdAt: number;
  expiresAt: number;
  status: ApprovalStatus;
  decidedBy?: string;
  decidedAt?: number;
  scanId?: string;
  card?: MessageRef;
  /** Why an expired request ended (e.g. "project deleted"); absent when its time ran out. */
  reason?: string;
  /** Why the start failed (safe to show), for `start_failed`. */
  failure?: string;
  /** Start attempts after approval. */
  attempts?: number;
}

export type Decision = "approve" | "deny";

/** Who could ever approve a request made in a conversation; the Slack layer knows the members. */
export interface ApprovalAudience {
  /** True when someone other than the requester who may approve scans can see the conversation. */
  approverCanSee(channel: string, requester: string): Promise<boolean>;
}

export interface ApprovalPolicy {
  approvalTtlMs: number;
  /** APPROVAL_CHANNEL: every request card goes there instead of the requesting conversation. */
  approvalChannel?: string;
}

/** Starts the approved scan (ScanService does); S is what it returns. */
export type StartApproved<S> = (
  project: ProjectRecord,
  who: { requestedBy: string; approvedBy: string; channel: string },
) => Promise<S>;

export interface DecisionOutcome<S> {
  request: ApprovalRequest;
  started?: S;
  /** Set when the decision was approve but no scan started: the request is `start_failed`. */
  failure?: AppError;
}

export interface StoredDecision {
  decision: Decision | "withdraw";
  user: string;
  at: number;
}

export const APPROVALS = "approvals";
export const DECISIONS = "approval-decisions";
export const STARTS = "approval-starts";

export const DECIDED_STATUS: Record<StoredDecision["decision"], ApprovalStatus> = {
  approve: "approved",
  deny: "denied",
  withdraw: "withdrawn",
};

/** The answer to a click on a request that is no longer pending. */
export function alreadyDecided(request: ApprovalRequest): AppError {
  const when = request.decidedAt ? ` at ${new Date(request.decidedAt).toISOString()}` : "";
  const by = request.decidedBy ? say` by ${person(request.decidedBy)}` : [];
  switch (request.status) {
    case "start_failed":
      return new AppError("conflict", [
        "This request was already approved",
        ...by,
        `${when}, but the scan did not start (${request.failure ?? "unknown error"}). An approver can press Retry on the card.`,
      ]);
    case "expired":
      return new AppError(
        "conflict",
        request.reason
          ? `This request has ended: ${request.reason}. Ask for a new scan if it is still wanted.`
          : `This request expired at ${new Date(request.expiresAt).toISOString()}.`,
      );
    case "pending":
      return new AppError("conflict", "This request has not been decided yet.");
    default:
      return new AppError("conflict", [`This request was already ${request.status}`, ...by, `${when}.`]);
  }
}
