import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../../../src/domain/errors.js";
import type { WatchRecord } from "../../../src/domain/watch/index.js";
import { INTERVAL, MIN, setup } from "./harness.js";

/** Polling and backoff: poll spacing and jitter, bounded concurrency, failures, Retry-After, giving up. */

test("polls are an interval apart, spread by jitter, and the first comes an interval after the start", async () => {
  let seed = 1;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return (seed - 1) / 2147483646;
  };
  const t = await setup({ random, jitterRatio: 0.1, tickMs: 5_000, maxRequestsPerMinute: 10_000 });
  const start = t.clock.now();
  const records: WatchRecord[] = [];
  for (let i = 0; i < 400; i++) records.push(await t.watcher.watch(t.scan("running")));
  const delays = records.map((r) => r.nextPollAt - start);
  assert.ok(delays.every((d) => d >= INTERVAL && d < INTERVAL * 1.1));
  // Spread over the jitter window instead of one instant.
  assert.ok(new Set(delays.map((d) => Math.floor(d / 1000))).size > 10);
  // Each scan's own polls stay at least an interval apart whatever the tick rate.
  for (let i = 0; i < 80; i++) await t.tickAfter(5_000);
  for (const record of records.slice(0, 20)) {
    const times = t.scanner.calls.filter((c) => c.scanId === record.scanId).map((c) => c.at);
    assert.ok(times.length >= 2);
    for (let k = 1; k < times.length; k++)
      assert.ok((times[k] as number) - (times[k - 1] as number) >= INTERVAL);
  }
});

test("work within a tick runs with bounded concurrency", async () => {
  const t = await setup({ concurrency: 3, maxRequestsPerMinute: 1000 });
  t.scanner.delayMs = 5;
  for (let i = 0; i < 20; i++) await t.watcher.watch(t.scan("running"));
  const report = await t.tickAfter(INTERVAL + 1000);
  assert.equal(report.statusCalls, 20);
  assert.equal(t.scanner.maxInFlight, 3);
});

test("transient failures back off (an interval, doubling, capped) and give up after 5 retries with one notice", async () => {
  const t = await setup({ maxBackoffMs: 15 * MIN });
  const scan = t.scan("running");
  await t.watcher.watch(scan);
  const failure = () =>
    new AppError("unavailable", "Crashtest is having trouble right now.", { retryable: true });
  t.scanner.failures.set(scan.scanId, Array.from({ length: 6 }, failure));
  for (let i = 0; i < 60 * 4; i++) await t.tickAfter(15_000);
  const times = t.scanner.calls.map((c) => c.at - (t.scanner.calls[0]?.at ?? 0));
  assert.deepEqual(
    times.map((ms) => ms / MIN),
    [0, 2, 6, 14, 29, 44],
  );
  assert.deepEqual(t.output.effects(scan.scanId), ["watch_failed"]);
  assert.deepEqual(t.output.notices(scan.scanId)[0], {
    kind: "watch_failed",
    reason: "Crashtest is having trouble right now.",
    attempts: 6,
  });
  const record = (await t.watcher.getWatch(scan.scanId)) as WatchRecord;
  assert.equal(record.outcome, "watch_failed");
  assert.equal(t.output.deliveries.filter((d) => d.kind === "card").length, 1, "the card gets its note");

  // watch() again (what `scan status` does) resumes it; nothing already posted is repeated.
  const resumed = await t.watcher.watch(scan);
  assert.equal(resumed.phase, "polling");
  assert.equal(resumed.attaches, 1);
  t.scanner.states.set(scan.scanId, "finished");
  for (let i = 0; i < 12; i++) await t.tickAfter(15_000);
  assert.deepEqual(t.output.effects(scan.scanId), [
    "watch_failed",
    "final",
    "summary",
    "file:pdf",
    "file:json",
  ]);
});

test("a Retry-After longer than the backoff is respected", async () => {
  const t = await setup();
  const scan = t.scan("running");
  await t.watcher.watch(scan);
  t.scanner.failures.set(scan.scanId, [
    new AppError("rate_limited", "Crashtest is rate-limiting the bot.", {
      retryable: true,
      retryAfterMs: 10 * MIN,
    }),
  ]);
  await t.tickAfter(INTERVAL);
  assert.equal((await t.watcher.getWatch(scan.scanId))?.nextPollAt, t.clock.now() + 10 * MIN);
});

test("a non-retryable scanner error gives up at once; not_found ends the watch as gone", async () => {
  const t = await setup();
  const auth = t.scan("running");
  const gone = t.scan("running");
  await t.watcher.watch(auth);
  await t.watcher.watch(gone);
  t.scanner.failures.set(auth.scanId, [new AppError("auth", "Crashtest refused the credentials.")]);
  t.scanner.states.delete(gone.scanId);
  await t.tickAfter(INTERVAL);
  assert.deepEqual(t.output.notices(auth.scanId), [
    { kind: "watch_failed", reason: "Crashtest refused the credentials.", attempts: 1 },
  ]);
  assert.deepEqual(t.output.notices(gone.scanId), [
    { kind: "gone", reason: `Crashtest does not know scan ${gone.scanId}.` },
  ]);
  assert.equal((await t.watcher.getWatch(gone.scanId))?.outcome, "not_found");
});
