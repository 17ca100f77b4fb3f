import assert from "node:assert/strict";
import { test } from "node:test";
import { ACTIONS } from "../../src/slack/blocks/cards.js";
import { redisServerAvailable, startOwnRedis } from "./redis.js";
import {
  createProjects,
  hasRunning,
  INTERVAL_MS,
  inBatches,
  requestCards,
  scanCardsOf,
  scanIdOf,
  startsAtScanner,
  TICK_MS,
  tallies,
  tally,
  until,
  waitAllComplete,
} from "./replica-checks.js";
import { APPROVER, OPERATOR, type ReplicaRig, replicaRig } from "./replica-rig.js";
import { auditThread, CHANNEL, sleep } from "./rig.js";

/**
 * Issue 19 over Socket Mode: three replicas, each with its own Socket Mode connection to the emulator,
 * which sends each envelope to one connection in turn (as Slack spreads envelopes over an app's
 * connections); no proxy. Scans are requested and approved through whichever replica gets the
 * envelope, and one approval is redelivered as Slack's retry, which lands on another connection.
 * Redis of the test's own (a throw-away redis-server), so it never shares a database with other suites.
 */

const SCANS = Number(process.env.REPLICA_SOCKET_SCANS ?? 9);

test("three replicas over Socket Mode: each envelope to one connection, each effect once", {
  timeout: 15 * 60_000,
}, async (t) => {
  if (!redisServerAvailable(t)) return;
  const redis = await startOwnRedis();
  t.after(() => redis.stop());
  const rig = await replicaRig("redis", redis.url, {}, { socket: true });
  const r: ReplicaRig = rig;
  t.after(async () => {
    if (process.env.FAULTS_KEEP_LOGS) {
      const { mkdir, writeFile } = await import("node:fs/promises");
      await mkdir(process.env.FAULTS_KEEP_LOGS, { recursive: true });
      await writeFile(`${process.env.FAULTS_KEEP_LOGS}/replica-socket.log`, r.allLogs());
    }
    await r.close();
  });
  const open = () => r.emulator.socketConnections().filter((c) => c.open);
  await until(() => open().length === 3, 60_000, "three Socket Mode connections");

  const projects = Array.from({ length: SCANS }, (_, i) => `s${i + 1}`);
  await createProjects(r, projects);
  let retried = false;
  const ids = await inBatches(projects, 3, async (project) => {
    await r.send(OPERATOR, `scan start ${project}`);
    const card = await until(() => requestCards(r, project)[0], 60_000, `request card of ${project}`);
    const click = await r.emulator.click({
      user: APPROVER,
      channel: CHANNEL,
      messageTs: card.ts,
      actionId: ACTIONS.approve,
    });
    assert.equal(click.status, 200, `ack of the approval of ${project}`);
    if (project === projects[0]) {
      // Slack's retry of the same envelope goes to the next connection: another replica.
      const again = await r.emulator.redeliver(click, { retryNum: 1, retryReason: "timeout" });
      assert.equal(again.status, 200);
      retried = true;
    }
    const scanCard = await until(() => scanCardsOf(r, project)[0], 60_000, `scan card of ${project}`);
    return scanIdOf(scanCard.text);
  });
  assert.equal(startsAtScanner(r), SCANS, "one scan started per approved request");
  await until(() => ids.every((id) => hasRunning(r, id)), 2 * INTERVAL_MS + 30_000, "every scan running");
  r.sim.clock.advance(2 * 3600_000);
  const audits = await waitAllComplete(r, ids, 2 * INTERVAL_MS + 60_000);
  await sleep(2 * TICK_MS);
  const envelopes = open().map((c) => c.envelopes);
  tally(
    t,
    r,
    "Socket Mode: scans across three connections",
    audits.map((a) => auditThread(r.emulator, a.scanId)),
    projects,
    [
      `envelopes per connection ${JSON.stringify(envelopes)}; one approval redelivered as a retry: ${retried}; scanner starts ${startsAtScanner(r)}`,
    ],
  );
  assert.equal(open().length, 3, "every replica kept its connection");
  assert.ok(
    envelopes.every((n) => n > 0),
    `every connection got envelopes: ${JSON.stringify(envelopes)}`,
  );
});

test("replica Socket Mode tally", (t) => {
  for (const entry of tallies) {
    t.diagnostic(
      `${entry.store} | ${entry.scenario} | replicas ${entry.replicas} | kills ${entry.kills} | scans ${entry.scans} | lost ${entry.lost} | duplicated ${entry.duplicated} | double polls ${entry.doublePolls} | ${entry.notes.join("; ")}`,
    );
  }
  assert.equal(
    tallies.reduce((n, e) => n + e.lost + e.duplicated + e.doublePolls, 0),
    0,
  );
});
