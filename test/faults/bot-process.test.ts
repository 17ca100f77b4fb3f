import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { type EmulatorChange, UPLOAD_URL_TARGET } from "../../dev/slack-emulator/index.js";
import { eventually, PEOPLE } from "../support/bot.js";
import { redisServerAvailable, startOwnRedis } from "./redis.js";
import {
  auditThread,
  CHANNEL,
  createProject,
  isComplete,
  type ProcessRig,
  processRig,
  sleep,
  type ThreadAudit,
  TICK_MS,
  ticks,
} from "./rig.js";
import { TcpProxy } from "./tcp-proxy.js";

/**
 * The bot as a real child process (`node --import tsx src/main.ts`, HTTP mode, SQLite or Redis store,
 * SCANNER=crashtest against a simulator the test owns), killed with SIGKILL at chosen moments of a scan's
 * life and started again on the same store; and a 30 s store outage under a running bot. Each scenario
 * has its own emulator, simulator and store, and they run concurrently. The bots tick every 3 s of wall
 * clock (SCAN_WATCH_TICK_SECONDS=3, SCAN_POLL_INTERVAL_SECONDS=2), so every tick polls a watched scan.
 *
 * Invariants checked at the end of every scenario: the scan is watched to its end (no lost watch), its
 * thread holds each reply and each report file once (no duplicates), and the final report is there.
 */

interface Outcome {
  scenario: string;
  kills: number;
  restarts: number;
  lostWatches: number;
  duplicateReplies: number;
  duplicateUploads: number;
  duplicateCards: number;
  missedFinalReports: number;
  notes: string[];
}

const outcomes: Outcome[] = [];
const rigs: ProcessRig[] = [];
after(async () => {
  await Promise.all(rigs.splice(0).map((rig) => rig.close().catch(() => {})));
});

/** A rig with project "shop" created through the bot. */
async function setUp(label: string, options: Parameters<typeof processRig>[1] = {}): Promise<ProcessRig> {
  const rig = await processRig(label, options);
  rigs.push(rig);
  await createProject(rig);
  return rig;
}

/** The scan ID of the scan the simulator started last (the bot may die before it can say). */
function lastStartedScanId(rig: ProcessRig): string {
  const started = rig.sim.requests.filter((r) => r.operation === "startScan");
  assert.ok(started.length > 0, `${rig.label}: no scan was started at the scanner`);
  return String(389 + started.length);
}

/** Kills the bot synchronously at the first emulator change that matches (before Slack answers it). */
function killOn(rig: ProcessRig, match: (change: EmulatorChange) => boolean, delayMs = 0): Promise<void> {
  return new Promise((resolve) => {
    const off = rig.emulator.onChange((change) => {
      if (!match(change)) return;
      off();
      const fire = () => {
        rig.kills++;
        rig.bot.child.kill("SIGKILL");
        resolve();
      };
      if (delayMs === 0) fire();
      else setTimeout(fire, delayMs);
    });
  });
}

const isRunningReply = (rig: ProcessRig) => (change: EmulatorChange) => {
  if (change.kind !== "message_posted" || change.channel !== CHANNEL) return false;
  const message = rig.emulator.message(CHANNEL, change.ts);
  const effect = (message?.metadata?.event_payload as { effect?: string } | undefined)?.effect;
  return effect === "state:running";
};

async function waitForComplete(rig: ProcessRig, scanId: string, timeoutMs: number): Promise<ThreadAudit> {
  try {
    return await eventually(() => {
      const audit = auditThread(rig.emulator, scanId);
      return isComplete(audit) ? audit : undefined;
    }, timeoutMs);
  } catch {
    return auditThread(rig.emulator, scanId);
  }
}

