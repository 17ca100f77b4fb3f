import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../../../src/domain/errors.js";
import type { KeyValueStore } from "../../../src/domain/ports.js";
import type { ScanRecord } from "../../../src/domain/scans.js";
import { DueIndex } from "../../../src/domain/watch/index.js";
import { openStore } from "../../../src/store/index.js";
import { overStore } from "../../support/store.js";
import { cleanups, INTERVAL, MIN, setup } from "./harness.js";

/** The due index: heap order, watches added on another replica, and what a tick asks of the store. */

test("DueIndex pops the most overdue first and skips stale entries", () => {
  const index = new DueIndex();
  index.set("a", 30);
  index.set("b", 10);
  index.set("c", 20);
  index.set("b", 40); // moved
  index.delete("c");
  assert.deepEqual(index.popDue(35), { id: "a", at: 30 });
  assert.equal(index.popDue(35), undefined);
  assert.deepEqual(index.popDue(40), { id: "b", at: 40 });
  assert.equal(index.size, 0);
  for (let i = 0; i < 5000; i++) index.set(`s${i % 100}`, i);
  assert.equal(index.size, 100);
  let last = -1;
  for (let item = index.popDue(1e9); item; item = index.popDue(1e9)) {
    assert.ok(item.at >= last);
    last = item.at;
  }
});

test("DueIndex pops exactly the live due entries, in order, after random moves, deletes and compactions", () => {
  const index = new DueIndex();
  const expected = new Map<string, number>();
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const base = Date.UTC(2026, 0, 5);
  for (let i = 0; i < 20_000; i++) {
    const id = `s${random(500)}`;
    if (random(10) === 0) {
      index.delete(id);
      expected.delete(id);
    } else {
      const at = base + random(100_000);
      index.set(id, at);
      expected.set(id, at);
    }
  }
  assert.equal(index.size, expected.size);
  const now = base + 50_000;
  const popped: Array<{ id: string; at: number }> = [];
  for (let item = index.popDue(now); item; item = index.popDue(now)) popped.push(item);
  const due = [...expected].filter(([, at]) => at <= now);
  assert.deepEqual(popped.map((p) => p.id).sort(), due.map(([id]) => id).sort());
  for (const { id, at } of popped) assert.equal(at, expected.get(id));
  for (let i = 1; i < popped.length; i++)
    assert.ok((popped[i] as { at: number }).at >= (popped[i - 1] as { at: number }).at);
  assert.equal(index.size, expected.size - due.length);
});

for (const exclusive of [true, false]) {
  test(`a watch added on another replica is picked up at the next tick without a full reload (${exclusive ? "in process, on a store only this process writes" : "by announcement"})`, async () => {
    const counted = await countingStore({ exclusive });
    const t = await setup({}, counted.store);
    const other = t.make();
    await t.watcher.tick(); // synced with an empty list
    const scan = t.scan("running");
    await other.watch(scan);
    await t.tickAfter(INTERVAL);
    assert.equal(t.scanner.count("status", scan.scanId), 1, "polled by the replica that did not create it");
    const announcements = [...counted.calls].filter(([key]) => key.endsWith(" watch-added"));
    if (exclusive) assert.deepEqual(announcements, [], "nothing announced through the store");
    else assert.ok(announcements.some(([key]) => key === "add watch-added"));
  });
}

/** A memory store that counts what the watcher asks of it, per operation and namespace. */
async function countingStore({ exclusive = true } = {}) {
  const inner = await openStore({ url: "memory://" });
  cleanups.push(() => inner.close());
  const calls = new Map<string, number>();
  const count = (op: string, ns: string) => {
    const key = `${op} ${ns.replace(/-\d+$/, "-*")}`;
    calls.set(key, (calls.get(key) ?? 0) + 1);
  };
  const counted = <T>(op: string, ns: string, result: T): T => {
    count(op, ns);
    return result;
  };
  const store: KeyValueStore = {
    ...inner,
    get: (ns, key) => counted("get", ns, inner.get(ns, key)),
    set: (ns, key, value, ttl) => counted("set", ns, inner.set(ns, key, value, ttl)),
    add: (ns, key, value, ttl) => counted("add", ns, inner.add(ns, key, value, ttl)),
    delete: (ns, key) => counted("delete", ns, inner.delete(ns, key)),
    entries: (ns) => counted("entries", ns, inner.entries(ns)),
    exclusive,
  };
  return { store, calls, reset: () => calls.clear() };
}

