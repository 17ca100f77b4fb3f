import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../../../src/domain/errors.js";
import type { KeyValueStore } from "../../../src/domain/ports.js";
import type { WatchRecord } from "../../../src/domain/watch/index.js";
import { openStore } from "../../../src/store/index.js";
import { overStore } from "../../support/store.js";
import { cleanups, INTERVAL, setup } from "./harness.js";

/** The full watch record and its compact schedule record: what each poll reads, and records stored before. */

type Stored = [number, number, number, number, unknown?];

/** The schedule record of a scan: its namespace (one of watch-due-0..7) and value. */
async function scheduleOf(store: KeyValueStore, scanId: string): Promise<[string, Stored] | undefined> {
  for (let bucket = 0; bucket < 8; bucket++) {
    const ns = `watch-due-${bucket}`;
    const stored = await store.get<Stored>(ns, scanId);
    if (stored) return [ns, stored];
  }
  return undefined;
}

/**
 * A memory store whose write to `failOn` fails after `skip` others there, and that counts full-record
 * and schedule reads; `exclusive: false` makes it pass for a store other replicas write too.
 */
async function faultyStore({ exclusive = true } = {}) {
  const inner = await openStore({ url: "memory://" });
  cleanups.push(() => inner.close());
  const state = { failOn: undefined as RegExp | undefined, skip: 0, fullReads: 0, scheduleReads: 0 };
  const store = overStore(inner, {
    exclusive,
    get: (ns, key) => {
      if (ns === "watches") state.fullReads++;
      if (ns.startsWith("watch-due-")) state.scheduleReads++;
      return inner.get(ns, key);
    },
    set: (ns, key, value, ttl) => {
      if (state.failOn?.test(ns) && state.skip-- <= 0) {
        state.failOn = undefined;
        return Promise.reject(
          new AppError("store", "The bot's storage is not answering.", { retryable: true }),
        );
      }
      return inner.set(ns, key, value, ttl);
    },
  });
  return { store, state };
}

test("an unchanged poll of a quiet watch reads and writes only its schedule record", async () => {
  const { store, state } = await faultyStore();
  const t = await setup({}, store);
  const scan = t.scan("running");
  await t.watcher.watch(scan);
  await t.tickAfter(INTERVAL); // learns the raw code: the full record is read and saved
  const saved = await store.get<WatchRecord>("watches", scan.scanId);
  const reads = state.fullReads;
  for (let i = 0; i < 5; i++) await t.tickAfter(INTERVAL);
  assert.equal(t.scanner.count("status", scan.scanId), 6);
  assert.equal(state.fullReads, reads, "no full record read on unchanged polls");
  assert.deepEqual(await store.get<WatchRecord>("watches", scan.scanId), saved, "nor written");
  // What the record says merges the newer schedule.
  const lastPoll = t.scanner.calls.at(-1)?.at ?? 0;
  const watch = await t.watcher.getWatch(scan.scanId);
  assert.equal(watch?.lastPolledAt, lastPoll);
  assert.equal(watch?.nextPollAt, lastPoll + INTERVAL);
  // A change still goes through the full record, once.
  t.scanner.states.set(scan.scanId, "finished");
  await t.tickAfter(INTERVAL);
  assert.deepEqual(t.output.effects(scan.scanId), ["final", "summary", "file:pdf", "file:json"]);
});

for (const exclusive of [true, false]) {
  test(`a quiet poll reads its schedule ${exclusive ? "from what this process wrote, on a store only it writes" : "from the store, on one other replicas write"}`, async () => {
    const { store, state } = await faultyStore({ exclusive });
    const t = await setup({}, store);
    const scan = t.scan("running");
    await t.watcher.watch(scan);
    await t.tickAfter(INTERVAL);
    const reads = state.scheduleReads;
    for (let i = 0; i < 4; i++) await t.tickAfter(INTERVAL);
    assert.equal(t.scanner.count("status", scan.scanId), 5);
    assert.equal(state.scheduleReads - reads, exclusive ? 0 : 4);
    // A second watcher on the same store in this process (as after a restart of the watcher) goes on
    // from the same schedule.
    const other = t.make();
    await other.start();
    await t.tickAfter(INTERVAL, other);
    assert.equal(t.scanner.count("status", scan.scanId), 6);
    assert.equal((await other.getWatch(scan.scanId))?.lastPolledAt, t.clock.now());
  });
}

