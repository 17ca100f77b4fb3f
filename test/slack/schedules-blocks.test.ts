import assert from "node:assert/strict";
import { test } from "node:test";
import type { ScheduleRecord } from "../../src/domain/schedules/record.js";
import type { ScheduleView } from "../../src/domain/schedules/service.js";
import type { KnownBlock } from "../../src/slack/blocks/common.js";
import { LIMITS } from "../../src/slack/blocks/common.js";
import {
  platformLine,
  scheduleApprovalCard,
  scheduleList,
  scheduleNotice,
  upcomingSchedulesBlocks,
} from "../../src/slack/blocks/schedules.js";
import { scheduleOutput } from "../../src/slack/schedule-actions.js";

const record = (n: number, extra: Partial<ScheduleRecord> = {}): ScheduleRecord => ({
  id: n.toString(16).padStart(8, "0"),
  projectId: `p${n}`,
  projectName: `<!channel> shop ${n}`,
  targetUrl: "https://shop.example.com/?a=<b>",
  timing: { cadence: { kind: "daily" }, time: "02:00", timeZone: "Europe/Berlin" },
  channel: "C0SEC",
  createdBy: "U0CAROL",
  createdAt: n,
  changedBy: "U0CAROL",
  version: 1,
  approval: { status: "pending" },
  activeSince: 0,
  updatedAt: 0,
  ...extra,
});
const view = (schedule: ScheduleRecord): ScheduleView => ({
  schedule,
  words: "every day at 02:00 Europe/Berlin",
  next: { key: "2026-12-02T02:00", at: Date.parse("2026-12-02T01:00:00Z") },
  active: schedule.approval.status === "approved",
});

function withinLimits(blocks: KnownBlock[]) {
  assert.ok(blocks.length <= LIMITS.blocksPerMessage, `${blocks.length} blocks`);
  for (const block of blocks) {
    if (block.type === "section" && block.text) assert.ok(block.text.text.length <= LIMITS.sectionText);
    if (block.type === "actions") {
      for (const element of block.elements) {
        if ("value" in element && element.value) assert.ok(/^[A-Za-z0-9:_-]{1,100}$/.test(element.value));
      }
    }
  }
}

test("a long list stays inside 50 blocks and says how many more there are", () => {
  const views = Array.from({ length: 40 }, (_, i) => view(record(i + 1)));
  const list = scheduleList(views, [
    {
      projectName: "shop 1",
      schedules: [
        {
          frequency: "WEEKLY",
          interval: 2,
          time: "13:50",
          timezone: "America/New_York",
          weekday: "MONDAY",
          status: "ACTIVE",
        },
      ],
    },
    { projectName: "shop 2", schedules: [], problem: "platform schedules unavailable (timeout)" },
  ]);
  withinLimits(list.blocks);
  const text = JSON.stringify(list.blocks);
  assert.match(text, /and 25 more/);
  assert.match(text, /WEEKLY \(every 2\) on MONDAY at 13:50 America\/New_York · ACTIVE/);
  assert.match(text, /platform schedules unavailable/);
  assert.doesNotMatch(text, /<!channel>/, "names are escaped");
});

test("the approval card carries id:version on its buttons and loses them once decided", () => {
  const pending = scheduleApprovalCard(view(record(7)));
  withinLimits(pending.blocks);
  assert.match(JSON.stringify(pending.blocks), /"value":"00000007:1"/);
  const decided = scheduleApprovalCard(
    view(record(7, { approval: { status: "approved", by: "U0BOB", at: 1 } })),
  );
  assert.doesNotMatch(JSON.stringify(decided.blocks), /schedule_approve/);
  assert.match(JSON.stringify(decided.blocks), /Approved by <@U0BOB>/);
});

test("notices say what happened and what comes next, escaped", () => {
  const v = view(record(3, { approval: { status: "approved", by: "U0BOB", at: 1 } }));
  const changed = scheduleNotice(v, {
    kind: "target_changed",
    was: "https://a.example/",
    now: "https://<evil>/",
    approvalNeeded: true,
  });
  assert.match(
    changed.blocks.map((b) => JSON.stringify(b)).join(),
    /did not start[\s\S]*approver other than <@U0CAROL>/,
  );
  assert.doesNotMatch(JSON.stringify(changed.blocks), /<evil>/);
  const failed = scheduleNotice(v, { kind: "failed", attempts: 6, reason: "x".repeat(5000) });
  withinLimits(failed.blocks);
  assert.match(JSON.stringify(failed.blocks), /after 6 attempts/);
});

test("App Home shows the next runs in two blocks at most", () => {
  const blocks = upcomingSchedulesBlocks(Array.from({ length: 30 }, (_, i) => view(record(i))));
  assert.equal(blocks.length, 2);
  withinLimits(blocks);
  assert.match(JSON.stringify(blocks), /and 20 more/);
  assert.match(JSON.stringify(upcomingSchedulesBlocks([])), /No scans are scheduled/);
  assert.equal(
    platformLine({
      frequency: "MONTHLY",
      interval: 1,
      time: "01:00",
      timezone: "UTC",
      day: -1,
      status: "ACTIVE",
    }),
    "MONTHLY on day last at 01:00 UTC · ACTIVE",
  );
});

test("the Slack output posts request cards where approvers look and notices in the schedule's channel", async () => {
  const posted: string[] = [];
  const slack = {
    post: async (channel: string, message: { text: string }) => {
      posted.push(`${channel}: ${message.text}`);
      return { channel, ts: "1.1" };
    },
    update: async () => {},
    note: async (_ref: unknown, text: string) => {
      posted.push(`note: ${text}`);
    },
    linkTo: async () => "<https://slack.example/card|its card>",
  };
  const output = scheduleOutput(slack, "C0APPROVALS");
  const v = view(record(9));
  await output.requestApproval(v);
  await output.showApproval(view(record(9, { approval: { status: "denied", by: "U0BOB", at: 1 } })), {
    channel: "C0APPROVALS",
    ts: "1.1",
  });
  await output.notice(v, { kind: "project_deleted" });
  assert.deepEqual(posted, [
    "C0APPROVALS: Scheduled scan request for &lt;!channel&gt; shop 9: pending",
    "note: Schedule denied by <@U0BOB>.",
    "C0SEC: Schedule 00000009: project deleted",
  ]);
});