test("a tick never lists the watch records or the announcements; an unchanged poll writes only its schedule", async () => {
  const counted = await countingStore();
  const t = await setup({}, counted.store);
  const scans = Array.from({ length: 20 }, () => t.scan("running"));
  for (const scan of scans) await t.watcher.watch(scan);
  await t.watcher.start();
  counted.reset();
  // 20 minutes: every scan polled 10 times, nothing changes.
  for (let i = 0; i < 80; i++) await t.tickAfter(15_000);
  assert.equal(t.scanner.count("status"), 200);
  const calls = Object.fromEntries(counted.calls);
  assert.equal(calls["entries watches"], undefined, "the full records are not listed");
  assert.equal(calls["entries watch-added"], undefined, "announcements are read by key");
  // One slice of the schedule every resyncMs / 8 (75 s): 16 in 20 minutes.
  assert.equal(calls["entries watch-due-*"], 16);
  assert.equal(
    calls["set watches"],
    20,
    "only each first poll, which learns the raw code, rewrites the full record",
  );
  assert.equal(calls["set watch-due-*"], 200, "one schedule write per poll");
  // Announcement lookups: one per slot read (the slots since the last tick and four before).
  assert.ok((calls["get watch-added"] ?? 0) <= 80 * 7, JSON.stringify(calls));
  // The schedule read with the record is the one the tick polls by.
  const first = scans[0] as ScanRecord;
  const lastPoll = t.scanner.calls.filter((c) => c.scanId === first.scanId).at(-1)?.at ?? 0;
  assert.equal((await t.watcher.getWatch(first.scanId))?.nextPollAt, lastPoll + INTERVAL);
});

test("a watch whose announcement was lost is found by the schedule resync within resyncMs", async () => {
  const inner = await openStore({ url: "memory://" });
  cleanups.push(() => inner.close());
  const store = overStore(inner, {
    // Shared by other processes: only there are new watches announced through the store.
    exclusive: false,
    add: (ns, key, value, ttl) =>
      ns === "watch-added"
        ? Promise.reject(
            new AppError("store", "The bot's storage is not answering right now.", { retryable: true }),
          )
        : inner.add(ns, key, value, ttl),
  });
  const t = await setup({}, store);
  const other = t.make();
  await t.watcher.tick();
  const scan = t.scan("running");
  await other.watch(scan);
  assert.ok(t.logs.records().some((l) => String(l.msg).startsWith("new watch not announced")));
  let ticks = 0;
  while (t.scanner.count("status", scan.scanId) === 0 && ticks < 60) {
    ticks++;
    // Only this replica ticks: the other one never polls the scan itself.
    await t.tickAfter(15_000);
  }
  assert.equal(t.scanner.count("status", scan.scanId), 1);
  assert.ok(ticks * 15_000 <= 10 * MIN + INTERVAL, `found after ${ticks} ticks`);
});

test("on a store only this process writes, quiet polls do not wait for their schedule writes; a failed one is retried", async () => {
  const inner = await openStore({ url: "memory://" });
  cleanups.push(() => inner.close());
  let hold: Array<() => void> | undefined;
  let failNext = false;
  const store = overStore(inner, {
    set: async (ns, key, value, ttl) => {
      if (ns.startsWith("watch-due-") && hold) await new Promise<void>((resolve) => hold?.push(resolve));
      if (ns.startsWith("watch-due-") && failNext) {
        failNext = false;
        throw new AppError("store", "The bot's storage is not answering right now.", { retryable: true });
      }
      return inner.set(ns, key, value, ttl);
    },
  });
  const t = await setup({}, store);
  const scans = Array.from({ length: 20 }, () => t.scan("running"));
  for (const scan of scans) await t.watcher.watch(scan);
  await t.tickAfter(INTERVAL); // the first polls learn the raw code: every watch is quiet after
  assert.equal(t.scanner.count("status"), 20);

  hold = [];
  t.clock.advance(INTERVAL);
  let done = false;
  const tick = t.watcher.tick().then((report) => {
    done = true;
    return report;
  });
  for (let i = 0; i < 20 && t.scanner.count("status") < 40; i++) await new Promise((r) => setImmediate(r));
  // Eight workers: with each waiting for its write, only eight polls would have been made by now.
  assert.equal(t.scanner.count("status"), 40, "every due watch polled while the writes are held");
  assert.equal(done, false, "the tick ends only once its writes have landed");
  failNext = true;
  for (const release of hold) release();
  hold = undefined;
  const report = await tick;
  assert.equal(report.errors, 1);
  assert.ok(t.logs.records().some((l) => l.msg === "watch processing failed; retried on a later tick"));

  // The failed one is polled again at the next tick (its claim was released); the others are not due.
  const report2 = await t.tickAfter(15_000);
  assert.equal(report2.statusCalls, 1);
  assert.equal(report2.errors, 0);
  await t.tickAfter(INTERVAL);
  assert.equal(t.scanner.count("status"), 61);
});
