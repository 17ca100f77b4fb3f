import assert from "node:assert/strict";
import { test } from "node:test";
import type { ProjectRecord } from "../../src/domain/projects.js";
import type { ApprovalRequest, ScanRecord } from "../../src/domain/scans.js";
import { ACTIONS, approvalCard, scanCard } from "../../src/slack/blocks/cards.js";
import { LIMITS } from "../../src/slack/blocks/common.js";
import { projectList } from "../../src/slack/blocks/projects.js";

const hostile = "<!channel> <https://evil.example|ok> & <@U123>";
const scan: ScanRecord = {
  scanId: "42",
  projectId: "7",
  projectName: hostile,
  targetUrl: `https://shop.example.com/${"x".repeat(5000)}`,
  backend: "crashtest",
  requestedBy: "U0ALICE",
  channel: "C1",
  state: "running",
  rawCode: "101",
  startedAt: Date.UTC(2026, 10, 23),
  updatedAt: Date.UTC(2026, 10, 23),
};

function buttons(blocks: unknown): Array<{ action_id: string; value: string; text: { text: string } }> {
  const out: Array<{ action_id: string; value: string; text: { text: string } }> = [];
  JSON.stringify(blocks, (_key, value) => {
    if (value && typeof value === "object" && value.type === "button") out.push(value);
    return value;
  });
  return out;
}

test("scan card: user text escaped, limits kept, Stop with confirm while running, none when ended", () => {
  const card = scanCard(scan);
  const json = JSON.stringify(card.blocks);
  assert.ok(!json.includes("<!channel>") && !json.includes("<https://evil"), "hostile text is inert");
  assert.ok(card.text.length > 0);
  for (const block of card.blocks as Array<{ text?: { text: string } }>) {
    if (block.text) assert.ok(block.text.text.length <= LIMITS.sectionText);
  }
  const [stop] = buttons(card.blocks);
  assert.equal(stop?.action_id, ACTIONS.stop);
  assert.equal(stop?.value, "42", "the value is the opaque scan ID only");
  assert.deepEqual(
    buttons(scanCard({ ...scan, state: "finished" }).blocks).map((b) => b.action_id),
    [ACTIONS.rescan],
    "an ended scan has no Stop; Rescan instead",
  );
  assert.deepEqual(buttons(scanCard({ ...scan, stopRequestedBy: "U0BOB" }).blocks), []);
});

test("approval card: Approve/Deny while pending, the decision afterwards", () => {
  const request: ApprovalRequest = {
    id: "req-1",
    projectId: "7",
    projectName: "web-shop",
    targetUrl: "https://shop.example.com/",
    requestedBy: "U0ALICE",
    channel: "C1",
    createdAt: 0,
    expiresAt: 86_400_000,
    status: "pending",
  };
  assert.deepEqual(
    buttons(approvalCard(request).blocks).map((b) => [b.action_id, b.value]),
    [
      [ACTIONS.approve, "req-1"],
      [ACTIONS.deny, "req-1"],
    ],
  );
  const approved = approvalCard({ ...request, status: "approved", decidedBy: "U0BOB", decidedAt: 1000 });
  assert.deepEqual(buttons(approved.blocks), []);
  assert.match(JSON.stringify(approved.blocks), /Approved by <@U0BOB> at <!date\^1\^/);
  assert.match(JSON.stringify(approvalCard({ ...request, status: "expired" }).blocks), /expired/);
});

test("approval card: bound project ID shown; start failed has Retry and the reason; withdrawn and ended say so", () => {
  const request: ApprovalRequest = {
    id: "req-2",
    projectId: "7",
    projectName: "web-shop",
    targetUrl: "https://shop.example.com/",
    requestedBy: "U0ALICE",
    channel: "C1",
    createdAt: 0,
    expiresAt: 86_400_000,
    status: "pending",
  };
  assert.match(JSON.stringify(approvalCard(request).blocks), /ID `7`[^"]*https:\/\/shop\.example\.com/);
  const failed = approvalCard({
    ...request,
    status: "start_failed",
    decidedBy: "U0BOB",
    decidedAt: 1000,
    failure: "Crashtest <!channel> answered 503.",
  });
  assert.match(failed.text, /approved, start failed/);
  assert.deepEqual(
    buttons(failed.blocks).map((b) => [b.action_id, b.value]),
    [[ACTIONS.retry, "req-2"]],
  );
  const text = JSON.stringify(failed.blocks);
  assert.match(text, /did not start: Crashtest &lt;!channel&gt; answered 503\./);
  const withdrawn = JSON.stringify(
    approvalCard({ ...request, status: "withdrawn", decidedBy: "U0ALICE", decidedAt: 1000 }).blocks,
  );
  assert.match(withdrawn, /Withdrawn by <@U0ALICE>/);
  assert.doesNotMatch(withdrawn, /Denied/);
  const ended = approvalCard({ ...request, status: "expired", reason: "project deleted" });
  assert.match(JSON.stringify(ended.blocks), /ended: project deleted; nothing was started/);
  assert.deepEqual(buttons(ended.blocks), []);
});

test("project list stays within 50 blocks and keeps button text short", () => {
  const projects: ProjectRecord[] = Array.from({ length: 80 }, (_, i) => ({
    id: String(i),
    name: `project-${i}`,
    url: "https://x.example.com/",
    backend: "crashtest",
    createdBy: "U1",
    createdAt: 0,
    linked: false,
  }));
  const list = projectList(projects);
  assert.ok(list.blocks.length <= LIMITS.blocksPerMessage);
  assert.match(JSON.stringify(list.blocks.at(-1)), /more blocks not shown/);
  for (const b of buttons(list.blocks)) assert.ok(b.text.text.length <= LIMITS.buttonText);
});
