import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { AppError } from "../../../src/domain/errors.js";
import type { KeyValueStore } from "../../../src/domain/ports.js";
import { renderParts } from "../../../src/slack/errors.js";
import { openStore } from "../../../src/store/index.js";
import { MemoryScanner } from "../../support/memory-scanner.js";
import { ManualClock } from "../memory-store.js";
import { scheduleRig } from "./rig.js";

let clock: ManualClock;
let store: KeyValueStore;
let rig: ReturnType<typeof scheduleRig>;

beforeEach(async () => {
  clock = new ManualClock(Date.parse("2026-12-01T12:00:00Z"));
  store = await openStore({ url: "memory://" });
  rig = scheduleRig({ store, clock, scanner: new MemoryScanner() });
  await rig.projects.create("UOPS", "CSEC", { name: "web-shop", url: "https://shop.example.com/" });
  await rig.projects.create("UOPS", "CSEC", { name: "blog", url: "https://blog.example.com/" });
});

async function refusal(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError);
    return { kind: error.kind, message: renderParts(error.parts) };
  }
  assert.fail("expected a refusal");
}

test("a schedule needs a second person's approval; self-approval and non-approvers are refused", async () => {
  const { schedule } = await rig.schedules.create("UALICE", "CSEC", "web-shop", ["daily"]);
  assert.equal(schedule.approval.status, "pending");
  assert.deepEqual(rig.said, [`approval card ${schedule.id} v1`]);
  const self = await refusal(rig.schedules.decide(`${schedule.id}:1`, "UALICE", "approve", "CSEC"));
  assert.equal(self.kind, "permission");
  assert.match(self.message, /cannot approve your own schedule/);
  const operator = await refusal(rig.schedules.decide(`${schedule.id}:1`, "UOPS", "approve", "CSEC"));
  assert.equal(operator.kind, "permission");
  const approved = await rig.schedules.decide(`${schedule.id}:1`, "UBOB", "approve", "CSEC");
  assert.equal(approved.approval.status, "approved");
  assert.ok(rig.schedules.view(approved).active);
  const late = await refusal(rig.schedules.decide(`${schedule.id}:1`, "UADMIN", "deny", "CSEC"));
  assert.match(late.message, /already approved by <@UBOB>/);
  const entries = (await rig.audit.query({ action: "schedule", limit: 50 })).entries.map(
    (e) => `${e.action} ${e.user}`,
  );
  assert.deepEqual(entries.sort(), ["schedule.approve UBOB", "schedule.create UALICE"]);
});

test("two approvers at once: the first decision wins", async () => {
  const { schedule } = await rig.schedules.create("UOPS", "CSEC", "web-shop", ["daily"]);
  const results = await Promise.allSettled([
    rig.schedules.decide(`${schedule.id}:1`, "UALICE", "approve", "CSEC"),
    rig.schedules.decide(`${schedule.id}:1`, "UBOB", "deny", "CSEC"),
  ]);
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  assert.equal(results.filter((r) => r.status === "rejected").length, 1);
});

test("a change of time or project is a new version that needs approval again; the old card is void", async () => {
  const { schedule } = await rig.schedules.create("UOPS", "CSEC", "web-shop", ["daily"]);
  await rig.schedules.decide(`${schedule.id}:1`, "UALICE", "approve", "CSEC");
  const same = await refusal(rig.schedules.change("UOPS", "CSEC", schedule.id, "web-shop", ["daily"]));
  assert.match(same.message, /nothing changed/);
  const moved = await rig.schedules.change("UOPS", "CSEC", schedule.id, "web-shop", ["daily", "at", "04:00"]);
  assert.deepEqual(
    [moved.schedule.version, moved.schedule.approval.status, moved.active],
    [2, "pending", false],
  );
  const stale = await refusal(rig.schedules.decide(`${schedule.id}:1`, "UBOB", "approve", "CSEC"));
  assert.match(stale.message, /changed after this request/);
  await rig.schedules.decide(`${schedule.id}:2`, "UBOB", "approve", "CSEC");
  const other = await rig.schedules.change("UALICE", "CSEC", schedule.id, "blog", ["daily", "at", "04:00"]);
  assert.deepEqual([other.schedule.projectName, other.schedule.approval.status], ["blog", "pending"]);
  // Who made the change cannot approve it, even an approver.
  const self = await refusal(rig.schedules.decide(`${schedule.id}:3`, "UALICE", "approve", "CSEC"));
  assert.equal(self.kind, "permission");
});

test("the requester may withdraw; a deleted project or a changed target cannot be approved", async () => {
  const first = await rig.schedules.create("UOPS", "CSEC", "web-shop", ["daily"]);
  const withdrawn = await rig.schedules.decide(`${first.schedule.id}:1`, "UOPS", "deny", "CSEC");
  assert.equal(withdrawn.approval.status, "withdrawn");
  const second = await rig.schedules.create("UOPS", "CSEC", "web-shop", ["weekly", "monday"]);
  await rig.retarget(await rig.registry.resolve("web-shop"), "https://elsewhere.example.org/");
  const changed = await refusal(rig.schedules.decide(`${second.schedule.id}:1`, "UALICE", "approve", "CSEC"));
  assert.match(changed.message, /target of web-shop changed/);
});

test("without REQUIRE_APPROVAL a schedule is active at once; pause, resume and delete are audited", async () => {
  const open = scheduleRig({ store, clock, scanner: new MemoryScanner(), requireApproval: false });
  const view = await open.schedules.create("UOPS", "CSEC", "web-shop", ["0 2 * * 1", "tz=Europe/Berlin"]);
  assert.deepEqual([view.schedule.approval.status, view.active], ["not_required", true]);
  assert.equal(view.words, "every Monday at 02:00 Europe/Berlin");
  assert.equal(view.next?.key, "2026-12-07T02:00");
  assert.ok((await open.schedules.pause("UOPS", "CSEC", view.schedule.id)).paused);
  assert.equal((await open.schedules.upcoming(5)).length, 0);
  await open.schedules.resume("UOPS", "CSEC", view.schedule.id);
  assert.equal((await open.schedules.upcoming(5))[0]?.schedule.id, view.schedule.id);
  await open.schedules.delete("UOPS", "CSEC", view.schedule.id);
  const gone = await refusal(open.schedules.get(view.schedule.id));
  assert.equal(gone.kind, "not_found");
  const actions = (await open.audit.query({ action: "schedule", limit: 50 })).entries
    .map((e) => e.action)
    .sort();
  assert.deepEqual(actions, ["schedule.create", "schedule.delete", "schedule.pause", "schedule.resume"]);
});

test("viewers list schedules; those who may not start scans cannot make one", async () => {
  await rig.schedules.create("UOPS", "CSEC", "web-shop", ["daily"]);
  await rig.schedules.create("UOPS", "CSEC", "blog", ["daily"]);
  assert.equal((await rig.schedules.list("UOPS", "CSEC")).length, 2);
  assert.equal((await rig.schedules.list("UOPS", "CSEC", "blog")).length, 1);
  const stranger = await refusal(rig.schedules.create("USTRANGER", "CSEC", "web-shop", ["daily"]));
  assert.equal(stranger.kind, "permission");
});
