import type { ApprovalAudience, ApprovalPolicy, Decision } from "./approval-record.js";
import type { Authorizer, Capability } from "./authz.js";
import { AppError } from "./errors.js";

/**
 * The four-eyes rules that scan requests, finding decisions and schedule approvals share: where a
 * request is decided, who may decide it, and that its requester never approves it.
 */

/** The fields every new request carries: who asked where, where it is decided, until when. */
export function pendingRequest(requestedBy: string, channel: string, policy: ApprovalPolicy, now: number) {
  const { approvalChannel } = policy;
  return {
    requestedBy,
    channel,
    ...(approvalChannel && approvalChannel !== channel ? { approvalChannel } : {}),
    createdAt: now,
    expiresAt: now + policy.approvalTtlMs,
    status: "pending" as const,
  };
}

/**
 * A request nobody may decide is refused up front: without APPROVAL_CHANNEL the card goes to the
 * requesting conversation, so an approver other than the requester must be a member of it.
 */
export async function requireApproverAudience(
  audience: ApprovalAudience,
  approvalChannel: string | undefined,
  channel: string,
  requester: string,
  userMessage: string,
): Promise<void> {
  if (approvalChannel || (await audience.approverCanSee(channel, requester))) return;
  throw new AppError("validation", userMessage, {
    detail: `no approver other than ${requester} is a member of ${channel}`,
  });
}

/** The request's conversation and the click's must be ones the bot acts in (APPROVAL_CHANNEL always is). */
export function requireDecidingChannels(
  authz: Pick<Authorizer, "channelAllowed">,
  approvalChannel: string | undefined,
  channels: ReadonlyArray<string | undefined>,
): void {
  for (const channel of channels) {
    if (channel === undefined || channel === approvalChannel || authz.channelAllowed(channel)) continue;
    throw new AppError(
      "permission",
      "The bot is not enabled in this channel, so it cannot act on this request.",
      {
        detail: `channel ${channel} is not in ALLOWED_CHANNELS`,
      },
    );
  }
}

/**
 * Who may decide: the requester may only withdraw (deny their own request); anyone else needs
 * `capability` and never approves what they asked for. True when the decision is a withdrawal.
 */
export async function requireSecondPerson(
  authz: Pick<Authorizer, "require">,
  input: {
    user: string;
    requestedBy: string;
    decision: Decision;
    capability: Capability;
    /** What was asked for, as in "You cannot approve your own <what>". */
    what: string;
  },
): Promise<boolean> {
  const { user, requestedBy, decision } = input;
  if (decision === "deny" && user === requestedBy) return true;
  await authz.require(user, input.capability);
  if (user === requestedBy) {
    throw new AppError("permission", `You cannot approve your own ${input.what}; another approver has to.`);
  }
  return false;
}
