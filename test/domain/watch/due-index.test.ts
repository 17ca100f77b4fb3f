import assert from "node:assert/strict";
import { test } from "node:test";
import { DueIndex } from "../../../src/domain/watch/index.js";
import { INTERVAL, setup } from "./harness.js";

/** The due index: heap order, and watches added on another replica. */

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

test("a watch added on another replica is picked up at the next tick without a full reload", async () => {
  const t = await setup();
  const other = t.make();
  await t.watcher.tick(); // synced with an empty list
  const scan = t.scan("running");
  await other.watch(scan);
  await t.tickAfter(INTERVAL);
  assert.equal(t.scanner.count("status", scan.scanId), 1, "polled by the replica that did not create it");
});
