import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AppError } from "../../src/domain/errors.js";
import { openStore, type StoreHealthChange } from "../../src/store/index.js";
import { redisServerAvailable, startOwnRedis } from "../faults/redis.js";
import { TcpProxy } from "../faults/tcp-proxy.js";

/**
 * A Redis of the test's own (never the shared one) behind a loopback proxy that can be cut: during an
 * outage every operation fails within the operation timeout with AppError("store") (commands are not
 * queued until the store is back), the store says once that it went and once that it is back, and what
 * was written before is still there. A server that hangs (CLIENT PAUSE) is bounded the same way.
 */

async function timed<T>(work: Promise<T>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  try {
    await work;
    return { ms: Date.now() - started, error: undefined };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

/**
 * node:test runs a test's after hooks in the order they were added, so three t.after calls stopped the
 * Redis server first and closed the store last, under a client still reconnecting through the proxy.
 * What a test opens is closed in reverse: the store, then the proxy, then the server.
 */
function closer(t: TestContext): (close: () => Promise<void>) => void {
  const closes: Array<() => Promise<void>> = [];
  t.after(async () => {
    let failure: unknown;
    for (const close of closes.reverse()) {
      try {
        await close();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  });
  return (close) => {
    closes.push(close);
  };
}

async function until(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test("Redis outage: operations fail fast with a store error, one 'unreachable', one 'back', nothing lost", {
  timeout: 120_000,
}, async (t) => {
  const later = closer(t);
  if (!redisServerAvailable(t)) return;
  const redis = await startOwnRedis();
  later(() => redis.stop());
  const proxy = await TcpProxy.start({ host: "127.0.0.1", port: redis.port });
  later(() => proxy.close());
  const changes: StoreHealthChange[] = [];
  const store = await openStore({ url: `redis://127.0.0.1:${proxy.port}`, onHealth: (c) => changes.push(c) });
  later(() => store.close());
  await store.set("scans", "s1", { state: "running" });

  await proxy.cut();
  const attempts = [];
  for (let i = 0; i < 5; i++) {
    attempts.push(await timed(store.get("scans", "s1")));
    await sleep(300);
  }
  for (const attempt of attempts) {
    assert.ok(attempt.error instanceof AppError && attempt.error.kind === "store", String(attempt.error));
    assert.equal(attempt.error.userMessage, "The bot's store is unreachable right now.");
    assert.ok(attempt.ms < 2500, `answered in ${attempt.ms} ms`);
  }
  await until("the unreachable report", () => changes.length > 0, 5000);
  await sleep(3000);
  assert.deepEqual(
    changes.map((c) => c.state),
    ["unreachable"],
  );

  await proxy.restore();
  // The client reconnects within its 5 s backoff ceiling and the probe (every 2 s) says so.
  await until("the back report", () => changes.length > 1, 15_000);
  await sleep(2500);
  assert.deepEqual(
    changes.map((c) => c.state),
    ["unreachable", "back"],
  );
  assert.deepEqual(await store.get("scans", "s1"), { state: "running" });
});

test("Redis that hangs (CLIENT PAUSE): an operation gives up within the timeout, then works again", {
  timeout: 120_000,
}, async (t) => {
  const later = closer(t);
  if (!redisServerAvailable(t)) return;
  const redis = await startOwnRedis();
  later(() => redis.stop());
  const changes: StoreHealthChange[] = [];
  const store = await openStore({ url: redis.url, onHealth: (c) => changes.push(c) });
  later(() => store.close());
  await store.set("scans", "s1", 1);
  const paused = spawnSync("redis-cli", ["-p", String(redis.port), "CLIENT", "PAUSE", "5000", "ALL"], {
    encoding: "utf8",
  });
  assert.equal(paused.stdout.trim(), "OK", paused.stderr);
  const attempt = await timed(store.get("scans", "s1"));
  assert.ok(attempt.error instanceof AppError && attempt.error.kind === "store", String(attempt.error));
  assert.ok(attempt.ms >= 1500 && attempt.ms < 3000, `gave up after ${attempt.ms} ms`);
  await until("the back report", () => changes.some((c) => c.state === "back"), 15_000);
  assert.deepEqual(
    changes.map((c) => c.state),
    ["unreachable", "back"],
  );
  assert.equal(await store.get("scans", "s1"), 1);
});

test("PostgreSQL outage: the bot survives dropped connections, answers fast, says once each way", {
  timeout: 120_000,
}, async (t) => {
  const later = closer(t);
  const base = process.env.TEST_POSTGRES_URL;
  if (base === undefined) {
    const reason = "TEST_POSTGRES_URL is not set; start .ci/services to run this";
    if (process.env.CI === "true") assert.fail(reason);
    t.skip(reason);
    return;
  }
  const target = new URL(base);
  const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  later(() => proxy.close());
  const url = new URL(base);
  url.port = String(proxy.port);
  const changes: StoreHealthChange[] = [];
  const store = await openStore({ url: url.toString(), onHealth: (c) => changes.push(c) });
  later(() => store.close());
  const namespace = `outage-${process.pid}-${Date.now()}`;
  await store.set(namespace, "s1", { state: "running" });

  // The pool's idle connections are cut under it: node-postgres reports that as an "error" event on
  // a pool @keyv/postgres gives no listener, which used to end the process (this test's, here).
  await proxy.cut();
  await sleep(500);
  for (let i = 0; i < 3; i++) {
    const attempt = await timed(store.get(namespace, "s1"));
    assert.ok(attempt.error instanceof AppError && attempt.error.kind === "store", String(attempt.error));
    assert.ok(attempt.ms < 2500, `answered in ${attempt.ms} ms`);
  }
  await until("the unreachable report", () => changes.length > 0, 5000);
  await proxy.restore();
  await until("the back report", () => changes.length > 1, 15_000);
  await sleep(2500);
  assert.deepEqual(
    changes.map((c) => c.state),
    ["unreachable", "back"],
  );
  assert.deepEqual(await store.get(namespace, "s1"), { state: "running" });
  await store.delete(namespace, "s1");
});

test("Redis: a dozen namespaces on the one shared client print no MaxListenersExceededWarning", async (t) => {
  const later = closer(t);
  const url = process.env.TEST_REDIS_URL;
  if (url === undefined) {
    const reason = "TEST_REDIS_URL is not set; start .ci/services to run this";
    if (process.env.CI === "true") assert.fail(reason);
    t.skip(reason);
    return;
  }
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
  process.on("warning", onWarning);
  t.after(() => process.off("warning", onWarning));
  const store = await openStore({ url });
  later(() => store.close());
  const namespace = `listeners-${process.pid}-${Date.now()}`;
  for (let i = 0; i < 14; i++) await store.get(`${namespace}-${i}`, "k");
  await sleep(100);
  assert.deepEqual(
    warnings.filter((w) => /MaxListeners/.test(w)),
    [],
  );
});

test("PostgreSQL: a listing cut short by the outage fails; it never passes for an empty list", {
  timeout: 120_000,
}, async (t) => {
  const later = closer(t);
  const base = process.env.TEST_POSTGRES_URL;
  if (base === undefined) {
    const reason = "TEST_POSTGRES_URL is not set; start .ci/services to run this";
    if (process.env.CI === "true") assert.fail(reason);
    t.skip(reason);
    return;
  }
  const target = new URL(base);
  const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  later(() => proxy.close());
  const url = new URL(base);
  url.port = String(proxy.port);
  const store = await openStore({ url: url.toString() });
  later(() => store.close());
  const namespace = `listing-${process.pid}-${Date.now()}`;
  await store.set(namespace, "p1", { name: "shop" });
  assert.equal((await store.entries(namespace)).length, 1);
  await proxy.cut();
  const listed = await timed(store.entries(namespace));
  assert.ok(listed.error instanceof AppError && listed.error.kind === "store", String(listed.error));
  await proxy.restore();
  let entries: unknown[] = [];
  for (let i = 0; i < 40 && entries.length === 0; i++) {
    entries = await store.entries(namespace).catch(() => []);
    if (entries.length === 0) await sleep(250);
  }
  assert.equal(entries.length, 1);
  await store.delete(namespace, "p1");
});
