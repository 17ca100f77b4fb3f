import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { KeyvStoreAdapter } from "keyv";
import { openStore } from "../../src/store/index.js";
import { CachedReads, ReadCache } from "../../src/store/read-cache.js";

/** A backend that records its reads, and can hold one read until the test lets it answer. */
class RecordingBackend implements KeyvStoreAdapter {
  opts = { dialect: "test" };
  namespace: string | undefined;
  readonly rows = new Map<string, string>();
  reads = 0;
  hold: Promise<void> | undefined;
  failWrites = false;

  on() {
    return this;
  }
  async get(key: string): Promise<never> {
    this.reads++;
    const value = this.rows.get(key);
    await this.hold;
    return value as never;
  }
  async set(key: string, value: string): Promise<void> {
    if (this.failWrites) throw new Error("disk full");
    this.rows.set(key, value);
  }
  async delete(key: string): Promise<boolean> {
    return this.rows.delete(key);
  }
  async clear(): Promise<void> {
    this.rows.clear();
  }
  listings = 0;
  /** Between its rows, a listing waits for this (when set). */
  pause: (() => Promise<void>) | undefined;
  async *iterator(namespace?: string) {
    this.listings++;
    for (const [key, value] of [...this.rows]) {
      if (!key.startsWith(`${namespace}:`)) continue;
      await this.pause?.();
      yield [key, value];
    }
  }
}

async function listed(reads: CachedReads): Promise<string[]> {
  const out: string[] = [];
  for await (const [key, value] of reads.iterator()) out.push(`${key}=${value}`);
  return out;
}

test("a key read or written once is answered from memory, present or absent", async () => {
  const backend = new RecordingBackend();
  const reads = new CachedReads(backend, new ReadCache());
  backend.rows.set("k", "v1");
  assert.equal(await reads.get("k"), "v1");
  assert.equal(await reads.get("k"), "v1");
  assert.equal(await reads.get("missing"), undefined);
  assert.equal(await reads.has("missing"), false);
  assert.equal(backend.reads, 2);
  await reads.set("k", "v2");
  await reads.set("new", "n");
  assert.equal(await reads.get("k"), "v2");
  assert.equal(await reads.get("new"), "n");
  await reads.delete("k");
  assert.equal(await reads.get("k"), undefined);
  assert.equal(backend.reads, 2);
});

test("a read that was under way when the key was written does not bring the old value back", async () => {
  const backend = new RecordingBackend();
  const reads = new CachedReads(backend, new ReadCache());
  backend.rows.set("k", "old");
  let answer = () => {};
  backend.hold = new Promise((resolve) => {
    answer = resolve;
  });
  const slow = reads.get("k");
  await reads.set("k", "new");
  answer();
  assert.equal(await slow, "old");
  backend.hold = undefined;
  assert.equal(await reads.get("k"), "new");
});

test("a failed write leaves nothing known about the key: the next read asks the backend", async () => {
  const backend = new RecordingBackend();
  const reads = new CachedReads(backend, new ReadCache());
  await reads.set("k", "v1");
  backend.failWrites = true;
  await assert.rejects(reads.set("k", "v2"), /disk full/);
  assert.equal(await reads.get("k"), "v1");
  assert.equal(backend.reads, 1);
});

test("the cache keeps at most its budget of characters, dropping the oldest keys first", async () => {
  const cache = new ReadCache(30, 30);
  const backend = new RecordingBackend();
  const reads = new CachedReads(backend, cache);
  await reads.set("a", "x".repeat(10));
  await reads.set("b", "y".repeat(10));
  await reads.set("c", "z".repeat(10));
  assert.equal(cache.size, 2);
  assert.equal(cache.lookup("a"), undefined);
  assert.equal(await reads.get("a"), "x".repeat(10));
  assert.equal(backend.reads, 1);
  // Bigger than the whole budget: never kept, still stored.
  await reads.set("huge", "h".repeat(100));
  assert.equal(cache.lookup("huge"), undefined);
  assert.equal(await reads.get("huge"), "h".repeat(100));
});

