import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import type { Fault } from "../../src/scanners/simulator/server.js";
import { CHANNEL, completeFor } from "./rig.js";
import { type WatcherRig, watcherRig } from "./watcher-rig.js";

/**
 * Scanner faults under the watcher as main.ts wires it, with the production Crashtest transport (5
 * retries per call, backoff and Retry-After recorded instead of slept; 150 ms header timeout instead
 * of 30 s): 5xx, timeouts, malformed JSON and 429 storms on status polls and report downloads. For
 * timeouts the transport's in-call retries are off: undici's header timer has ~1 s resolution, so each
 * hung attempt costs a second of wall time and six per poll would cost a minute per storm.
 * Expected of each (README, "The scan watcher"): retries are silent in Slack; the 6th failed poll in a
 * row ends the watch with ONE clear message and how to resume; when the faults stop before that, the
 * scan is reported as if nothing happened; the watcher keeps working either way.
 */

/** A rig closed when the test `t` ends (tests here run concurrently). */
async function rig(t: TestContext, options: Parameters<typeof watcherRig>[0] = {}) {
  const r = await watcherRig(options);
  t.after(() => r.close());
  return r;
}

interface Kind {
  name: string;
  fault: Fault;
  transportRetries?: number;
  /** What the one message says about the cause. */
  reason: RegExp;
}

const KINDS: Kind[] = [
  { name: "5xx", fault: { kind: "status", status: 503 }, reason: /Crashtest is having trouble right now/ },
  {
    name: "timeout",
    fault: { kind: "hang" },
    transportRetries: 0,
    reason: /cannot be reached right now \(network error or timeout\)/,
  },
  { name: "malformed JSON", fault: { kind: "malformed" }, reason: /could not read/ },
  { name: "429", fault: { kind: "rateLimit", retryAfter: "1" }, reason: /rate-limiting the bot/ },
];

const tally = { storms: 0, faultyResponses: 0, failedPolls: 0, watchesEnded: 0, recovered: 0, lost: 0 };

/** The thread of a finished scan that was watched from "queued": running, final, summary, 2 files. */
function assertFullReport(r: WatcherRig, scanId: string, prefix: string[] = []) {
  const audit = r.audit(scanId);
  const want = completeFor(scanId);
  assert.deepEqual(
    audit.shape.filter((s) => !s.startsWith("files:")),
    [...prefix, "state:running", ...want.effects],
  );
  assert.deepEqual(audit.files, want.files);
}