/** Records and asserts the invariants for one scan. */
function settle(
  t: { diagnostic(message: string): void },
  rig: ProcessRig,
  audit: ThreadAudit,
  notes: string[],
) {
  const outcome: Outcome = {
    scenario: rig.label,
    kills: rig.kills,
    restarts: rig.restarts,
    lostWatches: audit.cards === 0 || audit.shape.length === 0 ? 1 : 0,
    duplicateReplies: audit.duplicateReplies.length,
    duplicateUploads: audit.duplicateUploads.length,
    duplicateCards: Math.max(0, audit.cards - 1),
    missedFinalReports: isComplete(audit) ? 0 : 1,
    notes,
  };
  outcomes.push(outcome);
  t.diagnostic(`${rig.label}: thread ${JSON.stringify(audit.shape)} files ${JSON.stringify(audit.files)}`);
  for (const note of notes) t.diagnostic(`${rig.label}: ${note}`);
  assert.deepEqual(audit.duplicateReplies, [], `${rig.label}: duplicate thread replies`);
  assert.deepEqual(audit.duplicateUploads, [], `${rig.label}: duplicate uploads`);
  assert.ok(audit.cards <= 1, `${rig.label}: ${audit.cards} scan cards for scan ${audit.scanId}`);
  assert.ok(
    isComplete(audit),
    `${rig.label}: scan ${audit.scanId} did not get its final report (lost watch or missed report): thread ${JSON.stringify(audit.shape)}, files ${JSON.stringify(audit.files)}, cards ${audit.cards}`,
  );
}

