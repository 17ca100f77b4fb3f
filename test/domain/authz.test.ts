import assert from "node:assert/strict";
import { test } from "node:test";
import { Authorizer } from "../../src/domain/authz.js";
import { AppError } from "../../src/domain/errors.js";

const groups: Record<string, string[]> = { S0SECTEAM: ["UGROUPIE"] };
const members = async (id: string) => groups[id] ?? [];

const authz = new Authorizer(
  { admins: ["UADMIN"], approvers: ["UAPPROVER", "S0SECTEAM"], operators: ["UOPS"], allowedChannels: [] },
  members,
);

test("roles grant cumulative capabilities; group membership counts", async () => {
  assert.equal(await authz.can("UOPS", "request_scan"), true);
  assert.equal(await authz.can("UOPS", "approve_scan"), false);
  assert.equal(await authz.can("UAPPROVER", "approve_scan"), true);
  assert.equal(await authz.can("UGROUPIE", "approve_scan"), true);
  assert.equal(await authz.can("UAPPROVER", "delete_project"), false);
  assert.equal(await authz.can("UADMIN", "audit"), true);
  assert.equal(await authz.can("USTRANGER", "view"), false);
  assert.equal(await authz.can("S0SECTEAM", "approve_scan"), false, "a group ID is not a user");
});

test("denials say who can help; with no roles configured they say how to configure them", async () => {
  await assert.rejects(authz.require("USTRANGER", "request_scan"), (error: unknown) => {
    assert.ok(error instanceof AppError && error.kind === "permission");
    assert.match(error.userMessage, /not allowed to start scans\. Ask @UADMIN/);
    // Who can help is data, not chat markup: the Slack layer renders the mention.
    assert.ok(
      error.parts.some((part) => typeof part !== "string" && "user" in part && part.user === "UADMIN"),
    );
    return true;
  });
  const empty = new Authorizer({ admins: [], approvers: [], operators: [], allowedChannels: [] }, members);
  await assert.rejects(empty.require("UANY", "view"), (e: AppError) => /ADMIN_USERS/.test(e.userMessage));
});

test("ALLOWED_CHANNELS restricts where the bot acts, for everyone", async () => {
  const limited = new Authorizer(
    { admins: ["UADMIN"], approvers: [], operators: [], allowedChannels: ["CSEC"] },
    members,
  );
  await limited.require("UADMIN", "audit", "CSEC");
  await assert.rejects(
    limited.require("UADMIN", "audit", "CRANDOM"),
    (e: AppError) =>
      /not enabled in this channel.*#CSEC/.test(e.userMessage) &&
      e.parts.some((part) => typeof part !== "string" && "channel" in part && part.channel === "CSEC"),
  );
});
