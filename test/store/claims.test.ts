import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { openStore } from "../../src/store/index.js";

/** Leases (poll claims) on every backend; Redis and PostgreSQL as in contract.test.ts. */

const dir = await mkdtemp(path.join(tmpdir(), "chatops-leases-"));
after(() => rm(dir, { recursive: true, force: true }));

const backends = [
  { name: "memory", url: "memory://" as string | undefined, env: "" },
  { name: "sqlite", url: `sqlite://${path.join(dir, "leases.sqlite")}` as string | undefined, env: "" },
  { name: "redis", url: process.env.TEST_REDIS_URL, env: "TEST_REDIS_URL" },
  { name: "postgres", url: process.env.TEST_POSTGRES_URL, env: "TEST_POSTGRES_URL" },
];

for (const backend of backends) {
  test(`leases: one holder, renewed and released only by it, free once expired (${backend.name})`, async (t) => {
    const url = backend.url;
    if (url === undefined) {
      const reason = `${backend.env} is not set; start a local ${backend.name} server to run this`;
      if (process.env.CI === "true") assert.fail(reason);
      t.skip(reason);
      return;
    }
    const store = await openStore({ url });
    t.after(() => store.close());
    const { leases } = store;
    const key = `lease-${process.pid}-${Date.now()}`;
    assert.equal(await leases.acquire(key, "a", 1000), true);
    assert.equal(await leases.acquire(key, "b", 1000), false, "held");
    assert.equal(await leases.renew(key, "b", 1000), false, "only the holder renews");
    await leases.release(key, "b");
    assert.equal(await leases.acquire(key, "b", 1000), false, "only the holder releases");

    // Renewed past its first lifetime, it stays held.
    for (let i = 0; i < 4; i++) {
      await sleep(300);
      assert.equal(await leases.renew(key, "a", 1000), true);
    }
    assert.equal(await leases.acquire(key, "b", 1000), false);

    // Not renewed: free after its lifetime, and the old holder can no longer renew it.
    await sleep(1200);
    assert.equal(await leases.renew(key, "a", 1000), false);
    assert.equal(await leases.acquire(key, "b", 1000), true);
    await leases.release(key, "a");
    assert.equal(await leases.acquire(key, "c", 1000), false, "the late holder did not drop the new one's");
    await leases.release(key, "b");
    assert.equal(await leases.acquire(key, "c", 1000), true);
    await leases.release(key, "c");
  });
}
