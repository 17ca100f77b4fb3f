import assert from "node:assert/strict";
import { test } from "node:test";
import type { ApprovalRequest } from "../../../src/domain/approval-record.js";
import { AppError } from "../../../src/domain/errors.js";
import type { DecisionRequest } from "../../../src/domain/findings/decision-record.js";
import type { SeverityCounts } from "../../../src/domain/findings/types.js";
import type { KeyValueStore } from "../../../src/domain/ports.js";
import { DigestLog, summarize } from "../../../src/domain/subscriptions/digest.js";
import { isUrgent, type ScanEvent, scanNoticeKind } from "../../../src/domain/subscriptions/matching.js";
import { type NoticeOutput, Outbox } from "../../../src/domain/subscriptions/outbox.js";
import { type Subscription, SubscriptionBook } from "../../../src/domain/subscriptions/records.js";
import { decisionEvent, NotificationRouter } from "../../../src/domain/subscriptions/routing.js";
import { openStore } from "../../../src/store/index.js";
import { captureLogger } from "../../support/logs.js";

const counts = (c: Partial<SeverityCounts>): SeverityCounts => ({
  critical: 0,
  high: 0,
  medium: 0,
  low: 0,
  info: 0,
  ...c,
});

const sub = (over: Partial<Subscription>): Subscription => ({
  id: "C1:all",
  channel: "C1",
  projectId: "*",
  projectName: "*",
  events: ["finished", "failed"],
  createdBy: "U1",
  createdAt: 0,
  updatedAt: 0,
  ...over,
});

const finished = (over: Partial<ScanEvent> = {}): ScanEvent => ({
  kind: "finished",
  scanId: "9",
  projectId: "p1",
  projectName: "web-shop",
  requestedBy: "U1",
  ...over,
});

/** A router over `store` with its book and outbox; `output` stands in for Slack. */
function routing(store: KeyValueStore, clock: { now(): number }, output: NoticeOutput = quietOutput) {
  const book = new SubscriptionBook(store);
  const logger = captureLogger().logger;
  const outbox = new Outbox({ store, clock, book, output, logger });
  const router = new NotificationRouter({ book, outbox, digests: new DigestLog(store), clock, logger });
  return { book, outbox, router };
}
const quietOutput: NoticeOutput = { deliver: async () => {}, delivered: async () => false };

test("which notice a scan event gives a subscription", () => {
  assert.equal(scanNoticeKind(sub({}), finished()), "finished");
  assert.equal(scanNoticeKind(sub({ projectId: "p2" }), finished()), undefined, "another project");
  assert.equal(scanNoticeKind(sub({}), finished({ kind: "started" })), undefined, "not asked for");
  assert.equal(scanNoticeKind(sub({}), finished({ kind: "stopped" })), undefined);
  // severity>=high keeps finished to scans with such findings, when their counts are known.
  const high = sub({ minSeverity: "high" });
  assert.equal(scanNoticeKind(high, finished({ counts: counts({ medium: 4 }) })), undefined);
  assert.equal(scanNoticeKind(high, finished({ counts: counts({ critical: 1 }) })), "finished");
  assert.equal(scanNoticeKind(high, finished()), "finished", "counts unknown: told anyway");
  // new-findings only for new ones at or above the threshold; finished otherwise, when asked for.
  const both = sub({ minSeverity: "high", events: ["finished", "new-findings"] });
  assert.equal(
    scanNoticeKind(both, finished({ counts: counts({ high: 1 }), newCounts: counts({ high: 1 }) })),
    "new-findings",
  );
  assert.equal(
    scanNoticeKind(both, finished({ counts: counts({ high: 1 }), newCounts: counts({ low: 3 }) })),
    "finished",
  );
  const onlyNew = sub({ events: ["new-findings"] });
  assert.equal(scanNoticeKind(onlyNew, finished({ newCounts: counts({}) })), undefined);
  assert.equal(scanNoticeKind(onlyNew, finished({ newCounts: counts({ info: 1 }) })), "new-findings");
  // Quiet hours: urgent kinds only when the channel asked for them.
  const notice = { kind: "failed" as const, key: "k", at: 0, projectId: "p1", projectName: "x" };
  assert.equal(isUrgent(notice, undefined), false);
  assert.equal(isUrgent(notice, { channel: "C1", timezone: "UTC", urgent: ["failed"], updatedAt: 0 }), true);
  const critical = { ...notice, kind: "new-findings" as const, newCounts: counts({ critical: 1 }) };
  assert.equal(
    isUrgent(critical, { channel: "C1", timezone: "UTC", urgent: ["failed"], updatedAt: 0 }),
    false,
  );
  assert.equal(
    isUrgent(critical, { channel: "C1", timezone: "UTC", urgent: ["critical"], updatedAt: 0 }),
    true,
  );
});

