import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { type TestContext, test } from "node:test";
import { FakeVeracode, fakeKeyPair } from "../veracode/fake-veracode.js";
import { redisServerAvailable, startOwnRedis } from "./redis.js";
import {
  createProjects,
  hasRunning,
  INTERVAL_MS,
  requestAndApprove,
  TICK_MS,
  tallies,
  tally,
  until,
  waitAllComplete,
} from "./replica-checks.js";
import { isolatedStore, OPERATOR, type ReplicaRig, replicaRig, storeBase } from "./replica-rig.js";
import { auditThread, CHANNEL, sleep } from "./rig.js";
import { TcpProxy } from "./tcp-proxy.js";

/**
 * Issue 19, the faults a fleet of replicas meets besides a dead poll: three bot processes on a Redis of
 * the test's own (a throw-away redis-server on a free loopback port, never the shared one) reached
 * through a loopback TCP proxy that can be cut, each replica behind its own Slack and scanner fronts.
 *
 * D: the store is unreachable for 30 s: commands are answered "the store is unreachable" within 3 s,
 *    each replica logs one "store unreachable" and one "store back", nothing is lost, no restart.
 * E: the replica that ran the last credential check is killed just before the next cron slot: every
 *    slot still runs once (credential check and watcher tick) on the others.
 * F: a replica is killed while Slack has shared a report in the card's thread but its answer has not
 *    reached the replica: another replica completes the scan and the thread has each report once.
 */

const CRON_SLOT_MS = 10_000;

const redisCli = (port: number, ...args: string[]) =>
  spawnSync("redis-cli", ["-p", String(port), ...args], { encoding: "utf8", timeout: 10_000 }).stdout;

/** Scenario D on a rig whose store is reached through `link`. */
async function outage(t: TestContext, r: ReplicaRig, link: TcpProxy): Promise<void> {
  const projects = ["d1", "d2", "d3"];
  await createProjects(r, projects);
  const { ids, notes } = await requestAndApprove(r, projects);
  await until(() => ids.every((id) => hasRunning(r, id)), 2 * INTERVAL_MS + 30_000, "every scan running");
  const pids = r.bots.map((bot) => bot?.pid);
  const cutAt = Date.now();
  await link.cut();
  // The scans end while the store is away; the replicas learn it once it is back.
  r.sim.clock.advance(2 * 3600_000);
  const answers: Array<{ replica: number; ms: number; text: string }> = [];
  for (const at of [3_000, 12_000, 21_000]) {
    await sleep(Math.max(0, cutAt + at - Date.now()));
    const seen = r.emulator.ephemerals(OPERATOR).length;
    const sent = Date.now();
    const replica = await r.send(OPERATOR, "projects");
    const text = await until(
      () => r.ephemeralsSince(OPERATOR, seen)[0],
      15_000,
      "an answer during the outage",
    ).catch(() => "(no answer within 15 s)");
    answers.push({ replica, ms: Date.now() - sent, text });
  }
  await sleep(Math.max(0, cutAt + 30_000 - Date.now()));
  await link.restore();
  const outageMs = Date.now() - cutAt;
  const audits = await waitAllComplete(r, ids, 3 * INTERVAL_MS + 60_000);
  await sleep(2 * TICK_MS);
  const seen = r.emulator.ephemerals(OPERATOR).length;
  await r.send(OPERATOR, "projects");
  const afterwards = await until(() => r.ephemeralsSince(OPERATOR, seen)[0], 30_000, "projects afterwards");
  const lines = r.bots.map((bot) => ({
    unreachable: bot?.logs((l) => String(l.msg).startsWith("store unreachable")).length ?? 0,
    back: bot?.logs((l) => l.msg === "store back").length ?? 0,
  }));
  tally(
    t,
    r,
    `D: store unreachable for 30 s`,
    audits.map((a) => auditThread(r.emulator, a.scanId)),
    projects,
    [
      ...notes,
      `outage ${Math.round(outageMs / 1000)} s; answers during it (replica, ms): ${JSON.stringify(answers.map((a) => [a.replica, a.ms]))}`,
      `log lines per replica (unreachable/back): ${JSON.stringify(lines.map((l) => `${l.unreachable}/${l.back}`))}`,
    ],
  );
  for (const answer of answers) {
    assert.match(answer.text, /store is unreachable right now\. Try again in a minute\./);
    assert.ok(answer.ms < 3000, `replica ${answer.replica} answered in ${answer.ms} ms`);
  }
  assert.deepEqual(
    new Set(answers.map((a) => a.replica)).size,
    3,
    "the three commands went to the three replicas",
  );
  assert.deepEqual(lines, [
    { unreachable: 1, back: 1 },
    { unreachable: 1, back: 1 },
    { unreachable: 1, back: 1 },
  ]);
  assert.deepEqual(
    r.bots.map((bot) => bot?.pid),
    pids,
    "recovered without a restart",
  );
  assert.match(afterwards, /d1/);
}

