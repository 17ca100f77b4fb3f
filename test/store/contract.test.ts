import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AuditTrail } from "../../src/domain/audit.js";
import { Authorizer } from "../../src/domain/authz.js";
import { AppError } from "../../src/domain/errors.js";
import { FindingDecisionService } from "../../src/domain/findings/decisions.js";
import { FindingsHistory } from "../../src/domain/findings/history.js";
import { type FindingsSummary, type KeyValueStore, systemClock } from "../../src/domain/ports.js";
import { ProjectRegistry } from "../../src/domain/projects.js";
import { ScheduleBook } from "../../src/domain/schedules/record.js";
import { DigestLog } from "../../src/domain/subscriptions/digest.js";
import type { Notice } from "../../src/domain/subscriptions/matching.js";
import { type NoticeOutput, Outbox } from "../../src/domain/subscriptions/outbox.js";
import {
  type Subscription,
  SubscriptionBook,
  subscriptionId,
} from "../../src/domain/subscriptions/records.js";
import { describeStoreUrl, openStore } from "../../src/store/index.js";
import { captureLogger } from "../support/logs.js";

const dir = await mkdtemp(path.join(tmpdir(), "chatops-store-"));
after(() => rm(dir, { recursive: true, force: true }));

/**
 * One contract, every backend. Redis and Postgres run when TEST_REDIS_URL / TEST_POSTGRES_URL point at
 * real servers (.ci/run starts both); elsewhere they skip visibly, and under CI=true their absence fails.
 */
const backends: Array<{ name: string; url: string | undefined; env?: string }> = [
  { name: "memory", url: "memory://" },
  { name: "sqlite", url: `sqlite://${path.join(dir, "nested", "contract.sqlite")}` },
  { name: "redis", url: process.env.TEST_REDIS_URL, env: "TEST_REDIS_URL" },
  { name: "postgres", url: process.env.TEST_POSTGRES_URL, env: "TEST_POSTGRES_URL" },
];

let unique = 0;
const ns = (base: string) => `${base}-${process.pid}-${Date.now()}-${unique++}`;

