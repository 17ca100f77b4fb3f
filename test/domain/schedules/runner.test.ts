import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { beforeEach, describe, test } from "node:test";
import { AppError } from "../../../src/domain/errors.js";
import type { KeyValueStore } from "../../../src/domain/ports.js";
import { decideRun } from "../../../src/domain/schedules/runner.js";
import { openStore } from "../../../src/store/index.js";
import { MemoryScanner } from "../../support/memory-scanner.js";
import { ManualClock } from "../memory-store.js";
import { scheduleRig } from "./rig.js";

const MINUTE = 60_000;
const at = (text: string) => Date.parse(text);
let clock: ManualClock;
let store: KeyValueStore;
let scanner: MemoryScanner;

beforeEach(async () => {
  clock = new ManualClock(at("2026-12-01T12:00:00Z"));
  store = await openStore({ url: "memory://" });
  scanner = new MemoryScanner();
});

async function approvedSchedule(rig: ReturnType<typeof scheduleRig>, words: string[]) {
  await rig.projects.create("UOPS", "CSEC", { name: "web-shop", url: "https://shop.example.com/" });
  const view = await rig.schedules.create("UOPS", "CSEC", "web-shop", words);
  await rig.schedules.decide(`${view.schedule.id}:1`, "UALICE", "approve", "CSEC");
  return view.schedule.id;
}

const starts = () => scanner.calls.filter((c) => c.startsWith("startScan")).length;

