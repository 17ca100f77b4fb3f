import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AuditTrail } from "../../src/domain/audit.js";
import { AppError } from "../../src/domain/errors.js";
import { openStore } from "../../src/store/index.js";
import { redisServerAvailable, startOwnRedis } from "../faults/redis.js";
import { captureLogger } from "../support/logs.js";

/**
 * Closing a store closes it: close() settles whatever the connection does meanwhile, and nothing used
 * after close opens a connection again (either one left a test file's or the bot's process waiting).
 * Each test has a Redis of its own, so CLIENT LIST shows this store's connections and no one else's.
 */

/** A store on a redis-server of the test's own, stopped after it; undefined (skipped) without one. */
async function ownRedisStore(t: TestContext) {
  if (!redisServerAvailable(t)) return undefined;
  const redis = await startOwnRedis();
  t.after(() => redis.stop());
  return { redis, store: await openStore({ url: redis.url }) };
}

/** The server's clients other than the redis-cli asking. */
function clients(port: number): string[] {
  const listed = spawnSync("redis-cli", ["-p", String(port), "CLIENT", "LIST"], { encoding: "utf8" });
  assert.equal(listed.status, 0, listed.stderr);
  return listed.stdout.split("\n").filter((line) => line.trim() !== "" && !line.includes("cmd=client|list"));
}

test("Redis: close() settles when the connection drops while a command waits for its reply", {
  timeout: 60_000,
}, async (t) => {
  const own = await ownRedisStore(t);
  if (!own) return;
  const { redis, store } = own;
  await store.set("scans", "s1", 1);
  // The server holds its reply; the store closes meanwhile, then the server goes away.
  const paused = spawnSync("redis-cli", ["-p", String(redis.port), "CLIENT", "PAUSE", "10000", "ALL"], {
    encoding: "utf8",
  });
  assert.equal(paused.stdout.trim(), "OK", paused.stderr);
  const waiting = store.get("scans", "s1").then(
    () => "answered",
    (error: unknown) => (error instanceof AppError && error.kind === "store" ? "store error" : String(error)),
  );
  await sleep(100);
  const closed = store.close().then(() => "closed");
  await redis.stop();
  // node-redis's graceful close() waited for that reply forever, holding no handle: this process's
  // event loop ran dry with the test still pending.
  assert.equal(await Promise.race([closed, sleep(5000).then(() => "still closing after 5 s")]), "closed");
  assert.equal(await waiting, "store error");
});

test("Redis: a closed store refuses a late write and opens no connection for it", {
  timeout: 60_000,
}, async (t) => {
  const own = await ownRedisStore(t);
  if (!own) return;
  const { redis, store } = own;
  // Used as a schedule runner and its audit trail use it: claims (add), reads, writes, a listing.
  assert.equal(await store.add("schedule-runs", "r1|v1|2026-12-02T03:00|0", { at: 1 }), true);
  await store.set("schedules", "r1", { id: "r1" });
  assert.equal((await store.entries("schedules")).length, 1);
  const logs = captureLogger();
  const audit = new AuditTrail(store, { now: () => Date.now() }, { batchMs: 50, logger: logs.logger });
  await audit.record({ user: "UOPS", action: "scan.start", target: "s1", outcome: "ok" });
  assert.equal(clients(redis.port).length, 1, "the store's one connection");

  // The audit batch's timer fires after the store closed: its write used to reconnect the client.
  await store.close();
  await sleep(300);
  assert.deepEqual(clients(redis.port), []);
  assert.match(logs.text(), /audit write failed/);
  await assert.rejects(
    store.get("schedules", "r1"),
    (error: unknown) => error instanceof AppError && error.kind === "store",
  );
  assert.deepEqual(clients(redis.port), []);
});

test("memory: a closed store refuses operations too", async () => {
  const store = await openStore({ url: "memory://" });
  await store.set("scans", "s1", 1);
  await store.close();
  await assert.rejects(
    store.get("scans", "s1"),
    (error: unknown) =>
      error instanceof AppError && error.kind === "store" && /after the store was closed/.test(error.message),
  );
});
