import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../../../src/domain/errors.js";
import type { ScanRecord } from "../../../src/domain/scans.js";
import type { WatchRecord } from "../../../src/domain/watch/index.js";
import { INTERVAL, setup } from "./harness.js";

/** The watcher facade: a scan's whole life, watch() and attach(), and its options. */

test("a scan's life: one reply per state change, silent polls, then final, summary and files in order", async () => {
  const t = await setup();
  const scan = t.scan("queued");
  await t.scans.started(scan);
  await t.watcher.watch(scan);
  await t.tickAfter(INTERVAL);
  assert.deepEqual(t.output.effects(scan.scanId), []);
  assert.equal(t.scanner.count("status"), 1);

  t.scanner.states.set(scan.scanId, "running");
  await t.tickAfter(INTERVAL);
  assert.deepEqual(t.output.effects(scan.scanId), ["state:running"]);
  assert.equal(t.output.deliveries.filter((d) => d.kind === "card").length, 1);

  for (let i = 0; i < 3; i++) await t.tickAfter(INTERVAL);
  assert.equal(t.output.deliveries.length, 2, "unchanged polls post and edit nothing");

  t.scanner.states.set(scan.scanId, "finished");
  await t.tickAfter(INTERVAL);
  assert.deepEqual(t.output.effects(scan.scanId), [
    "state:running",
    "final",
    "summary",
    "file:pdf",
    "file:json",
  ]);
  const final = t.output.notices(scan.scanId)[1];
  assert.deepEqual(final, {
    kind: "final",
    state: "finished",
    rawCode: "finished",
    reportFormats: ["pdf", "json"],
  });
  // The JSON report is fetched once for the summary and the upload.
  assert.deepEqual(
    t.scanner.calls.filter((c) => c.op === "report").map((c) => c.format),
    ["json", "pdf"],
  );
  const record = (await t.watcher.getWatch(scan.scanId)) as WatchRecord;
  assert.equal(record.phase, "ended");
  assert.ok(record.effects.every((e) => e.status === "done"));
  assert.equal((await t.scans.getScan(scan.scanId))?.state, "finished");
});

test("watch is idempotent and needs a card; attach answers, records and resumes", async () => {
  const t = await setup();
  const scan = t.scan("running");
  const { card: _card, ...cardless } = scan;
  await assert.rejects(t.watcher.watch(cardless as ScanRecord), /card/);
  const first = await t.watcher.watch(scan);
  const second = await t.watcher.watch({ ...scan, state: "queued" });
  assert.deepEqual(second, first);

  // A scan the bot never saw: status from the scanner, a card-less record for the caller to announce.
  t.scanner.states.set("77", "running");
  const attached = await t.watcher.attach("77", "p1", "C9", "U0BOB");
  assert.equal(attached.status.state, "running");
  assert.equal(attached.watch, undefined);
  assert.equal(attached.scan.card, undefined);
  assert.equal(attached.scan.projectName, "web-shop");
  assert.equal(attached.scan.requestedBy, "U0BOB");
  assert.deepEqual(await t.scans.getScan("77"), attached.scan);
  const watched = await t.watcher.watch({ ...attached.scan, card: { channel: "C9", ts: "9.9" } });
  assert.equal(watched.phase, "polling");

  // Already watched: answered from the record, no scanner call.
  const calls = t.scanner.calls.length;
  const again = await t.watcher.attach("77", "p1", "C9", "U0BOB");
  assert.equal(again.alreadyWatched, true);
  assert.equal(t.scanner.calls.length, calls);

  await assert.rejects(t.watcher.attach("77", "p2", "C9", "U0BOB"), /belongs to project p1/);
  await assert.rejects(t.watcher.attach("404", "p1", "C9", "U0BOB"), (e: AppError) => e.kind === "not_found");

  // Ended before the bot knew it: status only.
  t.scanner.states.set("88", "finished");
  const late = await t.watcher.attach("88", "p1", "C9", "U0BOB");
  assert.equal(late.status.state, "finished");
  assert.equal(late.watch, undefined);

  // A watch that gave up is resumed by attach on its own card, with the fresh state announced.
  t.scanner.failures.set(scan.scanId, [new AppError("auth", "Crashtest refused the credentials.")]);
  await t.tickAfter(INTERVAL);
  assert.equal((await t.watcher.getWatch(scan.scanId))?.outcome, "watch_failed");
  t.scanner.states.set(scan.scanId, "finished");
  const resumed = await t.watcher.attach(scan.scanId, "p1", "C1", "U0BOB");
  assert.equal(resumed.watch?.phase, "reporting");
  assert.deepEqual(resumed.scan.card, scan.card);
  await t.tickAfter(1000);
  assert.deepEqual(t.output.effects(scan.scanId), [
    "watch_failed",
    "final",
    "summary",
    "file:pdf",
    "file:json",
  ]);
  assert.equal((await t.watcher.getWatch(scan.scanId))?.phase, "ended");
  assert.equal((await t.watcher.getWatch("77"))?.phase, "polling");
});