describe("running schedules on a controllable clock", () => {
  test("weekly in Europe/Berlin: runs at 02:00 local, once, card in the schedule's channel", async () => {
    const rig = scheduleRig({ store, clock, scanner });
    const id = await approvedSchedule(rig, ["weekly", "monday", "at", "02:00", "tz=Europe/Berlin"]);
    clock.set(at("2026-12-07T00:59:00Z"));
    await rig.runner.runDue();
    assert.equal(starts(), 0);
    clock.set(at("2026-12-07T01:00:00Z"));
    await rig.runner.runDue();
    await rig.runner.runOne(id);
    clock.advance(MINUTE);
    await rig.runner.runDue();
    assert.equal(starts(), 1);
    const schedule = await rig.book.get(id);
    const scanId = schedule?.lastRun?.scanId ?? "";
    assert.deepEqual(
      [schedule?.lastRun?.occurrence, schedule?.lastRun?.outcome],
      ["2026-12-07T02:00", "started"],
    );
    assert.ok(rig.said.includes(`card ${scanId} in CSEC by UOPS/UALICE`), rig.said.join("\n"));
    assert.equal((await rig.scans.getScan(scanId))?.scheduleId, id);
  });

  test("daily in America/New_York across the spring-forward night: each day once", async () => {
    const rig = scheduleRig({ store, clock, scanner, requireApproval: false });
    await rig.projects.create("UOPS", "CSEC", { name: "web-shop", url: "https://shop.example.com/" });
    await rig.schedules.create("UOPS", "CSEC", "web-shop", ["daily", "at", "02:30", "tz=America/New_York"]);
    // Every minute from 2027-03-13 06:00Z to 2027-03-15 09:00Z; scans end between runs.
    clock.set(at("2027-03-13T06:00:00Z"));
    const startedAt: string[] = [];
    while (clock.now() < at("2027-03-15T09:00:00Z")) {
      const before = starts();
      await rig.runner.runDue();
      if (starts() > before) startedAt.push(new Date(clock.now()).toISOString());
      for (const scan of scanner.scans.values()) scan.state = "finished";
      for (const scan of await rig.scans.listScans()) await rig.scanBook.observed(scan.scanId, "finished");
      clock.advance(MINUTE);
    }
    assert.deepEqual(startedAt, [
      "2027-03-13T07:30:00.000Z",
      "2027-03-14T07:30:00.000Z",
      "2027-03-15T06:30:00.000Z",
    ]);
  });

  test("pause and resume: nothing runs while paused, a slot missed while paused stays missed", async () => {
    const rig = scheduleRig({ store, clock, scanner });
    const id = await approvedSchedule(rig, ["daily", "at", "03:00"]);
    await rig.schedules.pause("UOPS", "CSEC", id);
    clock.set(at("2026-12-02T03:00:00Z"));
    await rig.runner.runDue();
    assert.equal(starts(), 0);
    clock.set(at("2026-12-02T03:05:00Z"));
    await rig.schedules.resume("UOPS", "CSEC", id);
    await rig.runner.runDue();
    await rig.runner.catchUp();
    assert.equal(starts(), 0, "the 03:00 slot passed while paused");
    clock.set(at("2026-12-03T03:00:00Z"));
    await rig.runner.runDue();
    assert.equal(starts(), 1);
  });

  test("a due run whose project has a scan running attaches to it and says so", async () => {
    const rig = scheduleRig({ store, clock, scanner });
    const id = await approvedSchedule(rig, ["daily", "at", "03:00"]);
    await rig.scans.requestScan("UOPS", "CSEC", "web-shop");
    const [request] = await rig.scans.pendingApprovals();
    assert.ok(request);
    await rig.scans.decide(request.id, "UBOB", "approve", "CSEC");
    assert.equal(starts(), 1);
    clock.set(at("2026-12-02T03:00:00Z"));
    await rig.runner.runDue();
    assert.equal(starts(), 1, "no second scan");
    assert.ok(rig.said.includes(`notice ${id} attached`));
    assert.equal((await rig.book.get(id))?.lastRun?.outcome, "attached");
  });

  test("a schedule whose project was deleted says so once, not at every occurrence", async () => {
    const rig = scheduleRig({ store, clock, scanner });
    const id = await approvedSchedule(rig, ["daily", "at", "03:00"]);
    const [project] = await rig.registry.list();
    assert.ok(project);
    await rig.projects.delete("UADMIN", "CSEC", project.id);
    for (const day of ["2026-12-02", "2026-12-03", "2026-12-04"]) {
      clock.set(at(`${day}T03:00:00Z`));
      await rig.runner.runDue();
    }
    assert.equal(starts(), 0);
    assert.equal(
      rig.said.filter((line) => line === `notice ${id} project_deleted`).length,
      1,
      rig.said.join("\n"),
    );
    const last = (await rig.book.get(id))?.lastRun;
    assert.deepEqual([last?.occurrence, last?.outcome], ["2026-12-04T03:00", "project_deleted"]);
  });

  test("a scanner failure is retried at most 5 times, then reported once", async () => {
    const rig = scheduleRig({ store, clock, scanner });
    const id = await approvedSchedule(rig, ["daily", "at", "03:00"]);
    const original = scanner.startScan.bind(scanner);
    let failures = 0;
    scanner.startScan = async () => {
      failures++;
      throw new AppError("unavailable", "The scanner is not answering.", { retryable: true });
    };
    clock.set(at("2026-12-02T03:00:00Z"));
    for (let minute = 0; minute < 90; minute++) {
      await rig.runner.runDue();
      clock.advance(MINUTE);
    }
    assert.equal(failures, 6, "the first attempt and 5 retries");
    assert.deepEqual(
      rig.said.filter((s) => s.startsWith("notice")),
      [`notice ${id} failed`],
    );
    const run = (await rig.book.get(id))?.lastRun;
    assert.deepEqual([run?.outcome, run?.attempts], ["failed", 6]);
    scanner.startScan = original;
  });

  test("a failure the scanner will not fix by asking again is reported at once", async () => {
    const rig = scheduleRig({ store, clock, scanner });
    const id = await approvedSchedule(rig, ["daily", "at", "03:00"]);
    scanner.failNext = new AppError("auth", "The scanner refused the API key.");
    clock.set(at("2026-12-02T03:00:00Z"));
    await rig.runner.runDue();
    clock.advance(5 * MINUTE);
    await rig.runner.runDue();
    assert.deepEqual(
      rig.said.filter((s) => s.startsWith("notice")),
      [`notice ${id} failed`],
    );
    assert.equal((await rig.book.get(id))?.lastRun?.attempts, 1);
  });

  test("catch-up after downtime: the most recent missed slot runs once, not one per slot", async () => {
    const rig = scheduleRig({ store, clock, scanner });
    await approvedSchedule(rig, ["daily", "at", "03:00"]);
    // Down for five days; the bot starts at 10:00 on the fifth.
    clock.set(at("2026-12-06T10:00:00Z"));
    await rig.runner.runDue();
    assert.equal(starts(), 0, "the normal sweep does not run a slot hours late");
    await rig.runner.catchUp();
    await rig.runner.catchUp();
    assert.equal(starts(), 1);
    // A restart later that day does not run it again.
    const again = scheduleRig({ store, clock, scanner });
    await again.runner.catchUp();
    assert.equal(starts(), 1);
  });

  test("SCHEDULE_CATCH_UP=none: a missed slot is not made up", async () => {
    const rig = scheduleRig({ store, clock, scanner, catchUp: "none" });
    await approvedSchedule(rig, ["daily", "at", "03:00"]);
    clock.set(at("2026-12-06T10:00:00Z"));
    await rig.runner.catchUp();
    assert.equal(starts(), 0);
  });

  test("a changed target does not run: it says so and asks for approval again", async () => {
    const rig = scheduleRig({ store, clock, scanner });
    const id = await approvedSchedule(rig, ["daily", "at", "03:00"]);
    const project = await rig.registry.resolve("web-shop");
    await rig.retarget(project, "https://elsewhere.example.org/");
    clock.set(at("2026-12-02T03:00:00Z"));
    await rig.runner.runDue();
    assert.equal(starts(), 0);
    assert.ok(rig.said.includes(`notice ${id} target_changed`));
    assert.ok(rig.said.includes(`approval card ${id} v2`));
    const schedule = await rig.book.get(id);
    assert.deepEqual(
      [schedule?.approval.status, schedule?.targetUrl],
      ["pending", "https://elsewhere.example.org/"],
    );
    // Approved again, the next slot runs against the new target.
    await rig.schedules.decide(`${id}:2`, "UBOB", "approve", "CSEC");
    clock.set(at("2026-12-03T03:00:00Z"));
    await rig.runner.runDue();
    assert.equal(starts(), 1);
  });
});