describe("scanner storms", { concurrency: true }, () => {
  for (const kind of KINDS) {
    test(`${kind.name} storm: silent retries, then one clear message at the 6th failed poll; the watcher keeps working`, async (t) => {
      const r = await rig(
        t,
        kind.transportRetries === undefined ? {} : { transportRetries: kind.transportRetries },
      );
      const scan = await r.startScan();
      const slackBefore = r.emulator.calls().length;
      r.sim.faults.inject("scanStatus", kind.fault, 10_000);
      const requestsBefore = r.statusRequests(scan.scanId);
      await r.tickUntil(async () => {
        const watch = await r.watch(scan.scanId);
        // Until the watch gives up, Slack hears nothing.
        if (watch && watch.phase === "polling") assert.equal(r.emulator.calls().length, slackBefore);
        return watch?.phase === "ended";
      });
      const faulty = r.statusRequests(scan.scanId) - requestsBefore;
      const watch = await r.watch(scan.scanId);
      assert.equal(watch?.outcome, "watch_failed");
      const thread = r.emulator.thread(CHANNEL, scan.card.ts);
      assert.deepEqual(r.audit(scan.scanId).shape, ["watch_failed"], "exactly one message");
      assert.match(thread[0]?.text ?? "", /Stopped watching scan \d+ after 6 failed attempts/);
      assert.match(thread[0]?.text ?? "", kind.reason);
      assert.match(thread[0]?.text ?? "", /\/crashtest scan status \d+/);
      assert.match(JSON.stringify(r.emulator.message(CHANNEL, scan.card.ts)?.blocks), /Not watched any more/);
      // Nothing more on its own.
      const calls = r.emulator.calls().length;
      for (let i = 0; i < 20; i++) await r.tick();
      assert.equal(r.emulator.calls().length, calls);
      tally.storms++;
      tally.faultyResponses += faulty;
      tally.failedPolls += watch?.effects.find((e) => e.kind === "watch_failed")?.attempts ?? 0;
      tally.watchesEnded++;

      // The watcher survives: faults gone, `/crashtest scan status` resumes the watch on the same card.
      r.sim.faults.clear();
      await r.wired.watching.watch((await r.scans.getScan(scan.scanId)) ?? scan);
      await r.tickUntil(r.ended(scan.scanId));
      const audit = r.audit(scan.scanId);
      assert.deepEqual(audit.duplicateReplies, []);
      assert.deepEqual(audit.files, completeFor(scan.scanId).files);
    });

    test(`${kind.name} burst of 3 failed polls, then the faults stop: reported as if nothing happened`, async (t) => {
      const r = await rig(
        t,
        kind.transportRetries === undefined ? {} : { transportRetries: kind.transportRetries },
      );
      const scan = await r.startScan();
      await r.tickUntil(() => r.audit(scan.scanId).shape.includes("state:running"));
      const slackBefore = r.emulator.calls().length;
      r.sim.faults.inject("scanStatus", kind.fault, 10_000);
      const requestsBefore = r.statusRequests(scan.scanId);
      await r.tickUntil(async () => {
        const watch = await r.watch(scan.scanId);
        return (watch?.failures ?? 0) >= 3 || watch?.phase !== "polling";
      });
      assert.equal((await r.watch(scan.scanId))?.phase, "polling", "3 failed polls do not end the watch");
      assert.equal(r.emulator.calls().length, slackBefore, "failed polls are silent in Slack");
      tally.faultyResponses += r.statusRequests(scan.scanId) - requestsBefore;
      tally.failedPolls += 3;
      r.sim.faults.clear();
      await r.tickUntil(r.ended(scan.scanId));
      assertFullReport(r, scan.scanId);
      assert.equal((await r.watch(scan.scanId))?.outcome, "finished");
      assert.doesNotMatch(
        r.emulator
          .thread(CHANNEL, scan.card.ts)
          .map((m) => m.text)
          .join("\n"),
        /Stopped watching|trouble|could not/,
      );
      tally.recovered++;
    });
  }

  test("429 with Retry-After: short waits are honoured in the call, long ones by the watcher's next poll", async (t) => {
    const r = await rig(t);
    const scan = await r.startScan();
    await r.tickUntil(() => r.audit(scan.scanId).shape.includes("state:running"));
    r.sim.faults.inject("scanStatus", { kind: "rateLimit", retryAfter: "30" }, 6);
    await r.tickUntil(async () => (await r.watch(scan.scanId))?.failures === 1);
    assert.deepEqual(r.transportWaits.slice(-5), [30_000, 30_000, 30_000, 30_000, 30_000]);
    // Over the transport's 60 s ceiling: not waited in-process; the watcher polls no earlier than asked.
    r.sim.faults.inject("scanStatus", { kind: "rateLimit", retryAfter: "900" }, 1);
    await r.tickUntil(async () => (await r.watch(scan.scanId))?.failures === 2);
    const watch = await r.watch(scan.scanId);
    assert.ok((watch?.nextStatusAt ?? 0) - r.clock.now() >= 900_000 - 15_000, "next poll after Retry-After");
    await r.tickUntil(r.ended(scan.scanId));
    assertFullReport(r, scan.scanId);
  });

  test("5xx storm on report downloads: retried on later ticks, then every file delivered once", async (t) => {
    const r = await rig(t);
    const scan = await r.startScan();
    await r.tickUntil(() => r.audit(scan.scanId).shape.includes("state:running"));
    r.sim.faults.inject("report", { kind: "status", status: 502 }, 10_000);
    await r.tickUntil(async () => (await r.watch(scan.scanId))?.failures === 3);
    const stuck = r.audit(scan.scanId);
    assert.ok(!stuck.shape.includes("summary"), "no summary without the report");
    r.sim.faults.clear();
    await r.tickUntil(r.ended(scan.scanId));
    assertFullReport(r, scan.scanId);
    tally.recovered++;
  });
});

test("scanner fault tally", (t) => {
  t.diagnostic(
    `storms ${tally.storms} (each to the 6th failed poll), faulty scanner responses served ${tally.faultyResponses}, failed polls ${tally.failedPolls}, watches ended with one message ${tally.watchesEnded}, recoveries ${tally.recovered}, reports lost ${tally.lost}`,
  );
});
