import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type TestContext, test } from "node:test";
import KeyvSqlite from "@keyv/sqlite";
import { openStore } from "../../src/store/index.js";
import { GroupedWrites, type SqliteAdapter } from "../../src/store/sqlite-writes.js";

/** A real @keyv/sqlite adapter on a fresh file, its statements counted, and one way to make them fail. */
async function sqlite(t: TestContext) {
  const dir = await mkdtemp(path.join(tmpdir(), "sqlite-writes-"));
  const adapter = new KeyvSqlite({ uri: `sqlite://${dir}/bot.sqlite` }) as unknown as SqliteAdapter;
  const query = adapter.query.bind(adapter);
  t.after(async () => {
    await adapter.disconnect?.();
    await rm(dir, { recursive: true, force: true });
  });
  const counts = { inserts: 0, statements: 0 };
  let failNext = false;
  adapter.query = (sql: string, ...parameters: unknown[]) => {
    counts.statements++;
    if (sql.startsWith("INSERT")) {
      counts.inserts++;
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error("SQLITE_FULL: database or disk is full"));
      }
    }
    return query(sql, ...parameters);
  };
  return {
    dir,
    adapter,
    counts,
    failNextInsert: () => {
      failNext = true;
    },
  };
}

test("sets made together are committed in one statement, each resolving once it is in the file", async (t) => {
  const db = await sqlite(t);
  const writes = new GroupedWrites(db.adapter);
  await Promise.all(Array.from({ length: 8 }, (_, i) => writes.set(`k${i}`, `v${i}`)));
  assert.equal(db.counts.inserts, 1);
  // Read from the file itself, past the adapter's pending rows.
  for (let i = 0; i < 8; i++) assert.equal(await db.adapter.get(`k${i}`), `v${i}`);
  // Sets made while a statement runs go out together as the next one.
  const first = writes.set("a", "1");
  await new Promise((resolve) => setImmediate(resolve));
  const later = [writes.set("b", "2"), writes.set("c", "3"), writes.set("a", "4")];
  await Promise.all([first, ...later]);
  assert.equal(db.counts.inserts, 3);
  assert.equal(await db.adapter.get("a"), "4");
  assert.equal(await db.adapter.get("c"), "3");
});

test("the last set of a key wins; gets, deletes and listings see every set made before them", async (t) => {
  const db = await sqlite(t);
  const writes = new GroupedWrites(db.adapter);
  const sets = [writes.set("x", "old"), writes.set("x", "new")];
  // Not committed yet: a get waits for the commit.
  assert.equal(await writes.get("x"), "new");
  assert.equal(db.counts.inserts, 1);
  await Promise.all(sets);
  assert.equal(await db.adapter.get("x"), "new");

  const pending = writes.set("gone", "soon");
  assert.equal(await writes.delete("gone"), true);
  await pending;
  assert.equal(await db.adapter.get("gone"), undefined);

  writes.set("listed:1", "one");
  const rows: unknown[] = [];
  for await (const row of writes.iterator("listed")) rows.push(row);
  assert.deepEqual(rows, [["listed:1", "one"]]);
});

test("a delete is one statement and says whether there was a row", async (t) => {
  const db = await sqlite(t);
  const writes = new GroupedWrites(db.adapter);
  await writes.set("k", "v");
  const before = db.counts.statements;
  assert.equal(await writes.delete("k"), true);
  assert.equal(db.counts.statements - before, 1);
  assert.equal(await db.adapter.get("k"), undefined);
  assert.equal(await writes.delete("k"), false);
  assert.equal(await writes.delete("never"), false);
});

test("a failed statement fails only its own sets, and the next ones are written", async (t) => {
  const db = await sqlite(t);
  const writes = new GroupedWrites(db.adapter);
  db.failNextInsert();
  const failed = [writes.set("f1", "a"), writes.set("f2", "b")];
  // A get made meanwhile answers what the file has, not the row that failed.
  assert.equal(await writes.get("f1"), undefined);
  for (const set of failed) await assert.rejects(set, /SQLITE_FULL/);
  await writes.set("ok", "c");
  assert.equal(await db.adapter.get("ok"), "c");
  assert.equal(await db.adapter.get("f1"), undefined);
});

test("more sets than one statement takes are all committed, in several statements", async (t) => {
  const db = await sqlite(t);
  const writes = new GroupedWrites(db.adapter);
  await Promise.all(Array.from({ length: 1201 }, (_, i) => writes.set(`k${i}`, String(i))));
  assert.equal(db.counts.inserts, 3);
  assert.equal(await db.adapter.get("k0"), "0");
  assert.equal(await db.adapter.get("k1200"), "1200");
});

test("the SQLite store commits concurrent writes together and has them all after close and reopen", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "sqlite-writes-"));
  const url = `sqlite://${dir}/bot.sqlite`;
  try {
    const store = await openStore({ url });
    // Not awaited before close: close waits for every write made before it.
    const writes = Array.from({ length: 50 }, (_, i) => store.set("watch-due-1", String(i), [i, i + 1]));
    await store.close();
    await Promise.all(writes);
    const again = await openStore({ url });
    try {
      assert.equal((await again.entries("watch-due-1")).length, 50);
      assert.deepEqual(await again.get("watch-due-1", "49"), [49, 50]);
    } finally {
      await again.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a listing waits for the sets made before it, not for those that keep coming after", async (t) => {
  const db = await sqlite(t);
  const writes = new GroupedWrites(db.adapter);
  await writes.set("l:0", "0");
  writes.set("l:1", "1");
  // A writer that never pauses, as the watcher's tick at 10,000 scans nearly is.
  let writing = true;
  let written = 0;
  const writer = (async () => {
    for (; writing && written < 5000; written++) await writes.set(`w:${written}`, String(written));
  })();
  const rows: unknown[] = [];
  for await (const row of writes.iterator("l")) rows.push(row);
  // The listing ended while the writer still wrote (it used to wait for a pause that never came).
  assert.ok(written < 5000, `the listing waited for ${written} later sets`);
  writing = false;
  await writer;
  assert.deepEqual(rows, [
    ["l:0", "0"],
    ["l:1", "1"],
  ]);
});
