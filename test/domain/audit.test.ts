import assert from "node:assert/strict";
import { test } from "node:test";
import { AuditTrail, stripUserinfo } from "../../src/domain/audit.js";
import { ManualClock, MemoryStore } from "./memory-store.js";

function setup(options: { batchMs?: number; aggregateMs?: number } = {}) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const store = new MemoryStore(clock);
  const writes: unknown[] = [];
  const set = store.set.bind(store);
  store.set = async (namespace, key, value, ttl) => {
    if (namespace === "audit") writes.push(value);
    return set(namespace, key, value, ttl);
  };
  const audit = new AuditTrail(store, clock, { batchMs: 10_000, aggregateMs: 60_000, ...options });
  return { clock, store, writes, audit };
}

test("entries are batched: many records, one store write, flushed on demand and before a read", async () => {
  const { audit, writes, clock } = setup();
  for (let i = 0; i < 5; i++) {
    clock.advance(1);
    await audit.record({ user: "U1", action: "scan.start", target: `p${i}`, outcome: "ok" });
  }
  assert.equal(writes.length, 0, "nothing written inside the window");
  const page = await audit.query({ limit: 10 });
  assert.equal(writes.length, 1, "one multi-row write");
  assert.deepEqual(
    page.entries.map((e) => e.target),
    ["p4", "p3", "p2", "p1", "p0"],
  );
  await audit.flush();
  assert.equal(writes.length, 1, "an empty flush writes nothing");
});

test("the batch window flushes by itself", async () => {
  const { audit, writes } = setup({ batchMs: 20 });
  await audit.record({ user: "U1", action: "report", target: "x", outcome: "ok" });
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(writes.length, 1);
});

test("a failed write keeps the entries for the next flush", async () => {
  const { audit, store } = setup();
  await audit.record({ user: "U1", action: "report", target: "x", outcome: "ok" });
  store.failOnce("set", "audit");
  await assert.rejects(audit.flush());
  await audit.flush();
  assert.equal((await audit.query({ limit: 10 })).total, 1);
});

test("repeated refusals of one user become one entry per window, so real actions stay visible", async () => {
  const { audit, clock } = setup();
  await audit.record({ user: "U0ALICE", action: "scan.start", target: "shop", outcome: "ok" });
  for (let i = 0; i < 200; i++) {
    clock.advance(100);
    await audit.record({ user: "U0MALLORY", action: "scan.approve", target: `r${i}`, outcome: "denied" });
    if (i % 50 === 0) await audit.flush();
  }
  const { entries, total } = await audit.query({ limit: 10 });
  assert.equal(total, 2);
  const flood = entries.find((e) => e.user === "U0MALLORY");
  assert.equal(flood?.count, 200);
  assert.equal(flood?.target, "r199");
  assert.ok(
    entries.some((e) => e.user === "U0ALICE"),
    "the real action is still on the first page",
  );
  // After the window, a new refusal opens a new entry.
  clock.advance(60_000);
  await audit.record({ user: "U0MALLORY", action: "scan.approve", target: "again", outcome: "denied" });
  assert.equal((await audit.query({ limit: 10, user: "U0MALLORY" })).total, 2);
});

test("filters: user, action prefix, outcome; paging by offset", async () => {
  const { audit, clock } = setup();
  const rows = [
    ["U1", "scan.start", "ok"],
    ["U1", "scan.stop", "failed"],
    ["U2", "project.create", "ok"],
    ["U2", "scanner.thing", "ok"],
    ["U1", "report", "ok"],
  ] as const;
  for (const [user, action, outcome] of rows) {
    clock.advance(1000);
    await audit.record({ user, action, target: "t", outcome });
  }
  assert.equal(
    (await audit.query({ limit: 10, action: "scan" })).total,
    2,
    "scan matches scan.* only, not scanner.*",
  );
  assert.equal((await audit.query({ limit: 10, user: "U2" })).total, 2);
  assert.equal((await audit.query({ limit: 10, outcome: "failed" })).total, 1);
  const page2 = await audit.query({ limit: 2, offset: 2 });
  assert.deepEqual(
    page2.entries.map((e) => e.action),
    ["project.create", "scan.stop"],
  );
  assert.equal(page2.total, 5);
});

test("credentials in URLs are never stored: userinfo removed from target and detail", async () => {
  const { audit, store } = setup();
  await audit.record({
    user: "U1",
    action: "project create",
    target: "x https://bob:hunter2@shop.example.com/a ftp://only-user@h redis://:s3cret@db:6379",
    outcome: "refused",
    detail: "https://u:p4ss@x.example",
  });
  await audit.flush();
  const stored = JSON.stringify(await store.entries("audit"));
  for (const secret of ["hunter2", "bob:", "s3cret", "p4ss", "only-user"])
    assert.ok(!stored.includes(secret), secret);
  assert.match(stored, /https:\/\/shop\.example\.com\/a/);
  assert.equal(
    stripUserinfo("see https://a:b@c.example and http://d.example"),
    "see https://c.example and http://d.example",
  );
});

test("stripUserinfo is linear on hostile input", () => {
  const started = performance.now();
  stripUserinfo(`${"://".repeat(300_000)}${"a".repeat(1_000_000)}`);
  assert.ok(performance.now() - started < 1000);
});
