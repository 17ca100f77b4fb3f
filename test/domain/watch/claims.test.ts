import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { KeyValueStore, ScanRef, ScanStatus } from "../../../src/domain/ports.js";
import type { ScanRecord } from "../../../src/domain/scans.js";
import { DEFAULT_WATCHER_OPTIONS } from "../../../src/domain/watch/index.js";
import { openStore } from "../../../src/store/index.js";
import { cleanups, INTERVAL, setup } from "./harness.js";

/** Poll claims between replicas: never two polls of one scan at once, and no scan left to a dead replica. */

test("two instances on one store: concurrent ticks never poll a scan twice", async () => {
  const t = await setup({ maxRequestsPerMinute: 1000 });
  const other = t.make();
  t.scanner.delayMs = 2;
  const scans = [];
  for (let i = 0; i < 30; i++) {
    scans.push(t.scan("running"));
    await (i % 2 ? t.watcher : other).watch(scans[i] as ScanRecord);
  }
  let contended = 0;
  for (let i = 0; i < 40; i++) {
    t.clock.advance(15_000);
    const reports = await Promise.all([t.watcher.tick(), other.tick(), t.watcher.tick()]);
    contended += reports.reduce((n, r) => n + r.contended, 0);
    assert.ok(reports[2]?.skipped, "a second tick of the same instance is skipped while one runs");
  }
  assert.ok(contended > 0);
  // 10 minutes: polls at 2, 4, 6, 8, 10 min.
  for (const scan of scans) assert.equal(t.scanner.count("status", scan.scanId), 5, `scan ${scan.scanId}`);
});

test("by default a dead replica's scans are taken over within two poll intervals", () => {
  const o = DEFAULT_WATCHER_OPTIONS;
  // Lifetime of the dead holder's claim, then the next tick of another replica.
  assert.ok(o.pollClaimTtlMs + o.tickMs <= 2 * o.pollIntervalMs);
});

/** The same store under other names, so a test on a shared Redis/PostgreSQL sees only its own records. */
function isolated(inner: KeyValueStore, prefix: string): KeyValueStore {
  const ns = (name: string) => `${prefix}-${name}`;
  return {
    get: (n, key) => inner.get(ns(n), key),
    set: (n, key, value, ttl) => inner.set(ns(n), key, value, ttl),
    add: (n, key, value, ttl) => inner.add(ns(n), key, value, ttl),
    delete: (n, key) => inner.delete(ns(n), key),
    entries: (n) => inner.entries(ns(n)),
    leases: {
      acquire: (key, holder, ttl) => inner.leases.acquire(ns(key), holder, ttl),
      renew: (key, holder, ttl) => inner.leases.renew(ns(key), holder, ttl),
      release: (key, holder) => inner.leases.release(ns(key), holder),
    },
    ping: () => inner.ping(),
    close: async () => {},
  };
}

/** A replica's view of the store that can die: from `kill()` on, nothing it sends arrives or returns. */
function mortal(inner: KeyValueStore) {
  let dead = false;
  const live =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      dead ? new Promise<R>(() => {}) : fn(...args);
  const store: KeyValueStore = {
    get: live((n: string, key: string) => inner.get(n, key)),
    set: live((n: string, key: string, value: unknown, ttl?: number) => inner.set(n, key, value, ttl)),
    add: live((n: string, key: string, value: unknown, ttl?: number) => inner.add(n, key, value, ttl)),
    delete: live((n: string, key: string) => inner.delete(n, key)),
    entries: live((n: string) => inner.entries(n)),
    leases: {
      acquire: live((key: string, holder: string, ttl: number) => inner.leases.acquire(key, holder, ttl)),
      renew: live((key: string, holder: string, ttl: number) => inner.leases.renew(key, holder, ttl)),
      release: live((key: string, holder: string) => inner.leases.release(key, holder)),
    },
    ping: live(() => inner.ping()),
    close: async () => {},
  } as KeyValueStore;
  return {
    store,
    kill: () => {
      dead = true;
    },
  };
}

const backends = [
  { name: "memory", url: "memory://" as string | undefined, env: "" },
  { name: "redis", url: process.env.TEST_REDIS_URL, env: "TEST_REDIS_URL" },
  { name: "postgres", url: process.env.TEST_POSTGRES_URL, env: "TEST_POSTGRES_URL" },
];

for (const backend of backends) {
  test(`a replica that dies mid-poll: another takes its scan over once the claim lifetime has passed (${backend.name})`, async (t) => {
    const url = backend.url;
    if (url === undefined) {
      const reason = `${backend.env} is not set; start a local ${backend.name} server to run this`;
      if (process.env.CI === "true") assert.fail(reason);
      t.skip(reason);
      return;
    }
    const base = await openStore({ url });
    cleanups.push(() => base.close());
    const shared = isolated(base, `claims-${process.pid}-${Date.now()}`);
    // Real milliseconds: lease lifetimes run on the store's clock.
    // Long enough that a loaded machine still renews in time.
    const ttl = 1000;
    const w = await setup({ pollClaimTtlMs: ttl }, shared);
    const doomed = mortal(shared);
    let entered: () => void = () => {};
    const inPoll = new Promise<void>((resolve) => {
      entered = resolve;
    });
    // The doomed replica's status call never returns: it is mid-poll when it dies.
    const stuckScanner = Object.create(w.scanner) as typeof w.scanner;
    stuckScanner.getScanStatus = (_ref: ScanRef) => {
      entered();
      return new Promise<ScanStatus>(() => {});
    };
    const a = w.make({}, { store: doomed.store, scanner: stuckScanner });
    const b = w.watcher;
    const scan = w.scan("queued");
    await a.watch(scan);
    w.scanner.states.set(scan.scanId, "running");

    w.clock.advance(INTERVAL);
    void a.tick();
    await inPoll;

    // Alive (its claim renewed) for several lifetimes: the other replica leaves the scan alone.
    for (let i = 0; i < 4; i++) {
      await sleep(ttl / 2);
      const report = await w.tickAfter(INTERVAL, b);
      assert.equal(report.contended, 1, "the live holder's claim is respected");
    }
    assert.equal(w.scanner.count("status", scan.scanId), 0);
    assert.ok(
      w.logs
        .records()
        .some((l) => l.level === "warn" && String(l.msg).startsWith("a due scan keeps meeting a poll claim")),
      "a due scan kept waiting on a held claim is a warning",
    );

    // Dies: no renewal reaches the store any more.
    doomed.kill();
    const died = Date.now();
    let tookOverAfterMs: number | undefined;
    for (let i = 0; i < 20 && tookOverAfterMs === undefined; i++) {
      await sleep(ttl / 4);
      await w.tickAfter(15_000, b);
      if (w.scanner.count("status", scan.scanId) > 0) tookOverAfterMs = Date.now() - died;
    }
    assert.ok(tookOverAfterMs !== undefined, "taken over");
    // One lifetime plus one tick (here every ttl/4), with scheduling slack.
    assert.ok(tookOverAfterMs <= ttl + ttl / 4 + 750, `taken over after ${tookOverAfterMs} ms`);
    assert.ok(w.logs.records().some((l) => l.level === "warn" && String(l.msg).includes("scan taken over")));
    assert.deepEqual(w.output.effects(scan.scanId), ["state:running"], "announced once, by the survivor");
    assert.equal(w.scanner.count("status", scan.scanId), 1);
  });
}