test("three replicas on their own Redis: store outage, a kill before a cron slot, a kill mid-upload", {
  timeout: 20 * 60_000,
}, async (t) => {
  if (!redisServerAvailable(t)) return;
  const redis = await startOwnRedis();
  t.after(() => redis.stop());
  const link = await TcpProxy.start({ host: "127.0.0.1", port: redis.port });
  t.after(() => link.close());
  const keys = fakeKeyPair();
  const veracode = await FakeVeracode.start({ now: () => Date.now() });
  veracode.setCredential({ apiId: keys.apiId, secretHex: keys.secretHex, daysLeft: 3 });
  t.after(() => veracode.close());
  const rig = await replicaRig(
    "redis",
    `redis://127.0.0.1:${link.port}`,
    {
      VERACODE_API_KEY_ID: keys.apiKeyId,
      VERACODE_API_KEY_SECRET: keys.apiKeySecret,
      VERACODE_API_URL: veracode.url,
      VERACODE_CREDENTIALS_FILE: "/nonexistent/credentials",
      ALERT_CHANNEL: CHANNEL,
      CREDENTIAL_CHECK_CRON: "*/10 * * * * *",
    },
    { slackFronts: true },
  );
  const r: ReplicaRig = rig;
  t.after(async () => {
    if (process.env.FAULTS_KEEP_LOGS) {
      const { mkdir, writeFile } = await import("node:fs/promises");
      await mkdir(process.env.FAULTS_KEEP_LOGS, { recursive: true });
      await writeFile(`${process.env.FAULTS_KEEP_LOGS}/replica-faults.log`, r.allLogs());
    }
    await r.close();
  });

  await t.test("D: store unreachable for 30 s: fast clear answers, one line each way, nothing lost", (t) =>
    outage(t, r, link),
  );

  await t.test("E: the replica of the last credential check killed just before the next slot", async (t) => {
    const runs = () =>
      r
        .everyBot()
        .flatMap((bot) =>
          bot.lines
            .filter((l) => l.msg === "credential check done")
            .map((l) => ({ label: bot.label, at: Date.parse(String(l.time)) })),
        );
    const slotOf = (at: number) => Math.floor(at / CRON_SLOT_MS) * CRON_SLOT_MS;
    const last = await until(() => runs().at(-1), 3 * CRON_SLOT_MS, "a credential check");
    const victim = r.bots.findIndex((bot) => bot?.label === last.label);
    assert.ok(victim >= 0, `the replica of the last check (${last.label}) is running`);
    const slot = slotOf(Date.now()) + 2 * CRON_SLOT_MS;
    await sleep(slot - 700 - Date.now());
    await r.kill(victim);
    const killedAt = Date.now();
    const slots = [0, 1, 2, 3].map((i) => slot + i * CRON_SLOT_MS);
    // The watcher's tick slots (every 5 s, so also each of these) are claimed in the store for 30 s:
    // looked up while the claim lives.
    const tickClaimed: boolean[] = [];
    for (const s of slots) {
      await sleep(Math.max(0, s + 3000 - Date.now()));
      const found = redisCli(
        redis.port,
        "--scan",
        "--pattern",
        `*scan-watcher:${new Date(s).toISOString()}*`,
      );
      tickClaimed.push(found.trim().length > 0);
    }
    await sleep(Math.max(0, slot + 4 * CRON_SLOT_MS + 5_000 - Date.now()));
    const perSlot = slots.map((s) => runs().filter((run) => slotOf(run.at) === s));
    const counts = perSlot.map((list) => list.length);
    tallies.push({
      store: "redis",
      scenario: "E: replica killed 0.7 s before a cron slot",
      replicas: 3,
      kills: 1,
      scans: 0,
      lost: counts.filter((n) => n === 0).length,
      duplicated: counts.filter((n) => n > 1).length,
      doublePolls: 0,
      notes: [
        `killed replica ${victim} (${last.label}, ran the slot before) ${slot - killedAt} ms before the slot; credential runs per slot ${JSON.stringify(counts)} by ${JSON.stringify(perSlot.map((list) => list.map((run) => run.label)))}; watcher tick slots claimed ${JSON.stringify(tickClaimed)}`,
      ],
    });
    t.diagnostic(`redis E: ${tallies.at(-1)?.notes.join("; ")}`);
    assert.ok(killedAt < slot, "killed before the slot");
    assert.deepEqual(counts, [1, 1, 1, 1], "one credential check per slot on the remaining replicas");
    assert.ok(perSlot.flat().every((run) => run.label !== last.label));
    assert.deepEqual(tickClaimed, [true, true, true, true], "each watcher tick slot claimed by a replica");
    await r.restart(victim);
  });

  await t.test("F: kill -9 while a shared report's answer is held: the thread has it once", async (t) => {
    // The tally counts this scenario's kills, not E's.
    r.kills = 0;
    const projects = ["f1"];
    await createProjects(r, projects);
    const { ids, notes } = await requestAndApprove(r, projects);
    await until(() => ids.every((id) => hasRunning(r, id)), 2 * INTERVAL_MS + 30_000, "running");
    let held: { replica: number; at: number } | undefined;
    let killed: Promise<void> | undefined;
    r.slackFronts.forEach((front, replica) => {
      front.holdAnswer = (method) => held === undefined && method === "files.completeUploadExternal";
      front.onHeld = () => {
        held = { replica, at: Date.now() };
        killed = r.kill(replica);
      };
    });
    r.sim.clock.advance(2 * 3600_000);
    const victim = await until(() => held, 2 * INTERVAL_MS + 60_000, "a report upload in flight");
    await killed;
    for (const front of r.slackFronts) front.holdAnswer = undefined;
    const audits = await waitAllComplete(r, ids, 3 * INTERVAL_MS + 90_000);
    const doneAt = Date.now();
    await sleep(2 * TICK_MS);
    tally(
      t,
      r,
      "F: kill -9 mid-upload",
      audits.map((a) => auditThread(r.emulator, a.scanId)),
      projects,
      [
        ...notes,
        `killed replica ${victim.replica} after Slack shared a report and before its answer arrived; the thread was complete ${Math.round((doneAt - victim.at) / 1000)} s later; files ${JSON.stringify(audits[0]?.files)}`,
      ],
    );
  });
});