for (const backend of backends) {
  describe(`store contract: ${backend.name}`, () => {
    let store: KeyValueStore;
    const url = backend.url;
    if (url === undefined) {
      const reason = `${backend.env} is not set; start a local ${backend.name} server to run these`;
      if (process.env.CI === "true") {
        test(`${backend.name} server is configured in CI`, () => assert.fail(`${reason} (.ci/run should)`));
      } else {
        test(`${backend.name} (skipped: ${reason})`, (t) => t.skip(reason));
      }
      return;
    }

    test("opens and answers", async () => {
      store = await openStore({ url });
    });

    test("get of a missing key is undefined; set/get round-trips JSON", async () => {
      const space = ns("roundtrip");
      assert.equal(await store.get(space, "nope"), undefined);
      const value = { scanId: "42", tags: ["a", "b"], nested: { n: 1.5, ok: true, none: null } };
      await store.set(space, "k", value);
      assert.deepEqual(await store.get(space, "k"), value);
      await store.set(space, "k", { replaced: true });
      assert.deepEqual(await store.get(space, "k"), { replaced: true });
    });

    test("namespaces are isolated and entries lists one namespace", async () => {
      const a = ns("a");
      const b = ns("b");
      await store.set(a, "one", 1);
      await store.set(a, "two", 2);
      await store.set(b, "one", "other");
      const entries = (await store.entries<number>(a)).sort(([x], [y]) => x.localeCompare(y));
      assert.deepEqual(entries, [
        ["one", 1],
        ["two", 2],
      ]);
      assert.equal(await store.get(b, "one"), "other");
    });

    test("150 listings of one namespace at once all complete, and keyv warns of no listener leak", async (t) => {
      const space = ns("listings");
      await store.set(space, "one", 1);
      const warned: unknown[] = [];
      t.mock.method(console, "warn", (...args: unknown[]) => warned.push(args));
      const listings = await Promise.all(Array.from({ length: 150 }, () => store.entries<number>(space)));
      for (const entries of listings) assert.deepEqual(entries, [["one", 1]]);
      assert.deepEqual(warned, []);
    });

    test("delete removes and reports whether something was there", async () => {
      const space = ns("delete");
      await store.set(space, "k", "v");
      assert.equal(await store.delete(space, "k"), true);
      assert.equal(await store.get(space, "k"), undefined);
      assert.equal(await store.delete(space, "k"), false);
    });

    test("values expire after their TTL", async () => {
      const space = ns("ttl");
      await store.set(space, "short", "v", 150);
      await store.set(space, "long", "v", 60_000);
      assert.equal(await store.get(space, "short"), "v");
      await sleep(400);
      assert.equal(await store.get(space, "short"), undefined);
      assert.equal(await store.get(space, "long"), "v");
      assert.deepEqual(
        (await store.entries(space)).map(([key]) => key),
        ["long"],
      );
    });

    test("add: exactly one of many concurrent callers wins", async () => {
      const space = ns("add");
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => store.add(space, "approval", { by: `U${i}` })),
      );
      assert.equal(results.filter(Boolean).length, 1);
      const winner = results.indexOf(true);
      assert.deepEqual(await store.get(space, "approval"), { by: `U${winner}` });
    });

    test("add: refused while a value set() is present, allowed after delete and after expiry", async () => {
      const space = ns("add2");
      await store.set(space, "plain", 1);
      assert.equal(await store.add(space, "plain", 2), false);
      assert.equal(await store.get(space, "plain"), 1);

      assert.equal(await store.add(space, "k", "first"), true);
      assert.equal(await store.delete(space, "k"), true);
      assert.equal(await store.add(space, "k", "second"), true);
      assert.equal(await store.get(space, "k"), "second");

      assert.equal(await store.add(space, "brief", "x", 150), true);
      assert.equal(await store.add(space, "brief", "y", 150), false);
      await sleep(400);
      assert.equal(await store.add(space, "brief", "z", 150), true);
      assert.equal(await store.get(space, "brief"), "z");
    });

    test("finding decisions: one of two concurrent approvers wins; the decision reads back in force", async () => {
      const projectId = ns("project");
      const registry = new ProjectRegistry(store, systemClock);
      const project = await registry.save(
        { id: projectId, name: projectId, url: "https://shop.example" },
        { backend: "memory", createdBy: "UOPS", linked: false, reserved: false },
      );
      const audit = new AuditTrail(store, systemClock);
      const authz = new Authorizer(
        { admins: [], approvers: ["UALICE", "UBOB"], operators: ["UOPS"], allowedChannels: [] },
        async () => [],
      );
      // Two replicas over the one store.
      const replica = () =>
        new FindingDecisionService({
          store,
          clock: systemClock,
          authz,
          projects: registry,
          audit,
          audience: { approverCanSee: async () => true },
          policy: { approvalTtlMs: 3600_000 },
        });
      const request = await replica().open("UOPS", "CSEC", {
        projectId,
        fingerprint: "fp-sqli",
        kind: "accepted",
        reason: "Behind the VPN until the rewrite",
        days: 30,
      });
      const results = await Promise.allSettled(
        ["UALICE", "UBOB"].map((user) => replica().decide(request.id, user, "approve", "CSEC")),
      );
      const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      assert.equal(won.length, 1, "exactly one decision");
      const decision = (await replica().inForce(projectId, Date.now())).get("fp-sqli");
      assert.equal(decision?.approvedBy, won[0]?.decidedBy);
      assert.equal(decision?.expiresAt, won[0]?.validUntil);
      assert.equal((await replica().get(request.id))?.status, "approved");
      await audit.flush();
      await store.delete("finding-decisions", request.id);
      await store.delete("finding-decision-votes", request.id);
      await registry.remove(project);
    });

    test("findings history: results, findings and the project index round-trip and expire", async () => {
      const projectId = ns("history-project");
      const history = new FindingsHistory({
        store,
        clock: { now: () => Date.now() },
        decisions: { inForce: async () => new Map() },
        // 600 ms: long enough for the writes, short enough to watch the TTL end.
        options: { retentionDays: 600 / 86_400_000 },
      });
      const summary = (titles: string[]): FindingsSummary => ({
        counts: { critical: 0, high: titles.length, medium: 0, low: 0, info: 0 },
        total: titles.length,
        findings: titles.map((title) => ({
          title,
          severity: "high",
          category: "xss",
          slug: "xss",
          location: { path: `/${title}`, parameter: "q" },
        })),
      });
      const ended = (scanId: string, titles: string[]) => ({
        scanId,
        projectId,
        scanner: "crashtest",
        outcome: "finished" as const,
        startedAt: Date.now() - 1000,
        endedAt: Date.now(),
        summary: summary(titles),
      });
      const first = await history.record(ended(`${projectId}-1`, ["a", "b"]));
      assert.equal(first.result.diff.first, true);
      const second = await history.record(ended(`${projectId}-2`, ["b", "c"]));
      assert.deepEqual(
        [second.result.diff.new.high, second.result.diff.fixed.high, second.result.diff.open.high],
        [1, 1, 1],
      );
      assert.deepEqual(await history.result(`${projectId}-2`), second.result);
      const listed = await history.current(projectId);
      assert.deepEqual(listed?.findings.map((f) => [f.title, f.status]).sort(), [
        ["a", "fixed"],
        ["b", "open"],
        ["c", "new"],
      ]);
      await sleep(900);
      assert.equal(await history.result(`${projectId}-2`), undefined);
      assert.equal(await history.current(projectId), undefined);
    });

    test("subscription records: book, outbox and digest log keep their promises", async () => {
      // Fixed namespaces on a shared server: everything here is keyed by this run's own channel.
      const channel = `C${unique++}X${process.pid}${Date.now()}`;
      const user = `U${unique++}X${process.pid}`;
      const book = new SubscriptionBook(store);
      const subscription: Subscription = {
        id: subscriptionId(channel, "p1"),
        channel,
        projectId: "p1",
        projectName: "web-shop",
        events: ["finished", "new-findings"],
        minSeverity: "high",
        digest: { every: "weekly", day: 1, hour: 9, minute: 0 },
        createdBy: user,
        createdAt: 1,
        updatedAt: 1,
      };
      await book.save(subscription);
      await book.save({ ...subscription, id: subscriptionId(channel, "*"), projectId: "*", createdAt: 2 });
      assert.deepEqual(await book.get(subscription.id), subscription);
      assert.deepEqual(
        (await book.forChannel(channel)).map((x) => x.projectId),
        ["p1", "*"],
      );
      await book.saveChannel({
        channel,
        timezone: "Europe/Berlin",
        quiet: { from: 1320, to: 420 },
        updatedAt: 3,
      });
      assert.equal((await book.channel(channel))?.quiet?.from, 1320);
      assert.equal(await book.dmWanted(user), true);
      await book.savePreference({ user, dm: false, updatedAt: 4 });
      assert.equal(await book.dmWanted(user), false);

      const digests = new DigestLog(store);
      const notice: Notice = {
        kind: "finished",
        key: `scan:${channel}:ended`,
        at: 5,
        projectId: "p1",
        projectName: "web-shop",
      };
      assert.equal(await digests.record(subscription, notice), true);
      assert.equal(await digests.record(subscription, notice), false, "the same event is logged once");
      assert.equal((await digests.of(subscription.id)).length, 1);
      await digests.drop((await digests.of(subscription.id)).map(([k]) => k));
      assert.equal((await digests.of(subscription.id)).length, 0);

      // The outbox: one message per pass, the same event once, and a lost answer is not posted again.
      const posted: string[] = [];
      let loseAnswer = true;
      const output: NoticeOutput = {
        async deliver(destination, notices, batchId) {
          if (destination !== channel) throw new Error("another run's notice");
          posted.push(`${batchId}:${notices.length}`);
          if (loseAnswer) {
            loseAnswer = false;
            throw new Error("connection reset after the post");
          }
        },
        async delivered(destination, batchId) {
          return destination === channel && posted.some((p) => p.startsWith(`${batchId}:`));
        },
      };
      let now = Date.UTC(2026, 0, 5, 12, 0); // outside the quiet hours set above
      const outbox = new Outbox({
        store,
        clock: { now: () => now },
        book,
        output,
        logger: captureLogger().logger,
      });
      assert.equal(await outbox.enqueue(channel, notice), true);
      assert.equal(await outbox.enqueue(channel, notice), false);
      assert.equal(await outbox.enqueue(channel, { ...notice, key: `${notice.key}:2` }), true);
      await outbox.drain();
      assert.deepEqual(posted.length, 1, `posted once; the answer was lost: ${posted.join(" ")}`);
      assert.equal((await outbox.waiting()).get(channel)?.length, 2, "still queued: the batch is open");
      now += 1000;
      await outbox.drain();
      assert.equal(posted.length, 1, "found in the channel, not posted again");
      assert.equal((await outbox.waiting()).get(channel), undefined);
      assert.equal(await outbox.enqueue(channel, notice), false, "a delivered event stays delivered");
      for (const s of await book.forChannel(channel)) await book.remove(s.id);
      assert.deepEqual(await book.forChannel(channel), []);
    });

    test("schedule records: made, changed, decided, run and deleted; one claim per occurrence", async () => {
      const book = new ScheduleBook(store, { now: () => Date.UTC(2026, 11, 1) });
      const project = {
        id: ns("p"),
        name: "web-shop",
        url: "https://shop.example.com/",
        backend: "memory",
        createdBy: "UOPS",
        createdAt: 0,
        linked: false,
      };
      const timing = {
        cadence: { kind: "weekly" as const, day: 1 },
        time: "02:00",
        timeZone: "Europe/Berlin",
      };
      const made = await book.created({
        project,
        timing,
        channel: "CSEC",
        user: "UOPS",
        approval: { status: "pending" },
      });
      assert.match(made.id, /^[0-9a-f]{8}$/);
      assert.deepEqual(await book.get(made.id), made);
      await book.approvalCardPosted(made.id, 1, { channel: "CSEC", ts: "1.2" });
      const approved = await book.decided((await book.get(made.id)) ?? made, "approved", "UALICE");
      assert.deepEqual(approved.approval, {
        status: "approved",
        by: "UALICE",
        at: Date.UTC(2026, 11, 1),
        card: { channel: "CSEC", ts: "1.2" },
      });
      const changed = await book.changed(approved, {
        project,
        timing: { ...timing, time: "03:00" },
        user: "UBOB",
        approval: { status: "pending" },
      });
      assert.deepEqual([changed.version, changed.changedBy, changed.approval.status], [2, "UBOB", "pending"]);
      const run = {
        occurrence: "2026-12-07T02:00",
        due: 1,
        at: 2,
        outcome: "started" as const,
        scanId: "42",
      };
      assert.deepEqual((await book.ran(made.id, run))?.lastRun, run);
      assert.ok((await book.list()).some((s) => s.id === made.id && s.version === 2));
      const claim = `${made.id}|v2|2026-12-07T02:00|0`;
      const claims = await Promise.all(
        [1, 2, 3].map(() => store.add("schedule-runs", claim, { at: 1 }, 60_000)),
      );
      assert.equal(claims.filter(Boolean).length, 1);
      assert.equal(await book.deleted(made.id), true);
      assert.equal(await book.get(made.id), undefined);
    });

    if (backend.name === "sqlite") {
      test("sqlite keeps data across a close and re-open of the same file", async () => {
        const space = ns("persist");
        await store.set(space, "k", { kept: true });
        await store.close();
        store = await openStore({ url });
        assert.deepEqual(await store.get(space, "k"), { kept: true });
      });
    }

    test("closes", async () => {
      await store.close();
    });
  });
}

describe("store start-up errors", () => {
  test("an unsupported scheme is a config error naming STORE_URL", async () => {
    await assert.rejects(openStore({ url: "mongodb://user:pw@host/db" }), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.kind, "config");
      assert.match(error.message, /STORE_URL/);
      assert.ok(!error.message.includes(":pw@"));
      return true;
    });
  });

  for (const url of ["redis://user:s3cretpw@127.0.0.1:1", "postgres://user:s3cretpw@127.0.0.1:1/db"]) {
    test(`an unreachable ${url.split(":")[0]} store fails start-up naming STORE_URL, without the password`, async () => {
      await assert.rejects(openStore({ url }), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.kind, "config");
        assert.match(error.userMessage, /STORE_URL: cannot reach the store at/);
        assert.ok(!error.message.includes("s3cretpw"), error.message);
        return true;
      });
    });
  }

  test("describeStoreUrl hides passwords", () => {
    assert.equal(describeStoreUrl("rediss://:pw@cache:6380"), "rediss://:***@cache:6380");
    assert.equal(describeStoreUrl("sqlite://data/x.sqlite"), "sqlite://data/x.sqlite");
  });
});
