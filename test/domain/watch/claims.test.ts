import assert from "node:assert/strict";
import { test } from "node:test";
import type { ScanRecord } from "../../../src/domain/scans.js";
import { setup } from "./harness.js";

/** Poll claims between replicas: two watchers on one store never poll a scan twice. */

test("two instances on one store: concurrent ticks never poll a scan twice", async () => {
  const t = await setup({ maxRequestsPerMinute: 1000 });
  const other = t.make();
  t.scanner.delayMs = 2;
  const scans = [];
  for (let i = 0; i < 30; i++) {
    scans.push(t.scan("running"));
    await (i % 2 ? t.watcher : other).watch(scans[i] as ScanRecord);
  }
  let contended = 0;
  for (let i = 0; i < 40; i++) {
    t.clock.advance(15_000);
    const reports = await Promise.all([t.watcher.tick(), other.tick(), t.watcher.tick()]);
    contended += reports.reduce((n, r) => n + r.contended, 0);
    assert.ok(reports[2]?.skipped, "a second tick of the same instance is skipped while one runs");
  }
  assert.ok(contended > 0);
  // 10 minutes: polls at 2, 4, 6, 8, 10 min.
  for (const scan of scans) assert.equal(t.scanner.count("status", scan.scanId), 5, `scan ${scan.scanId}`);
});
