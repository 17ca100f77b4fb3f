import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../../../src/domain/errors.js";
import type { WatchRecord } from "../../../src/domain/watch/index.js";
import { openStore } from "../../../src/store/index.js";
import { overStore } from "../../support/store.js";
import { cleanups, INTERVAL, setup } from "./harness.js";

/** The effect queue: terminal effects, refusals, and reconciliation after Slack or store failures. */

test("stopped and failed scans get their final notice but no report files", async () => {
  const t = await setup();
  const stopped = t.scan("running");
  const failed = t.scan("running");
  await t.watcher.watch(stopped);
  await t.watcher.watch(failed);
  t.scanner.states.set(stopped.scanId, "stopped");
  t.scanner.states.set(failed.scanId, "failed");
  await t.tickAfter(INTERVAL);
  assert.deepEqual(t.output.effects(stopped.scanId), ["final"]);
  assert.deepEqual(t.output.effects(failed.scanId), ["final"]);
  assert.equal(t.scanner.count("report"), 0);
  assert.equal((await t.watcher.getWatch(failed.scanId))?.outcome, "failed");
});

test("refused uploads and undeliverable reports end in one notice with the report commands", async () => {
  const t = await setup();
  const scan = t.scan("running");
  await t.watcher.watch(scan);
  t.scanner.states.set(scan.scanId, "finished");
  t.scanner.reportFailures.set(`${scan.scanId}:pdf`, new AppError("unsupported", "No PDF for this scan."));
  t.output.refuseUploads = "file uploads are disabled in this workspace (file_uploads_disabled)";
  await t.tickAfter(INTERVAL);
  assert.deepEqual(t.output.effects(scan.scanId), ["final", "summary", "files_refused"]);
  assert.deepEqual(t.output.notices(scan.scanId)[2], {
    kind: "files_refused",
    refused: [
      { format: "pdf", reason: "No PDF for this scan." },
      { format: "json", reason: "file uploads are disabled in this workspace (file_uploads_disabled)" },
    ],
  });
  assert.equal((await t.watcher.getWatch(scan.scanId))?.phase, "ended");
});

test("a report that cannot be summarised gets a summary_unavailable notice; the files still go up", async () => {
  const t = await setup();
  t.setSummarize(() => {
    throw new AppError("unavailable", "The JSON findings report could not be read.");
  });
  const scan = t.scan("finished");
  await t.watcher.watch(scan); // watched after the end: the report is still owed
  await t.tickAfter(1000);
  assert.deepEqual(t.output.effects(scan.scanId), ["final", "summary", "file:pdf", "file:json"]);
  assert.deepEqual(t.output.notices(scan.scanId)[1], {
    kind: "summary_unavailable",
    reason: "The JSON findings report could not be read.",
  });
  assert.equal(t.scanner.count("status"), 0, "a scan watched after its end needs no status poll");
});

test("a Slack response lost after delivery: the thread says it is there, so it is not posted again", async () => {
  const t = await setup();
  const scan = t.scan("running");
  await t.watcher.watch(scan);
  t.scanner.states.set(scan.scanId, "finished");
  t.output.failNext.push({
    kind: "upload",
    error: new AppError("unavailable", "Slack did not answer.", { retryable: true }),
    delivered: true,
  });
  const first = await t.tickAfter(INTERVAL);
  assert.equal(first.slackFailures, 1);
  assert.equal(
    (await t.watcher.getWatch(scan.scanId))?.effects.find((e) => e.id === "file:pdf")?.status,
    "pending",
  );
  for (let i = 0; i < 4; i++) await t.tickAfter(15_000);
  assert.deepEqual(t.output.effects(scan.scanId), ["final", "summary", "file:pdf", "file:json"]);
  assert.equal(t.output.reconciles, 1);
  assert.equal(t.scanner.count("status"), 1, "retrying the Slack side asks the scanner nothing new");
});

test("a Slack failure before delivery is retried with backoff and delivered once", async () => {
  const t = await setup();
  const scan = t.scan("queued");
  await t.watcher.watch(scan);
  t.scanner.states.set(scan.scanId, "running");
  for (let i = 0; i < 3; i++) {
    t.output.failNext.push({
      kind: "post",
      error: new AppError("unavailable", "Slack did not accept it.", { retryable: true }),
      delivered: false,
    });
  }
  await t.tickAfter(INTERVAL);
  const record = (await t.watcher.getWatch(scan.scanId)) as WatchRecord;
  assert.equal(record.slackFailures, 1);
  assert.equal(record.nextPollAt, t.clock.now() + 30_000);
  await t.tickAfter(30_000);
  assert.equal((await t.watcher.getWatch(scan.scanId))?.nextPollAt, t.clock.now() + 60_000);
  await t.tickAfter(60_000);
  // Third retry would wait 2 min, which is also when the next poll is due.
  await t.tickAfter(INTERVAL);
  assert.deepEqual(t.output.effects(scan.scanId), ["state:running"]);
  assert.equal((await t.watcher.getWatch(scan.scanId))?.slackFailures, 0);
});

test("a store write failing after the post: the next tick reconciles instead of reposting", async () => {
  const inner = await openStore({ url: "memory://" });
  cleanups.push(() => inner.close());
  let armed = false;
  const store = overStore(inner, {
    set: async (ns, key, value, ttl) => {
      const done = (value as WatchRecord).effects?.some(
        (e) => e.id === "state:running" && e.status === "done",
      );
      if (armed && ns === "watches" && done) {
        armed = false;
        throw new AppError("store", "The bot's storage is not answering right now.", { retryable: true });
      }
      return inner.set(ns, key, value, ttl);
    },
  });
  const t = await setup({}, store);
  const scan = t.scan("queued");
  await t.watcher.watch(scan);
  t.scanner.states.set(scan.scanId, "running");
  armed = true;
  const failed = await t.tickAfter(INTERVAL);
  assert.equal(failed.errors, 1);
  assert.deepEqual(t.output.effects(scan.scanId), ["state:running"]);
  await t.tickAfter(15_000);
  assert.deepEqual(t.output.effects(scan.scanId), ["state:running"], "not posted twice");
  assert.equal(t.output.reconciles, 1);
  assert.equal((await t.watcher.getWatch(scan.scanId))?.effects[0]?.status, "done");
  assert.equal(t.scanner.count("status"), 1);
});