test("a finding decision request reaches approval subscribers, its end its requester, a withdrawal no one", async () => {
  const store = await openStore({ url: "memory://" });
  const { book, outbox, router } = routing(store, { now: () => 1000 });
  await book.save(sub({ id: "C1:all", events: ["approval"] }));
  const request: DecisionRequest = {
    id: "d1",
    projectId: "p1",
    projectName: "web-shop",
    fingerprint: "f".repeat(20),
    finding: { title: "Reflected XSS", severity: "high" },
    kind: "accepted",
    reason: "Behind the VPN only.",
    days: 30,
    requestedBy: "U0ALICE",
    channel: "C1",
    createdAt: 0,
    expiresAt: 5000,
    status: "pending",
  };
  for (const status of ["pending", "approved", "withdrawn"] as const) {
    const event = decisionEvent({ ...request, status, decidedBy: "U0BOB" });
    if (event) await router.approval(event);
  }
  const waiting = await outbox.waiting();
  assert.deepEqual(
    waiting.get("C1")?.map((n) => [n.kind, n.about?.kind, n.about?.title, n.by]),
    [["approval", "accepted", "Reflected XSS", undefined]],
  );
  assert.deepEqual(
    waiting.get("U0ALICE")?.map((n) => [n.kind, n.by]),
    [["approved", "U0BOB"]],
  );
  assert.equal(decisionEvent({ ...request, status: "withdrawn" }), undefined);
  assert.deepEqual(summarize(waiting.get("C1") ?? [], 0, 1).decisions, 1);
  await store.close();
});

test("a request that ran out unnoticed tells its requester once; decided ones are left alone", async () => {
  const store = await openStore({ url: "memory://" });
  let now = 10_000;
  const { outbox, router } = routing(store, { now: () => now });
  const request = (id: string, over: Partial<ApprovalRequest>): ApprovalRequest => ({
    id,
    projectId: "p1",
    projectName: "web-shop",
    targetUrl: "https://shop.example",
    requestedBy: "U0ALICE",
    channel: "C1",
    createdAt: 0,
    expiresAt: 5_000,
    status: "pending",
    ...over,
  });
  const requests = [
    request("a", {}),
    request("b", { status: "denied" }),
    request("c", { expiresAt: 20_000 }),
  ];
  assert.equal(await router.unnoticed(requests), 1);
  assert.equal(await router.unnoticed(requests), 1, "looked at again");
  assert.deepEqual(
    (await outbox.waiting()).get("U0ALICE")?.map((n) => `${n.kind}:${n.requestId}`),
    ["expired:a"],
    "queued once",
  );
  now = 30_000;
  await router.unnoticed(requests);
  assert.equal((await outbox.waiting()).get("U0ALICE")?.length, 2);
  await store.close();
});

test("a decision whose notice was lost reaches its requester once through the minute job, even after delivery", async () => {
  const store = await openStore({ url: "memory://" });
  let now = 1_000_000;
  const sent: string[] = [];
  const { outbox, router } = routing(
    store,
    { now: () => now },
    {
      deliver: async (destination, notices) => {
        for (const n of notices) sent.push(`${destination}:${n.kind}:${n.requestId}`);
      },
      delivered: async () => false,
    },
  );
  const approved: ApprovalRequest = {
    id: "r1",
    projectId: "p1",
    projectName: "web-shop",
    targetUrl: "https://shop.example",
    requestedBy: "U0ALICE",
    channel: "C1",
    createdAt: 0,
    expiresAt: now + 60_000,
    status: "approved",
    decidedBy: "U0BOB",
    decidedAt: now - 5_000,
  };
  const old: ApprovalRequest = { ...approved, id: "r0", decidedAt: now - 2 * 86_400_000 };
  const withdrawn: ApprovalRequest = { ...approved, id: "r2", status: "withdrawn" };
  // The live routing never happened (the process stopped after the decision was saved).
  assert.equal(await router.unnoticed([approved, old, withdrawn]), 1);
  await outbox.drain();
  assert.deepEqual(sent, ["U0ALICE:approved:r1"]);
  now += 60_000;
  await router.unnoticed([approved, old, withdrawn]);
  await outbox.drain();
  assert.deepEqual(sent, ["U0ALICE:approved:r1"], "told once, not every minute");
  await store.close();
});