test("a schedule write that fails is not taken for what the store holds", async () => {
  const { store, state } = await faultyStore();
  const t = await setup({}, store);
  const scan = t.scan("running");
  await t.watcher.watch(scan);
  await t.tickAfter(INTERVAL);
  const before = (await scheduleOf(store, scan.scanId))?.[1];
  state.failOn = /^watch-due-/;
  await t.tickAfter(INTERVAL);
  assert.equal(state.failOn, undefined, "the quiet poll's schedule write failed");
  assert.deepEqual((await scheduleOf(store, scan.scanId))?.[1], before, "the store kept the older schedule");
  const reads = state.scheduleReads;
  // The next poll reads the schedule from the store; the watch is polled again, not lost.
  for (let i = 0; i < 4 && t.scanner.count("status") < 3; i++) await t.tickAfter(INTERVAL / 2);
  assert.equal(t.scanner.count("status"), 3);
  assert.ok(state.scheduleReads > reads);
});

test("schedule records stored before the quiet field (four fields) still load, poll on time and are rewritten", async () => {
  const t = await setup();
  const scan = t.scan("running");
  const watch = await t.watcher.watch(scan);
  const found = await scheduleOf(t.store, scan.scanId);
  assert.ok(found);
  const [ns, stored] = found;
  assert.equal(stored.length, 5);
  // As an older version wrote it: no fifth field; and a full record in the shape it had.
  await t.store.set(ns, scan.scanId, stored.slice(0, 4));
  const full = (await t.store.get<WatchRecord>("watches", scan.scanId)) as WatchRecord;
  await t.store.set("watches", scan.scanId, { ...full, projectName: "web-shop", card: scan.card });
  const restarted = t.make();
  assert.equal((await restarted.start()).active, 1);
  await t.tickAfter(INTERVAL - 1000, restarted);
  assert.equal(t.scanner.count("status"), 0, "not before its time");
  await t.tickAfter(1000, restarted);
  assert.equal(t.scanner.count("status"), 1);
  assert.equal(watch.nextPollAt, t.clock.now());
  assert.equal((await scheduleOf(t.store, scan.scanId))?.[1].length, 5, "rewritten in the new shape");
  t.scanner.states.set(scan.scanId, "finished");
  await t.tickAfter(INTERVAL, restarted);
  assert.deepEqual(t.output.effects(scan.scanId), ["final", "summary", "file:pdf", "file:json"]);
});

test("a schedule record never says quiet over a full record that is not, even when its own write fails", async () => {
  const { store, state } = await faultyStore();
  const t = await setup({}, store);
  const scan = t.scan("running");
  await t.watcher.watch(scan);
  await t.tickAfter(INTERVAL);
  assert.ok(Array.isArray((await scheduleOf(store, scan.scanId))?.[1][4]), "quiet after a clean poll");
  // A failed poll makes the watch not quiet; the schedule write after the full record's save fails
  // (as if the process died between the two writes). The one before the save goes through.
  t.scanner.failures.set(scan.scanId, [
    new AppError("unavailable", "Crashtest is having trouble right now.", { retryable: true }),
  ]);
  state.failOn = /^watch-due-/;
  state.skip = 1;
  await t.tickAfter(INTERVAL);
  assert.equal(state.failOn, undefined, "the second schedule write failed");
  const full = await store.get<WatchRecord>("watches", scan.scanId);
  assert.equal(full?.failures, 1);
  assert.equal((await scheduleOf(store, scan.scanId))?.[1][4], 0, "the schedule says: read the full record");
  // The next successful poll reads the full record and clears the failure there.
  for (let i = 0; i < 8 && t.scanner.count("status") < 3; i++) await t.tickAfter(INTERVAL / 2);
  assert.equal(t.scanner.count("status"), 3);
  const after = await store.get<WatchRecord>("watches", scan.scanId);
  assert.equal(after?.failures, 0);
  assert.equal(after?.lastError, undefined);
});
