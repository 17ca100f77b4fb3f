import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, test } from "node:test";
import { openStore } from "../../src/store/index.js";

const dir = mkdtempSync(path.join(tmpdir(), "chatops-wal-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("the SQLite store runs in WAL mode: writes append to the -wal file, readers see them", async () => {
  const file = path.join(dir, "wal.sqlite");
  const errors: unknown[] = [];
  const store = await openStore({ url: `sqlite://${file}`, onBackendError: (error) => errors.push(error) });
  try {
    await store.set("audit", "k1", { a: 1 });
    await store.set("scans", "k2", { b: 2 });
    assert.deepEqual(await store.get("audit", "k1"), { a: 1 });
    assert.ok(existsSync(`${file}-wal`), "a write-ahead log next to the database");
  } finally {
    await store.close();
  }
  const db = new DatabaseSync(file);
  try {
    assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
  } finally {
    db.close();
  }
  assert.deepEqual(errors, []);
});
