import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { UPLOAD_URL_TARGET } from "../../dev/slack-emulator/index.js";
import { CHANNEL, completeFor } from "./rig.js";
import { watcherRig } from "./watcher-rig.js";

/**
 * Slack 5xx and 429 storms on what the watcher sends: chat.update (the card), chat.postMessage (thread
 * replies) and each step of a report upload (files.getUploadURLExternal, the upload URL,
 * files.completeUploadExternal). The Web client runs production's retry policy (10 retries, factor
 * 1.97) with millisecond instead of second delays; Retry-After is waited in real time. Expected: 429s
 * are waited out, 5xx storms longer than the client's retries are retried by the watcher on later
 * ticks, and in the end every reply and file is in the thread exactly once.
 */

async function rig(t: TestContext) {
  const r = await watcherRig();
  t.after(() => r.close());
  return r;
}

const UPLOAD_STEPS = ["files.getUploadURLExternal", UPLOAD_URL_TARGET, "files.completeUploadExternal"];
const tally = { faultsServed: 0, rateLimitedWaits: 0, scans: 0, dropped: 0, duplicated: 0 };

function faultsServed(r: Awaited<ReturnType<typeof watcherRig>>) {
  return r.emulator.calls().filter((c) => c.fault !== undefined && c.fault !== "delay").length;
}

function assertDelivered(r: Awaited<ReturnType<typeof watcherRig>>, scanId: string, ts: string) {
  const audit = r.audit(scanId);
  const want = completeFor(scanId);
  tally.scans++;
  if (audit.duplicateReplies.length + audit.duplicateUploads.length > 0) tally.duplicated++;
  if (!want.files.every((f) => audit.files.includes(f)) || !audit.shape.includes("final")) tally.dropped++;
  assert.deepEqual(
    audit.shape.filter((s) => !s.startsWith("files:")),
    ["state:running", ...want.effects],
  );
  assert.deepEqual(audit.files, want.files, "each report once");
  assert.equal(r.emulator.filesIn(CHANNEL).length, 2, "no stray shared file");
  assert.match(r.emulator.message(CHANNEL, ts)?.text ?? "", /Finished/, "the card shows the end");
}

describe("Slack storms", { concurrency: true }, () => {
  test("5xx storms longer than the Web client's retries on chat.update, replies and every upload step: nothing dropped, nothing twice", async (t) => {
    const r = await rig(t);
    const scan = await r.startScan();
    // 12 failures: the client's 11 attempts all fail once, so the watcher has to come back later.
    for (const method of ["chat.update", "chat.postMessage"]) {
      r.emulator.injectFault(method, { kind: "http_error", status: 503, times: 12 });
    }
    await r.tickUntil(() => r.audit(scan.scanId).shape.includes("state:running"));
    assert.ok((await r.watch(scan.scanId))?.slackFailures === 0, "delivered in the end");
    for (const step of UPLOAD_STEPS) {
      r.emulator.injectFault(step, {
        kind: "http_error",
        status: step === UPLOAD_URL_TARGET ? 500 : 502,
        times: 12,
      });
    }
    r.emulator.injectFault("chat.update", { kind: "http_error", status: 504, times: 12 });
    const failuresSeen: number[] = [];
    await r.tickUntil(async () => {
      failuresSeen.push((await r.watch(scan.scanId))?.slackFailures ?? 0);
      return r.ended(scan.scanId)();
    });
    assert.ok(Math.max(...failuresSeen) >= 1, "the watcher itself had to retry on a later tick");
    assertDelivered(r, scan.scanId, scan.card.ts);
    const served = faultsServed(r);
    assert.equal(served, 12 * 6, "every injected failure was served");
    tally.faultsServed += served;
    t.diagnostic(
      `5xx answers served: ${served}; watcher-level Slack retries peaked at ${Math.max(...failuresSeen)}`,
    );
  });

  test("429 storms on chat.update and every upload step are waited out (Retry-After honoured), nothing dropped", async (t) => {
    const r = await rig(t);
    const scan = await r.startScan();
    await r.tickUntil(() => r.audit(scan.scanId).shape.includes("state:running"));
    r.emulator.injectFault("chat.update", { kind: "rate_limited", retryAfterSec: 1, times: 2 });
    for (const step of UPLOAD_STEPS) r.emulator.injectFault(step, { kind: "rate_limited", retryAfterSec: 1 });
    const started = Date.now();
    await r.tickUntil(r.ended(scan.scanId));
    const waited = Date.now() - started;
    assertDelivered(r, scan.scanId, scan.card.ts);
    const limited = r.emulator.calls().filter((c) => c.status === 429);
    assert.equal(limited.length, 5);
    assert.ok(waited >= 4_500, `waited ${waited} ms for five 1 s Retry-After answers`);
    // Each 429 was followed by a successful retry of the same step.
    for (const method of ["chat.update", ...UPLOAD_STEPS]) {
      const calls = r.emulator.calls(method);
      assert.ok(
        calls.some((c) => c.status === 200),
        `${method} went through after its 429`,
      );
    }
    assert.equal((await r.watch(scan.scanId))?.slackFailures, 0, "no watcher-level retry was needed");
    tally.faultsServed += limited.length;
    tally.rateLimitedWaits += limited.length;
  });
});

test("Slack fault tally", (t) => {
  t.diagnostic(
    `scans ${tally.scans}, faulty Slack answers served ${tally.faultsServed} (429 waits ${tally.rateLimitedWaits}), scans with a dropped reply or file ${tally.dropped}, with a duplicate ${tally.duplicated}`,
  );
  assert.equal(tally.dropped + tally.duplicated, 0);
});
