import assert from "node:assert/strict";
import { test } from "node:test";
import { nodeCronSyntax, scheduleJobs } from "../../src/scheduler/schedule-job.js";
import { openStore } from "../../src/store/index.js";
import { ManualClock } from "../domain/memory-store.js";
import { scheduleRig } from "../domain/schedules/rig.js";
import { captureLogger } from "../support/logs.js";
import { MemoryScanner } from "../support/memory-scanner.js";

test("node-cron's validator is the domain's cron syntax", () => {
  assert.deepEqual(nodeCronSyntax.parse("0 2 * * MON"), {
    fields: {
      minute: [0],
      hour: [2],
      dayOfMonth: Array.from({ length: 31 }, (_, i) => i + 1),
      month: Array.from({ length: 12 }, (_, i) => i + 1),
      dayOfWeek: [1],
    },
  });
  const bad = nodeCronSyntax.parse("61 * * * *");
  assert.ok("problem" in bad && /minute/.test(bad.problem), JSON.stringify(bad));
});

test("at start: a node-cron task per unpaused schedule, then the missed run; stop leaves none", async (t) => {
  const clock = new ManualClock(Date.parse("2026-12-01T12:00:00Z"));
  const store = await openStore({ url: "memory://" });
  const scanner = new MemoryScanner();
  const rig = scheduleRig({ store, clock, scanner, requireApproval: false });
  await rig.projects.create("UOPS", "CSEC", { name: "web-shop", url: "https://shop.example.com/" });
  await rig.schedules.create("UOPS", "CSEC", "web-shop", ["daily", "at", "03:00", "tz=Europe/Berlin"]);
  const paused = await rig.schedules.create("UOPS", "CSEC", "web-shop", ["weekly", "friday"]);
  await rig.schedules.pause("UOPS", "CSEC", paused.schedule.id);
  clock.set(Date.parse("2026-12-03T12:00:00Z"));
  const logs = captureLogger();
  const jobs = scheduleJobs({ runner: rig.runner, book: rig.book, logger: logs.logger });
  assert.equal(jobs.job.cron, "* * * * *");
  await jobs.start();
  t.after(() => jobs.stop());
  assert.equal(
    scanner.calls.filter((c) => c.startsWith("startScan")).length,
    1,
    "the missed 03:00 run, once",
  );
  const started = logs.records().find((r) => r.msg === "schedules started");
  assert.equal(started?.tasks, 1, "the paused schedule has no task");
  await jobs.stop();
  await jobs.start();
  assert.equal(
    logs.records().filter((r) => r.msg === "schedules started").length,
    1,
    "a stopped set stays stopped",
  );
  await store.close();
});
