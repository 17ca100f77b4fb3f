import assert from "node:assert/strict";
import { test } from "node:test";
import type { SeverityCounts } from "../../src/domain/findings/types.js";
import type { Notice } from "../../src/domain/subscriptions/matching.js";
import { MAX_GROUP } from "../../src/domain/subscriptions/outbox.js";
import type { Subscription } from "../../src/domain/subscriptions/records.js";
import type { SlackMessage } from "../../src/slack/blocks/common.js";
import { noticeMessage, subscriptionList } from "../../src/slack/blocks/subscriptions.js";

/** Worst cases of every subscription message stay within Block Kit's limits and Slack's message size. */

const all: SeverityCounts = { critical: 9999, high: 9999, medium: 9999, low: 9999, info: 9999 };
const long = "x".repeat(200);
const link = `https://team.slack.com/archives/C0SECURITY/p${"1".repeat(16)}?thread_ts=1234567890.123456&cid=C0SECURITY`;

function withinLimits(m: SlackMessage) {
  assert.ok(m.text.length > 0 && m.text.length <= 40_000);
  assert.ok(m.blocks.length <= 50, `${m.blocks.length} blocks`);
  let total = 0;
  type Text = { text: string };
  type Block = {
    type: string;
    text: Text;
    elements: Text[];
    accessory?: { value: string; action_id: string; confirm: { text: Text } };
  };
  for (const block of m.blocks as unknown as Block[]) {
    if (block.type === "section") {
      assert.ok(block.text.text.length <= 3000, `section of ${block.text.text.length}`);
      assert.ok(!block.text.text.endsWith("…"), "nothing cut off");
      total += block.text.text.length;
      if (block.accessory) {
        assert.ok(block.accessory.value.length <= 2000 && block.accessory.action_id.length <= 255);
        assert.ok(block.accessory.confirm.text.text.length <= 300);
      }
    }
    if (block.type === "context") {
      assert.ok(block.elements.length <= 10);
      total += block.elements.reduce((n, e) => n + e.text.length, 0);
    }
    if (block.type === "header") assert.ok(block.text.text.length <= 150);
  }
  assert.ok(total < 11_000, `${total} characters of block text`);
}

test("a full group of the longest notices fits one message, every line whole", () => {
  const kinds: Notice["kind"][] = [
    "started",
    "finished",
    "failed",
    "new-findings",
    "approval",
    "approved",
    "denied",
    "expired",
  ];
  const notices: Notice[] = Array.from({ length: MAX_GROUP }, (_, i) => ({
    kind: kinds[i % kinds.length] as Notice["kind"],
    key: `k${i}`,
    at: i,
    projectId: `p${i}`,
    projectName: long,
    scanId: "9".repeat(40),
    requestId: "r",
    requestedBy: "U0123456789",
    by: "U0987654321",
    link,
    counts: all,
    newCounts: all,
    fixedCounts: all,
    // Every other request notice is a finding decision's, with the longest title.
    ...(i % 2 === 0 ? { about: { kind: "false_positive" as const, title: long } } : {}),
  }));
  const m = noticeMessage(notices);
  withinLimits(m);
  assert.equal(
    (JSON.stringify(m.blocks).match(/\|thread>|\|request>/g) ?? []).length,
    MAX_GROUP,
    "every line keeps its link",
  );
  withinLimits(noticeMessage(notices.slice(0, 1)));
});

test("a finding decision's request names the finding; its end tells the requester which request", () => {
  const base = {
    key: "k",
    at: 0,
    projectId: "p1",
    projectName: "web-shop",
    requestId: "r1",
    requestedBy: "U0ALICE",
  };
  const about = { kind: "accepted" as const, title: "Reflected <XSS>" };
  const line = (n: Partial<Notice>) =>
    (noticeMessage([{ ...base, kind: "approval", ...n } as Notice]).blocks[0] as { text: { text: string } })
      .text.text;
  assert.match(
    line({ about }),
    /\*web-shop\*: a risk acceptance of \*Reflected &lt;XSS&gt;\* by <@U0ALICE> waits for approval/,
  );
  assert.match(
    line({ kind: "approved", by: "U0BOB", about }),
    /your risk acceptance request of \*Reflected &lt;XSS&gt;\* was approved by <@U0BOB>/,
  );
  assert.match(
    line({ kind: "expired", about: { kind: "false_positive" } }),
    /your false positive request expired before anyone approved it/,
  );
  assert.match(line({}), /a scan by <@U0ALICE> waits for approval/);
});

test("a digest of many projects and expiring acceptances, and a long subscription list, fit", () => {
  const digest: Notice = {
    kind: "digest",
    key: "d",
    at: 0,
    projectId: "*",
    projectName: "*",
    digest: {
      from: 0,
      to: 86_400_000,
      projects: Array.from({ length: 45 }, (_, i) => ({
        projectName: `${long}${i}`,
        finished: 999,
        failed: 999,
        newCounts: all,
        fixedCounts: all,
      })),
      expiring: Array.from({ length: 20 }, (_, i) => ({
        projectName: long,
        fingerprint: `${long}${i}`,
        expiresAt: i,
      })),
      approvals: 12,
      decisions: 7,
    },
  };
  withinLimits(noticeMessage([digest]));
  assert.match(
    JSON.stringify(noticeMessage([digest]).blocks),
    /12 scan requests waited for approval\..*7 finding decisions waited for approval\./,
  );
  const subscriptions: Subscription[] = Array.from({ length: 30 }, (_, i) => ({
    id: `C0SECURITY:${i}`,
    channel: "C0SECURITY",
    projectId: String(i),
    projectName: long,
    events: ["started", "finished", "failed", "new-findings", "approval"],
    minSeverity: "critical",
    digest: { every: "weekly", day: 1, hour: 9, minute: 0 },
    createdBy: "U1",
    createdAt: i,
    updatedAt: i,
  }));
  const list = subscriptionList(subscriptions, {
    channel: "C0SECURITY",
    timezone: "America/Argentina/Buenos_Aires",
    quiet: { from: 1320, to: 420 },
    urgent: ["failed", "critical"],
    updatedAt: 0,
  });
  withinLimits(list);
  assert.match(JSON.stringify(list.blocks), /and 10 more/);
});