test("options: a poll interval under 120 s is accepted (config.ts warns; the watcher notes it at debug); formats follow the scanner", async () => {
  const t = await setup({ pollIntervalMs: 30_000, reportFormats: ["pdf", "xml", "csv"] });
  t.scanner.reportFormats = ["pdf", "json", "xml"];
  const watcher = t.make();
  assert.equal(watcher.options.pollIntervalMs, 30_000);
  assert.ok(
    t.logs
      .records()
      .some((l) => l.level === "debug" && String(l.msg).includes("below Veracode's recommended")),
  );
  assert.deepEqual(watcher.uploadFormats, ["pdf", "xml"], "csv is not offered");
  assert.ok(t.logs.records().some((l) => l.msg === "report formats the scanner does not offer are skipped"));
  assert.throws(() => t.make({ maxRequestsPerMinute: 0 }), /at least 1/);
});

test("the watch record holds no scan facts: card and project name come from the scan record", async () => {
  const t = await setup();
  const scan = t.scan("queued");
  await t.scans.started(scan);
  await t.watcher.watch(scan);
  const stored = (await t.store.get<Record<string, unknown>>("watches", scan.scanId)) ?? {};
  assert.equal("card" in stored, false);
  assert.equal("projectName" in stored, false);

  // A record stored by an older version, with stale copies: the copies are ignored and dropped.
  await t.store.set("watches", scan.scanId, {
    ...stored,
    card: { channel: "C9", ts: "9.stale" },
    projectName: "stale-name",
  });
  await t.scans.started({ ...scan, projectName: "renamed-shop" });
  t.scanner.states.set(scan.scanId, "running");
  await t.tickAfter(INTERVAL);
  const post = t.output.deliveries.find((d) => d.kind === "post");
  assert.deepEqual(post?.card, scan.card);
  assert.equal(post?.projectName, "renamed-shop");
  const rewritten = (await t.store.get<Record<string, unknown>>("watches", scan.scanId)) ?? {};
  assert.equal("card" in rewritten, false);
  assert.equal("projectName" in rewritten, false);
});

test("a watch whose scan record is missing ends once, with a logged error, and is not retried", async () => {
  const t = await setup();
  const scan = t.scan("queued");
  await t.watcher.watch(scan);
  // As if stored by an older version next to a scan record that is gone.
  await t.store.delete("scans", scan.scanId);
  t.scanner.states.set(scan.scanId, "running");
  const report = await t.tickAfter(INTERVAL);
  assert.equal(report.errors, 0);
  assert.deepEqual(t.output.deliveries, []);
  const record = (await t.watcher.getWatch(scan.scanId)) as WatchRecord;
  assert.equal(record.phase, "ended");
  assert.equal(record.outcome, "watch_failed");
  assert.ok(
    t.logs
      .records()
      .some((r) => r.level === "error" && r.scanId === scan.scanId && /missing/.test(String(r.reason))),
  );
  const calls = t.scanner.count("status");
  for (let i = 0; i < 3; i++) await t.tickAfter(INTERVAL);
  assert.equal(t.scanner.count("status"), calls, "an ended watch is not polled again");
  assert.deepEqual(t.output.deliveries, []);
});
