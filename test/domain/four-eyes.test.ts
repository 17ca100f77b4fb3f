import assert from "node:assert/strict";
import { test } from "node:test";
import { Authorizer } from "../../src/domain/authz.js";
import { AppError } from "../../src/domain/errors.js";
import {
  pendingRequest,
  requireApproverAudience,
  requireDecidingChannels,
  requireSecondPerson,
} from "../../src/domain/four-eyes.js";

const authz = new Authorizer(
  { admins: [], approvers: ["UALICE"], operators: ["UOPS"], allowedChannels: ["CSEC"] },
  async () => [],
);
/** The user-facing message a call is refused with. */
async function refusal(call: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof call === "function" ? call() : call);
  } catch (error) {
    assert.ok(error instanceof AppError, String(error));
    return error.userMessage;
  }
  assert.fail("not refused");
}

const ask = (user: string, decision: "approve" | "deny") =>
  requireSecondPerson(authz, {
    user,
    requestedBy: "UOPS",
    decision,
    capability: "approve_scan",
    what: "scan request",
  });

test("the requester may only withdraw; anyone else needs the right and never approves their own", async () => {
  assert.equal(await ask("UOPS", "deny"), true);
  // An operator lacks the right to approve at all; an approver asking is refused as the requester.
  assert.match(await refusal(ask("UOPS", "approve")), /approve/);
  assert.equal(await ask("UALICE", "approve"), false);
  assert.equal(await ask("UALICE", "deny"), false);
  assert.doesNotMatch(await refusal(ask("UEVE", "approve")), /your own/);
  const own = requireSecondPerson(authz, {
    user: "UALICE",
    requestedBy: "UALICE",
    decision: "approve",
    capability: "approve_scan",
    what: "schedule",
  });
  assert.equal(await refusal(own), "You cannot approve your own schedule; another approver has to.");
});

test("requests are decided only where the bot acts, the approval channel included", async () => {
  requireDecidingChannels(authz, "CAPPROVE", ["CSEC", "CAPPROVE", undefined]);
  assert.match(
    await refusal(() => requireDecidingChannels(authz, "CAPPROVE", ["CSEC", "COTHER"])),
    /not enabled in this channel/,
  );
  const request = pendingRequest("UOPS", "CSEC", { approvalTtlMs: 60_000, approvalChannel: "CSEC" }, 1000);
  assert.deepEqual(request, {
    requestedBy: "UOPS",
    channel: "CSEC",
    createdAt: 1000,
    expiresAt: 61_000,
    status: "pending",
  });
  assert.equal(
    pendingRequest("UOPS", "CSEC", { approvalTtlMs: 1, approvalChannel: "CAPPROVE" }, 0).approvalChannel,
    "CAPPROVE",
  );
  const nobody = { approverCanSee: async () => false };
  await requireApproverAudience(nobody, "CAPPROVE", "CSEC", "UOPS", "no one");
  assert.equal(await refusal(requireApproverAudience(nobody, undefined, "CSEC", "UOPS", "no one")), "no one");
});