test("SQLite through the cache: expiry, deletion and listing still hold", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "read-cache-"));
  const store = await openStore({ url: `sqlite://${dir}/bot.sqlite` });
  try {
    await store.set("scans", "1", { state: "running" }, 50);
    await store.set("scans", "2", { state: "queued" });
    assert.deepEqual(await store.get("scans", "1"), { state: "running" });
    // Each get is a fresh object: a caller changing what it got changes nothing stored.
    const got = await store.get<{ state: string }>("scans", "2");
    if (got) got.state = "changed";
    assert.deepEqual(await store.get("scans", "2"), { state: "queued" });
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(await store.get("scans", "1"), undefined);
    assert.deepEqual(await store.entries("scans"), [["2", { state: "queued" }]]);
    assert.equal(await store.add("scans", "2", { state: "other" }), false);
    assert.equal(await store.delete("scans", "2"), true);
    assert.equal(await store.get("scans", "2"), undefined);
    assert.equal(await store.add("scans", "2", { state: "again" }), true);
    assert.deepEqual(await store.get("scans", "2"), { state: "again" });
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("SQLite: every namespace on one connection still lists only its own records, all of them", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "read-cache-"));
  const store = await openStore({ url: `sqlite://${dir}/bot.sqlite` });
  try {
    for (let i = 0; i < 1200; i++) await store.set("watch", String(i), { i });
    await store.set("watch-due", "1", { due: 1 });
    await store.set("watches", "1", { other: true });
    const listed = await store.entries<{ i: number }>("watch");
    assert.equal(listed.length, 1200);
    assert.equal(new Set(listed.map(([, v]) => v.i)).size, 1200);
    assert.deepEqual(await store.entries("watch-due"), [["1", { due: 1 }]]);
    assert.deepEqual(await store.entries("watches"), [["1", { other: true }]]);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("a small namespace's listing is kept until its next write; one that saw a write under way is not", async () => {
  const backend = new RecordingBackend();
  const reads = new CachedReads(backend, new ReadCache());
  reads.namespace = "projects";
  backend.rows.set("projects:1", "a");
  backend.rows.set("other:1", "x");
  assert.deepEqual(await listed(reads), ["projects:1=a"]);
  assert.deepEqual(await listed(reads), ["projects:1=a"]);
  assert.equal(backend.listings, 1);
  await reads.set("projects:2", "b");
  assert.deepEqual(await listed(reads), ["projects:1=a", "projects:2=b"]);
  assert.equal(backend.listings, 2);
  // A write lands while a listing is between its rows: that listing is not kept.
  let once = true;
  backend.pause = async () => {
    if (!once) return;
    once = false;
    await reads.delete("projects:2");
  };
  await reads.set("projects:3", "c");
  await listed(reads);
  backend.pause = undefined;
  assert.deepEqual(await listed(reads), ["projects:1=a", "projects:3=c"]);
  assert.equal(backend.listings, 4);
});

test("a large namespace's listing is read from the backend every time", async () => {
  const backend = new RecordingBackend();
  const reads = new CachedReads(backend, new ReadCache());
  reads.namespace = "audit";
  for (let i = 0; i < 1001; i++) backend.rows.set(`audit:${i}`, "e");
  assert.equal((await listed(reads)).length, 1001);
  assert.equal((await listed(reads)).length, 1001);
  assert.equal(backend.listings, 2);
});

test("small values keep their own share of the budget: a flood of big records does not push them out", async () => {
  const cache = new ReadCache(1000, 100);
  const backend = new RecordingBackend();
  const reads = new CachedReads(backend, cache);
  await reads.set("due:1", "[1,2,3]");
  for (let i = 0; i < 50; i++) await reads.set(`watch:${i}`, "w".repeat(300));
  assert.equal(await reads.get("due:1"), "[1,2,3]");
  assert.equal(backend.reads, 0);
  // The big ones stay within their own budget, the oldest gone first.
  assert.equal(cache.lookup("watch:0"), undefined);
  assert.equal(cache.lookup("watch:49"), "w".repeat(300));
});
