import assert from "node:assert/strict";
import { test } from "node:test";
import { ScanBook, type ScanRecord } from "../../src/domain/scan-record.js";
import { ManualClock, MemoryStore } from "./memory-store.js";

const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);

function rig(): { book: ScanBook; clock: ManualClock; store: MemoryStore } {
  const clock = new ManualClock(T0);
  const store = new MemoryStore(clock);
  return { book: new ScanBook(store, clock), clock, store };
}

function queued(overrides: Partial<ScanRecord> = {}): ScanRecord {
  return {
    scanId: "501",
    projectId: "7",
    projectName: "web-shop",
    targetUrl: "https://shop.example.com",
    backend: "crashtest",
    requestedBy: "UALICE",
    channel: "C1",
    state: "queued",
    startedAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

test("a queued scan has neither runningAt nor endedAt", async () => {
  const { book } = rig();
  const scan = await book.started(queued());
  assert.equal(scan.runningAt, undefined);
  assert.equal(scan.endedAt, undefined);
});

test("a scan started already running is seen running at once", async () => {
  const { book } = rig();
  const scan = await book.started(queued({ state: "running" }));
  assert.equal(scan.runningAt, T0);
});

test("observed: runningAt is the first running observation and endedAt the first terminal one", async () => {
  const { book, clock } = rig();
  await book.started(queued());
  clock.advance(60_000);
  assert.equal((await book.observed("501", "running", "1"))?.runningAt, T0 + 60_000);
  clock.advance(60_000);
  // A new raw code while running is recorded, but the scan was seen running before.
  const still = await book.observed("501", "running", "2");
  assert.equal(still?.rawCode, "2");
  assert.equal(still?.runningAt, T0 + 60_000);
  clock.advance(600_000);
  const ended = await book.observed("501", "finished", "101");
  assert.equal(ended?.endedAt, T0 + 720_000);
  assert.equal(ended?.runningAt, T0 + 60_000);
  clock.advance(60_000);
  // A later terminal state (the scanner changing its mind) does not move the end.
  const later = await book.observed("501", "failed", "103");
  assert.equal(later?.state, "failed");
  assert.equal(later?.endedAt, T0 + 720_000);
});

test("observed: a scan that goes from queued straight to an end has endedAt and no runningAt", async () => {
  const { book, clock } = rig();
  await book.started(queued());
  clock.advance(30_000);
  const ended = await book.observed("501", "failed", "103");
  assert.equal(ended?.endedAt, T0 + 30_000);
  assert.equal(ended?.runningAt, undefined);
});

test("a record stored before these fields existed is read and stamped on its next change", async () => {
  const { book, clock, store } = rig();
  // Stored by an earlier version: no runningAt, endedAt or stopRequestedAt.
  await store.set("scans", "501", queued({ state: "running" }));
  const old = await book.getScan("501");
  assert.equal(old?.runningAt, undefined);
  assert.equal(old?.endedAt, undefined);
  clock.advance(5_000);
  const ended = await book.observed("501", "finished", "101");
  assert.equal(ended?.endedAt, T0 + 5_000);
  assert.equal(ended?.runningAt, undefined);
});

test("attached: keeps the times already recorded and stamps what is new", async () => {
  const { book, clock } = rig();
  await book.started(queued());
  clock.advance(60_000);
  await book.observed("501", "running", "1");
  clock.advance(60_000);
  const again = await book.attached(queued({ state: "running", startedAt: T0 + 120_000 }));
  assert.equal(again.runningAt, T0 + 60_000);
  assert.equal(again.startedAt, T0);
  clock.advance(60_000);
  const ended = await book.attached(queued({ state: "stopped", rawCode: "102" }));
  assert.equal(ended.endedAt, T0 + 180_000);
});

test("stopRequested records who and when, and both stay after the scan says Stopped", async () => {
  const { book, clock } = rig();
  await book.started(queued({ state: "running", approvedBy: "UBOB" }));
  clock.advance(8 * 60_000);
  const stopping = await book.stopRequested("501", "UCAROL");
  assert.equal(stopping?.stopRequestedBy, "UCAROL");
  assert.equal(stopping?.stopRequestedAt, T0 + 8 * 60_000);
  clock.advance(30_000);
  const stopped = await book.observed("501", "stopped", "102");
  assert.equal(stopped?.stopRequestedBy, "UCAROL");
  assert.equal(stopped?.stopRequestedAt, T0 + 8 * 60_000);
  assert.equal(stopped?.approvedBy, "UBOB");
  assert.equal(stopped?.requestedBy, "UALICE");
  assert.equal(stopped?.endedAt, T0 + 8 * 60_000 + 30_000);
});

test("operations on an unknown scan change nothing", async () => {
  const { book } = rig();
  assert.equal(await book.observed("404", "finished"), undefined);
  assert.equal(await book.stopRequested("404", "UALICE"), undefined);
  assert.deepEqual(await book.listScans(), []);
});

test("observed and attached keep the scanner's words and estimate with a change", async () => {
  const { book } = rig();
  await book.started(queued());
  const running = await book.observed("501", "running", "RUNNING", {
    rawText: "Running (analysis #1)",
    estimatedDurationMs: 1_800_000,
  });
  assert.equal(running?.rawText, "Running (analysis #1)");
  assert.equal(running?.estimatedDurationMs, 1_800_000);
  const failed = await book.observed("501", "failed", "FAILED", { rawText: "Target unreachable" });
  assert.equal(failed?.rawText, "Target unreachable");
  assert.equal(failed?.estimatedDurationMs, 1_800_000, "an estimate not repeated is kept");
  const attached = await book.attached(
    queued({ state: "failed", rawCode: "FAILED", rawText: "Login failed" }),
  );
  assert.equal(attached.rawText, "Login failed");
});