test("three replicas on PostgreSQL: the store unreachable for 30 s", { timeout: 15 * 60_000 }, async (t) => {
  const base = storeBase(t, "postgres");
  if (!base) return;
  const store = isolatedStore("postgres", base);
  const target = new URL(store.url);
  const link = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  const url = new URL(store.url);
  url.port = String(link.port);
  const r = await replicaRig("postgres", url.toString()).catch(async (error: unknown) => {
    await link.close();
    store.drop();
    throw error;
  });
  t.after(async () => {
    if (process.env.FAULTS_KEEP_LOGS) {
      const { mkdir, writeFile } = await import("node:fs/promises");
      await mkdir(process.env.FAULTS_KEEP_LOGS, { recursive: true });
      await writeFile(`${process.env.FAULTS_KEEP_LOGS}/replica-faults-postgres.log`, r.allLogs());
    }
    await r.close();
    await link.close();
    store.drop();
  });
  await t.test("D: store unreachable for 30 s: fast clear answers, one line each way, nothing lost", (t) =>
    outage(t, r, link),
  );
});

test("replica fault tally: replicas, kills, scans, lost, duplicated, double polls", (t) => {
  for (const entry of tallies) {
    t.diagnostic(
      `${entry.store} | ${entry.scenario} | replicas ${entry.replicas} | kills ${entry.kills} | scans ${entry.scans} | lost ${entry.lost} | duplicated ${entry.duplicated} | double polls ${entry.doublePolls} | ${entry.notes.join("; ")}`,
    );
  }
  const sum = (key: "lost" | "duplicated" | "doublePolls") => tallies.reduce((n, e) => n + e[key], 0);
  assert.equal(sum("lost") + sum("duplicated") + sum("doublePolls"), 0);
});