test("a destination Slack refuses for good is dropped with an error; one that may pass later waits", async () => {
  const store = await openStore({ url: "memory://" });
  let now = 10_000;
  const clock = { now: () => now };
  const book = new SubscriptionBook(store);
  const logs = captureLogger();
  const posted: string[] = [];
  const output = {
    async deliver(destination: string) {
      if (destination === "C0GONE") throw new AppError("not_found", "channel_not_found");
      if (destination === "C0FLAKY" && posted.length === 0) {
        posted.push("flaky-failed");
        throw new AppError("unavailable", "Slack is down", { retryable: true });
      }
      posted.push(destination);
    },
    delivered: async () => false,
  };
  const outbox = new Outbox({ store, clock, book, output, logger: logs.logger });
  const notice = { kind: "finished" as const, key: "k1", at: 0, projectId: "p", projectName: "x" };
  await outbox.enqueue("C0GONE", notice);
  await outbox.enqueue("C0FLAKY", notice);
  await outbox.drain();
  assert.deepEqual([...(await outbox.waiting()).keys()], ["C0FLAKY"]);
  assert.match(logs.text(), /notification refused for good; dropped/);
  now += 1000;
  await outbox.drain();
  assert.deepEqual(posted, ["flaky-failed", "C0FLAKY"]);
  assert.equal((await outbox.waiting()).size, 0);
  // A scan started by a schedule (no person) is told to channels only.
  const router = new NotificationRouter({
    book,
    outbox,
    digests: new DigestLog(store),
    clock,
    logger: logs.logger,
  });
  assert.equal(await router.scan({ ...finished(), requestedBy: "schedule:nightly" }), 0);
  assert.equal(await router.scan({ ...finished(), requestedBy: "U0ALICE" }), 1);
  await store.close();
});

test("a batch left by a crash in a channel the bot was removed from is dropped, not looked up forever", async () => {
  const store = await openStore({ url: "memory://" });
  let now = 10_000;
  const clock = { now: () => now };
  const book = new SubscriptionBook(store);
  const logs = captureLogger();
  let removed = false;
  let posts = 0;
  const output = {
    async deliver() {
      posts++;
      if (!removed) throw new AppError("unavailable", "connection reset", { retryable: true });
    },
    async delivered() {
      if (removed) throw new AppError("permission", "not_in_channel");
      return false;
    },
  };
  const outbox = new Outbox({ store, clock, book, output, logger: logs.logger });
  await outbox.enqueue("C0LEFT", { kind: "failed", key: "k", at: 0, projectId: "p", projectName: "x" });
  await outbox.drain();
  assert.equal(posts, 1, "the batch is open");
  removed = true;
  now += 1000;
  await outbox.drain();
  assert.equal((await outbox.waiting()).size, 0);
  assert.deepEqual(await store.entries("notify-batches"), []);
  assert.match(logs.text(), /notification refused for good; dropped/);
  await store.close();
});

test("an idle outbox pass reads two small records and lists nothing; a new notice or a quiet window's end makes it look", async () => {
  const inner = await openStore({ url: "memory://" });
  let listings = 0;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      if (property === "entries") {
        return (namespace: string) => {
          listings++;
          return target.entries(namespace);
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
  let now = Date.UTC(2026, 0, 5, 21, 0);
  const clock = { now: () => now };
  const book = new SubscriptionBook(store);
  const posted: string[] = [];
  const output = { deliver: async (d: string) => void posted.push(d), delivered: async () => false };
  const outbox = new Outbox({ store, clock, book, output, logger: captureLogger().logger });
  await outbox.drain();
  const first = listings;
  now += 1000;
  await outbox.drain();
  now += 60_000;
  await outbox.drain();
  assert.equal(listings, first, "nothing queued: no listing");
  await book.saveChannel({
    channel: "C0Q",
    timezone: "UTC",
    quiet: { from: 21 * 60 + 30, to: 22 * 60 },
    updatedAt: 0,
  });
  now = Date.UTC(2026, 0, 5, 21, 40);
  await outbox.enqueue("C0Q", { kind: "finished", key: "k", at: now, projectId: "p", projectName: "x" });
  await outbox.drain();
  assert.ok(listings > first, "a new notice is looked at");
  assert.deepEqual(posted, [], "held by quiet hours");
  // One more look (the clock-skew margin after the notice was queued), then once a minute.
  now += 10_000;
  await outbox.drain();
  const held = listings;
  for (let i = 0; i < 5; i++) {
    now += 1000;
    await outbox.drain();
  }
  assert.equal(listings, held, "held: not listed every second");
  now = Date.UTC(2026, 0, 5, 22, 0, 30);
  await outbox.drain();
  assert.deepEqual(posted, ["C0Q"], "released when the window ends");
  await inner.close();
});