describe("kill -9 mid-scan and restart on the same SQLite file", { concurrency: true }, () => {
  test("killed the moment the scan card is posted (before the bot learns its ts): the scan is still watched to its end", async (t) => {
    const rig = await setUp("kill-at-card");
    const killed = killOn(
      rig,
      (c) =>
        c.kind === "message_posted" &&
        c.threadTs === undefined &&
        /^Scan \S+ of shop/.test(rig.emulator.message(CHANNEL, c.ts)?.text ?? ""),
    );
    // The answer rides in the ack, so the kill can cut the command's own request: Slack would show the
    // person a timeout. What matters is that the scan started is still watched to its end.
    const sent = rig.send(PEOPLE.operator, "scan start shop").catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ECONNRESET") throw error;
    });
    await killed;
    await sent;
    await rig.bot.exited;
    const scanId = lastStartedScanId(rig);
    await rig.restart();
    rig.sim.clock.advance(2 * 3600_000);
    // A watched scan ends in one tick; four (plus slack) is ample.
    const audit = await waitForComplete(rig, scanId, ticks(4));
    settle(t, rig, audit, [`scanner started scan ${scanId}; killed at card post; restarted`]);
  });

  test("killed right after the scan started (the person got 'started'): nothing lost, nothing twice", async (t) => {
    const rig = await setUp("kill-after-start");
    const reply = await rig.command(PEOPLE.operator, "scan start shop");
    assert.match(reply, /started/);
    const scanId = lastStartedScanId(rig);
    await rig.kill();
    await rig.restart();
    await eventually(() => auditThread(rig.emulator, scanId).shape.includes("state:running"), ticks(4));
    rig.sim.clock.advance(2 * 3600_000);
    const audit = await waitForComplete(rig, scanId, ticks(4));
    settle(t, rig, audit, []);
  });

  test("killed as the 'running' reply is posted (the bot never sees Slack's answer): the reply is not repeated", async (t) => {
    // Debug logs: the per-tick report would show a wait on a held claim.
    const rig = await setUp("kill-at-running-reply", { env: { LOG_LEVEL: "debug" } });
    const killed = killOn(rig, isRunningReply(rig));
    assert.match(await rig.command(PEOPLE.operator, "scan start shop"), /started/);
    const scanId = lastStartedScanId(rig);
    await killed;
    await rig.bot.exited;
    rig.sim.clock.advance(2 * 3600_000);
    // Restarted at once: the killed process's poll claim died with it (SQLite serves one process).
    await rig.restart();
    const audit = await waitForComplete(rig, scanId, ticks(4));
    assert.ok(
      !rig.bot.lines.some((l) => l.msg === "watch tick" && Number(l.contended) > 0),
      "the restarted bot never waits on the dead process's claim",
    );
    settle(t, rig, audit, ["immediate restart: reconciled from the thread, no wait on a dead claim"]);
  });

  test("killed while Slack completes the PDF upload (Slack finishes it anyway): the file is not uploaded twice", async (t) => {
    const rig = await setUp("kill-mid-upload-complete");
    assert.match(await rig.command(PEOPLE.operator, "scan start shop"), /started/);
    const scanId = lastStartedScanId(rig);
    await eventually(() => auditThread(rig.emulator, scanId).shape.includes("state:running"), ticks(4));
    rig.emulator.injectFault("files.completeUploadExternal", { kind: "delay", ms: 2500 });
    // The bytes are in; the completion call arrives within ms and is held for 2.5 s: kill during it.
    const killed = killOn(rig, (c) => c.kind === "api_call" && c.method === UPLOAD_URL_TARGET, 250);
    rig.sim.clock.advance(2 * 3600_000);
    await killed;
    await rig.bot.exited;
    await sleep(3000);
    const completed = rig.emulator.calls("files.completeUploadExternal").length;
    const sharedBeforeRestart = auditThread(rig.emulator, scanId).files;
    await rig.restart();
    const audit = await waitForComplete(rig, scanId, ticks(4));
    settle(t, rig, audit, [
      `completion calls answered before restart: ${completed}; files shared before restart: ${JSON.stringify(sharedBeforeRestart)}`,
    ]);
  });

  test("killed while the PDF bytes are being sent (upload never completed): the file is uploaded once after restart", async (t) => {
    const rig = await setUp("kill-mid-upload-bytes");
    assert.match(await rig.command(PEOPLE.operator, "scan start shop"), /started/);
    const scanId = lastStartedScanId(rig);
    await eventually(() => auditThread(rig.emulator, scanId).shape.includes("state:running"), ticks(4));
    rig.emulator.injectFault(UPLOAD_URL_TARGET, { kind: "delay", ms: 2500 });
    const killed = killOn(
      rig,
      (c) => c.kind === "api_call" && c.method === "files.getUploadURLExternal",
      250,
    );
    rig.sim.clock.advance(2 * 3600_000);
    await killed;
    await rig.bot.exited;
    await sleep(3000);
    const sharedBeforeRestart = auditThread(rig.emulator, scanId).files;
    assert.deepEqual(sharedBeforeRestart, [], "the interrupted upload was never shared");
    await rig.restart();
    const audit = await waitForComplete(rig, scanId, ticks(4));
    settle(t, rig, audit, []);
  });

  test("kill -9 at 8 random moments of a scan's life (seeded), restarting each time: nothing lost, nothing twice", async (t) => {
    const seed = Number(process.env.FAULTS_SEED ?? Math.floor(Math.random() * 2 ** 31));
    let state = seed || 1;
    // xorshift32: reproducible with FAULTS_SEED.
    const random = () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 2 ** 32;
    };
    const rig = await setUp("random-kills");
    assert.match(await rig.command(PEOPLE.operator, "scan start shop"), /started/);
    const scanId = lastStartedScanId(rig);
    // Slower uploads widen the window in which a kill lands mid-upload.
    for (const step of ["files.getUploadURLExternal", UPLOAD_URL_TARGET, "files.completeUploadExternal"]) {
      rig.emulator.injectFault(step, { kind: "delay", ms: 400, times: 50 });
    }
    const moments: string[] = [];
    for (let i = 0; i < 8; i++) {
      if (i === 1) rig.sim.clock.advance(2 * 3600_000);
      await sleep(Math.round(200 + random() * TICK_MS));
      moments.push(`${i + 1}: after ${JSON.stringify(auditThread(rig.emulator, scanId).shape)}`);
      await rig.kill();
      await rig.restart();
    }
    const audit = await waitForComplete(rig, scanId, ticks(6));
    settle(t, rig, audit, [`seed ${seed} (FAULTS_SEED)`, ...moments]);
  });

  test("store outage: Redis unreachable for 30 s under a running bot, then back; no restart, nothing lost", async (t) => {
    if (!redisServerAvailable(t)) return;
    const redis = await startOwnRedis();
    t.after(() => redis.stop());
    const proxy = await TcpProxy.start({ host: "127.0.0.1", port: redis.port });
    t.after(() => proxy.close());
    const rig = await setUp("store-outage", { storeUrl: `redis://127.0.0.1:${proxy.port}` });
    assert.match(await rig.command(PEOPLE.operator, "scan start shop"), /started/);
    const scanId = lastStartedScanId(rig);
    const pid = rig.bot.pid;
    const health = async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${rig.bot.port}/healthz`, {
          signal: AbortSignal.timeout(4000),
        });
        return String(res.status);
      } catch {
        return "no answer within 4 s";
      }
    };
    assert.equal(await health(), "200");

    const outageStarted = Date.now();
    await proxy.cut();
    rig.sim.clock.advance(2 * 3600_000);
    await sleep(2000);
    const healthDuring = await health();
    // A person using the bot during the outage gets a clear answer, not silence or a fake success.
    const seen = rig.emulator.ephemerals(PEOPLE.operator).length;
    await rig.send(PEOPLE.operator, "projects");
    await sleep(Math.max(0, 30_000 - (Date.now() - outageStarted)));
    const answeredDuring = rig.emulator.ephemerals(PEOPLE.operator).slice(seen).length;
    await proxy.restore();
    const outageMs = Date.now() - outageStarted;

    const audit = await waitForComplete(rig, scanId, ticks(6));
    const afterwards = await rig.command(PEOPLE.operator, "projects", 15_000);
    const healthAfter = await health();
    const storeLines = rig.bot.logs((l) =>
      /store|storage/i.test(`${l.msg} ${JSON.stringify(l.error ?? "")}`),
    );
    const lateAnswer = rig.emulator.ephemerals(PEOPLE.operator).slice(seen, seen + 1)[0];
    settle(t, rig, audit, [
      `outage ${Math.round(outageMs / 1000)} s; healthz during: ${healthDuring}, after: ${healthAfter}`,
      `'projects' during the outage: ${answeredDuring} answer(s) within the outage; first answer: ${JSON.stringify((lateAnswer?.text ?? "").slice(0, 160))}`,
      `store-related log lines: ${storeLines.length}; e.g. ${JSON.stringify(storeLines.slice(0, 3).map((l) => l.msg))}`,
      `proxy connections accepted: ${proxy.accepted}`,
    ]);
    await t.test("healthz answers 503 while the store is unreachable (README: Store, /healthz)", () => {
      assert.equal(healthDuring, "503");
    });
    assert.equal(rig.bot.pid, pid, "recovered without a restart");
    assert.equal(rig.bots.length, 1);
    assert.match(afterwards, /shop/, "the project created before the outage is still there");
    assert.equal(healthAfter, "200");
    assert.ok(storeLines.length > 0, "the outage left clear log lines");
  });
});

test("fault tally: what was tried, what was lost (must be nothing)", (t) => {
  const sum = (key: keyof Outcome) => outcomes.reduce((n, o) => n + (o[key] as number), 0);
  t.diagnostic(
    `scenarios ${outcomes.length}, kill -9 ${sum("kills")}, restarts ${sum("restarts")}, scans ${outcomes.length}`,
  );
  t.diagnostic(
    `lost watches ${sum("lostWatches")}, duplicate replies ${sum("duplicateReplies")}, duplicate uploads ${sum("duplicateUploads")}, duplicate cards ${sum("duplicateCards")}, missed final reports ${sum("missedFinalReports")}`,
  );
  for (const o of outcomes) {
    if (o.lostWatches + o.duplicateReplies + o.duplicateUploads + o.duplicateCards + o.missedFinalReports > 0)
      t.diagnostic(`LOST in ${o.scenario}: ${JSON.stringify(o)}`);
  }
  assert.equal(sum("lostWatches") + sum("missedFinalReports"), 0, "lost watches or missed final reports");
  assert.equal(sum("duplicateReplies") + sum("duplicateUploads") + sum("duplicateCards"), 0, "duplicates");
});
