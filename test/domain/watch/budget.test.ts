import assert from "node:assert/strict";
import { test } from "node:test";
import type { ScanRecord } from "../../../src/domain/scans.js";
import { RequestBudget } from "../../../src/domain/watch/index.js";
import { MIN, setup } from "./harness.js";

/** The request budget: its sliding window, and a tick held to it across scans. */

test("the request budget caps scanner calls per tick and in every 60 s window, oldest due first", async () => {
  const t = await setup({ maxRequestsPerMinute: 20, tickMs: 15_000 });
  const scans = [];
  for (let i = 0; i < 100; i++) {
    scans.push(t.scan("running"));
    await t.watcher.watch(scans[i] as ScanRecord);
    t.clock.advance(10); // distinct due times, in this order
  }
  const perTick: number[] = [];
  for (let i = 0; i < 40; i++) perTick.push((await t.tickAfter(15_000)).statusCalls);
  assert.ok(Math.max(...perTick) <= 5, `per tick: ${perTick}`);
  const times = t.scanner.calls.map((c) => c.at).sort((a, b) => a - b);
  for (let i = 0; i < times.length; i++) {
    const inWindow = times.filter(
      (at) => at >= (times[i] as number) && at < (times[i] as number) + MIN,
    ).length;
    assert.ok(inWindow <= 20, `${inWindow} calls within 60 s`);
  }
  // Fairness: the first 20 polls went to the 20 longest-due scans.
  const firstPolled = t.scanner.calls.slice(0, 20).map((c) => c.scanId);
  assert.deepEqual(
    firstPolled,
    scans.slice(0, 20).map((s) => s.scanId),
  );
  assert.ok(
    scans.every((s) => t.scanner.count("status", s.scanId) >= 1),
    "every scan got its turn",
  );
});

test("RequestBudget: a sliding 60 s window, saved and merged across instances", () => {
  const budget = new RequestBudget(3);
  const t0 = 1_000_000;
  assert.ok(budget.tryTake(t0));
  assert.ok(budget.tryTake(t0 + 10_000));
  assert.ok(budget.tryTake(t0 + 59_000));
  assert.equal(budget.tryTake(t0 + 59_999), false);
  assert.ok(budget.tryTake(t0 + 60_000), "the first request left the window");
  const other = new RequestBudget(3);
  other.load(budget.snapshot(t0 + 60_000));
  assert.equal(other.used(t0 + 60_000), 3);
  assert.equal(other.tryTake(t0 + 60_500), false);
});