/** A store of its own on the shared server: Redis database 13 (flushed), or a new PostgreSQL database. */
function isolated(kind: "redis" | "postgres", base: string) {
  const url = new URL(base);
  const run = (command: string, args: string[]) => {
    const result = spawnSync(command, args, { encoding: "utf8", timeout: 30_000 });
    if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
  };
  if (kind === "redis") {
    url.pathname = "/13";
    const flush = () => run("redis-cli", ["-u", url.toString(), "FLUSHDB"]);
    flush();
    return { url: url.toString(), drop: flush };
  }
  const name = `schedules_${process.pid}_${randomBytes(3).toString("hex")}`;
  run("psql", [base, "-v", "ON_ERROR_STOP=1", "-qc", `CREATE DATABASE ${name}`]);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => run("psql", [base, "-qc", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]),
  };
}

describe("two replicas on one real store start each occurrence once", () => {
  for (const backend of [
    { name: "memory", env: undefined },
    { name: "redis", env: "TEST_REDIS_URL" },
    { name: "postgres", env: "TEST_POSTGRES_URL" },
  ] as const) {
    test(`two runners, both paths, every 10 minutes for three days (${backend.name})`, async (t) => {
      const base = backend.env ? process.env[backend.env] : undefined;
      if (backend.env && !base) {
        if (process.env.CI === "true") assert.fail(`${backend.env} is not set in CI`);
        t.skip(`${backend.env} is not set`);
        return;
      }
      const own = backend.env && base ? isolated(backend.name as "redis" | "postgres", base) : undefined;
      // Two Redis connections are two replicas; @keyv/postgres shares one pool per URL in a process,
      // so PostgreSQL (like the in-process memory store) is one store object under two runners.
      const first = own ? await openStore({ url: own.url }) : store;
      const stores = [first, backend.name === "redis" && own ? await openStore({ url: own.url }) : first];
      const said: string[] = [];
      const a = scheduleRig({ store: stores[0] ?? store, clock, scanner, said });
      const b = scheduleRig({ store: stores[1] ?? store, clock, scanner, said });
      try {
        const id = await approvedSchedule(a, ["daily", "at", "03:00", "tz=Europe/Berlin"]);
        clock.set(at("2026-12-02T00:00:00Z"));
        while (clock.now() < at("2026-12-05T00:00:00Z")) {
          await Promise.all([a.runner.runDue(), b.runner.runDue(), a.runner.runOne(id), b.runner.runOne(id)]);
          for (const scan of scanner.scans.values()) scan.state = "finished";
          for (const scan of await a.scans.listScans()) await a.scanBook.observed(scan.scanId, "finished");
          clock.advance(10 * MINUTE);
        }
        assert.equal(starts(), 3, "one scan per day");
        assert.equal(said.filter((s) => s.startsWith("card")).length, 3);
      } finally {
        if (own) {
          // The rigs' audit batches are written 200 ms after their last entry: written now, not by a
          // timer after the store closed (that write reconnected the closed Redis client, whose socket
          // then kept this file's process alive).
          await Promise.allSettled([a.audit.flush(), b.audit.flush()]);
          for (const s of new Set(stores)) await s.close();
          own.drop();
        }
      }
    });
  }
});

test("decideRun: only ever the latest occurrence, never a burst", () => {
  const schedule = {
    activeSince: at("2026-11-01T00:00:00Z"),
    lastRun: { occurrence: "2026-11-02T03:00", due: 0, at: 0, outcome: "started" as const },
  } as Parameters<typeof decideRun>[0]["schedule"];
  const latest = { key: "2026-12-01T03:00", at: at("2026-12-01T03:00:00Z") };
  const now = at("2026-12-01T12:00:00Z");
  assert.deepEqual(decideRun({ schedule, approved: true, latest, now, graceMs: Infinity }), {
    kind: "run",
    occurrence: latest,
    attempt: 0,
  });
  assert.equal(decideRun({ schedule, approved: true, latest, now, graceMs: 15 * MINUTE }).kind, "none");
  assert.equal(decideRun({ schedule, approved: false, latest, now, graceMs: Infinity }).kind, "none");
});
