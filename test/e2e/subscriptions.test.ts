import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { SlackEmulator, type StoredMessage } from "../../dev/slack-emulator/index.js";
import { AuditTrail } from "../../src/domain/audit.js";
import { Authorizer } from "../../src/domain/authz.js";
import { AppError } from "../../src/domain/errors.js";
import type { FindingDecision, ScanResult, SeverityCounts } from "../../src/domain/findings/types.js";
import type { Clock, KeyValueStore } from "../../src/domain/ports.js";
import { ProjectRegistry } from "../../src/domain/projects.js";
import { ScanBook } from "../../src/domain/scan-record.js";
import type { ScanRecord } from "../../src/domain/scans.js";
import { parseSubscribeArgs } from "../../src/domain/subscriptions/arguments.js";
import { createSubscriptions, type Subscriptions } from "../../src/domain/subscriptions/index.js";
import { ScanWatcher } from "../../src/domain/watch/index.js";
import { startSimulator, summarizeReport } from "../../src/scanners/index.js";
import type { SimulatorHandle } from "../../src/scanners/simulator/server.js";
import { scanCard } from "../../src/slack/blocks/cards.js";
import { SlackGateway } from "../../src/slack/gateway.js";
import { SlackNotifier } from "../../src/slack/notifier.js";
import { NOTICE_EVENT_TYPE, SlackNotices } from "../../src/slack/subscriptions.js";
import { openStore } from "../../src/store/index.js";
import { captureLogger } from "../support/logs.js";
import { emulatorClient, simulatorScanner } from "../support/parts.js";

/**
 * Subscriptions end to end, every hop real: scans at the simulator (on the test's clock), the watcher's
 * effect log routing each scan's start and end, the per-channel outbox and the digest posting through a
 * real Web client into the Slack emulator, and the real store. Ticks, outbox passes and digest runs are
 * driven directly with the same clock, so a day passes in a moment and every step is deterministic.
 */

const CARDS = "C0SECURITY";
const REQUESTER = "U0ALICE";
const OPERATOR = "U0CAROL";
const CHANNELS = ["C0APPSEC", "C0OPS", "C0DIGEST", "C0QUIET", "C0BURST"];
const MIN = 60_000;

class TestClock implements Clock {
  // Monday 2026-01-05 09:00 UTC.
  constructor(public current = Date.UTC(2026, 0, 5, 9, 0, 0)) {}
  now(): number {
    return this.current;
  }
}

/** A store that fails one write to a namespace (after `skip` others): a crash at exactly that point. */
class CrashingStore implements KeyValueStore {
  private crashOn: string | undefined;
  private skip = 0;
  constructor(readonly inner: KeyValueStore) {}
  crashAtNextWrite(namespace: string, skip = 0) {
    this.crashOn = namespace;
    this.skip = skip;
  }
  get leases() {
    return this.inner.leases;
  }
  get<T>(ns: string, key: string) {
    return this.inner.get<T>(ns, key);
  }
  async set<T>(ns: string, key: string, value: T, ttl?: number) {
    if (this.crashOn === ns && this.skip-- === 0) {
      this.crashOn = undefined;
      throw new AppError("store", "simulated crash", { retryable: true });
    }
    return this.inner.set(ns, key, value, ttl);
  }
  add<T>(ns: string, key: string, value: T, ttl?: number) {
    return this.inner.add(ns, key, value, ttl);
  }
  delete(ns: string, key: string) {
    return this.inner.delete(ns, key);
  }
  entries<T>(ns: string) {
    return this.inner.entries<T>(ns);
  }
  ping() {
    return this.inner.ping();
  }
  close() {
    return this.inner.close();
  }
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

const counts = (c: Partial<SeverityCounts>): SeverityCounts => ({
  critical: 0,
  high: 0,
  medium: 0,
  low: 0,
  info: 0,
  ...c,
});

async function rig() {
  const clock = new TestClock();
  const logs = captureLogger();
  const sim: SimulatorHandle = await startSimulator({ clock, timing: { queueSeconds: 60, runSeconds: 300 } });
  cleanups.push(() => sim.close());
  const emulator = await SlackEmulator.start({
    now: () => clock.now(),
    channels: [{ id: CARDS, name: "security" }, ...CHANNELS.map((id) => ({ id, name: id.toLowerCase() }))],
    users: [
      { id: REQUESTER, name: "alice" },
      { id: OPERATOR, name: "carol" },
    ],
  });
  cleanups.push(() => emulator.close());
  const store = new CrashingStore(await openStore({ url: "memory://" }));
  cleanups.push(() => store.close());
  const client = emulatorClient(emulator);
  const scanner = simulatorScanner(sim, logs.logger);
  cleanups.push(() => scanner.close());
  const gateway = new SlackGateway(client);
  const registry = new ProjectRegistry(store, clock);
  const book = new ScanBook(store, clock);
  /** Findings history as the router asks it: the test says what each scan's diff was. */
  const results = new Map<string, ScanResult>();
  /** Risk acceptances in force per project, as findings decisions answer them. */
  const acceptances = new Map<string, FindingDecision[]>();
  const parts = (): Subscriptions =>
    createSubscriptions({
      store,
      clock,
      logger: logs.logger,
      authz: new Authorizer(
        { admins: [], approvers: [], operators: [OPERATOR], allowedChannels: [] },
        async () => [],
      ),
      audit: new AuditTrail(store, clock),
      registry,
      output: new SlackNotices(gateway, logs.logger),
      canPost: (channel) => gateway.isMember(channel),
      defaultTimezone: "UTC",
      findings: { result: async (scanId) => results.get(scanId) },
      decisions: {
        inForce: async (projectId) =>
          new Map((acceptances.get(projectId) ?? []).map((d) => [d.fingerprint, d])),
      },
    });
  let subs = parts();
  const newWatcher = () =>
    new ScanWatcher({
      scanner,
      store,
      clock,
      logger: logs.logger,
      scans: book,
      output: new SlackNotifier({
        slack: gateway,
        logger: logs.logger,
        route: (e, l) => subs.router.scan(e, l),
      }),
      summarize: (report) => summarizeReport(report),
      options: { random: () => 0, concurrency: 8, reportFormats: ["json"], maxRequestsPerMinute: 10_000 },
    });
  let watcher = newWatcher();
  const projects = new Map<string, string>();

  const r = {
    clock,
    sim,
    emulator,
    store,
    logs,
    results,
    acceptances,
    get subs() {
      return subs;
    },
    /** A restart: new router, outbox and watcher over the same store (in-memory state is gone). */
    restart() {
      subs = parts();
      watcher = newWatcher();
    },
    subscribe: (channel: string, text: string) =>
      subs.service.subscribe(OPERATOR, channel, parseSubscribeArgs(text.split(" "))),
    async project(name: string) {
      const known = projects.get(name);
      if (known) return known;
      const project = await scanner.createProject({ name, url: `https://${name}.example.test` });
      await registry.save(project, {
        backend: "simulator",
        createdBy: OPERATOR,
        linked: false,
        reserved: false,
      });
      projects.set(name, project.id);
      return project.id;
    },
    /** `scan start`: the scan at the scanner, its card in CARDS, the record, and the watch. */
    async start(name: string): Promise<ScanRecord> {
      const projectId = await r.project(name);
      const started = await scanner.startScan(projectId);
      const scan: ScanRecord = {
        scanId: started.scanId,
        projectId,
        projectName: name,
        targetUrl: `https://${name}.example.test`,
        backend: "simulator",
        requestedBy: REQUESTER,
        channel: CARDS,
        state: "queued",
        startedAt: clock.now(),
        updatedAt: clock.now(),
      };
      const card = scanCard(scan);
      const posted = await client.chat.postMessage({ channel: CARDS, text: card.text, blocks: card.blocks });
      const withCard = { ...scan, card: { channel: CARDS, ts: String(posted.ts) } };
      await book.started(withCard);
      await watcher.watch(withCard);
      return withCard;
    },
    /** Moves the clock in watcher ticks (15 s), draining the outbox after each, as the jobs would. */
    async run(ms: number, step = 15_000) {
      for (let passed = 0; passed < ms; passed += step) {
        clock.current += step;
        await watcher.tick();
        await subs.outbox.drain();
      }
    },
    drain: () => subs.outbox.drain(),
    watcherTick: () => watcher.tick(),
  };
  return r;
}

type Rig = Awaited<ReturnType<typeof rig>>;

/** The subscription messages of a channel (the bot's, tagged with a batch), oldest first. */
function notices(r: Rig, channel: string): StoredMessage[] {
  return r.emulator.channelMessages(channel).filter((m) => m.metadata?.event_type === NOTICE_EVENT_TYPE);
}

/** What the blocks say (each text once). */
function blockText(m: StoredMessage): string {
  const parts: string[] = [];
  JSON.stringify(m.blocks ?? [], (key, value) => {
    if (key === "text" && typeof value === "string") parts.push(value);
    return value;
  });
  return parts.join("\n");
}

/** Every event line of a channel: "<scan> <event>", in order. */
function events(r: Rig, channel: string): string[] {
  const out: string[] = [];
  const pattern = /scan (\S+) (started|finished|failed|found new findings)/g;
  for (const m of notices(r, channel))
    for (const match of blockText(m).matchAll(pattern)) out.push(`${match[1]} ${match[2]}`);
  return out;
}

test("two channels with different filters receive exactly the events they asked for, each a link to the card's thread", async () => {
  const r = await rig();
  await r.project("web-shop");
  await r.project("api");
  await r.subscribe("C0APPSEC", "web-shop events=started,finished,failed");
  await r.subscribe("C0OPS", "* severity>=high events=new-findings,failed");

  const a = await r.start("web-shop");
  r.sim.setOutcome("failed");
  const b = await r.start("api");
  r.results.set(a.scanId, {
    scanId: a.scanId,
    projectId: a.projectId,
    outcome: "finished",
    startedAt: 0,
    endedAt: 0,
    durationMs: 0,
    counts: counts({ high: 2, low: 3 }),
    total: 5,
    diff: {
      first: false,
      new: counts({ high: 1, low: 1 }),
      fixed: counts({ medium: 1 }),
      open: counts({}),
      accepted: 0,
      falsePositive: 0,
    },
  });
  await r.run(7 * MIN);
  r.sim.setOutcome("finished");
  const c = await r.start("web-shop");
  r.results.set(c.scanId, {
    ...(r.results.get(a.scanId) as ScanResult),
    scanId: c.scanId,
    diff: {
      first: false,
      new: counts({ low: 2 }),
      fixed: counts({}),
      open: counts({}),
      accepted: 0,
      falsePositive: 0,
    },
  });
  await r.run(7 * MIN);

  assert.deepEqual(
    events(r, "C0APPSEC").sort(),
    [`${a.scanId} finished`, `${a.scanId} started`, `${c.scanId} finished`, `${c.scanId} started`].sort(),
  );
  // Only new findings at or above high, and failed scans of every project.
  assert.deepEqual(
    events(r, "C0OPS").sort(),
    [`${a.scanId} found new findings`, `${b.scanId} failed`].sort(),
  );
  const ops = notices(r, "C0OPS").map(blockText).join("\n");
  assert.match(ops, /new findings: 1 high, 1 low · fixed: 1 medium/);
  // Each line links to the card's thread (chat.getPermalink), and nothing of the thread is copied.
  const cardTs = a.card?.ts.replace(".", "") ?? "";
  assert.match(
    notices(r, "C0APPSEC").map(blockText).join("\n"),
    new RegExp(`archives/${CARDS}/p${cardTs}\\|thread`),
  );
  for (const channel of ["C0APPSEC", "C0OPS"]) {
    for (const m of r.emulator.channelMessages(channel)) {
      assert.equal(m.metadata?.event_type, NOTICE_EVENT_TYPE, "only subscription messages");
      assert.equal(r.emulator.thread(channel, m.ts).length, 0, "no thread copied");
      assert.doesNotMatch(blockText(m), /Findings summary|SQL/i);
    }
  }
  // The cards and their threads stay where the scans were started.
  assert.equal(r.emulator.channelMessages(CARDS).filter((m) => !m.replyBroadcast).length, 3);
  for (const channel of ["C0DIGEST", "C0QUIET", "C0BURST"])
    assert.equal(r.emulator.channelMessages(channel).length, 0);
});

test("a digest covers a simulated day: one message at 09:00 in the channel's time zone, once, and once after downtime", async () => {
  const r = await rig();
  await r.project("web-shop");
  await r.subscribe("C0DIGEST", "* events=finished,failed,new-findings digest=daily@09:00 tz=Europe/Berlin");
  const accepted = (fingerprint: string, expiresAt: number): FindingDecision => ({
    kind: "accepted",
    fingerprint,
    reason: "behind the VPN",
    requestedBy: OPERATOR,
    approvedBy: REQUESTER,
    decidedAt: 0,
    expiresAt,
  });
  r.acceptances.set(await r.project("web-shop"), [
    accepted("fp-sqli", Date.UTC(2026, 0, 6, 20, 0)),
    accepted("fp-later", Date.UTC(2026, 2, 1)),
  ]);
  // 10:00 in Berlin: the first digest is due tomorrow at 09:00 Berlin (08:00 UTC).
  const scans: ScanRecord[] = [];
  for (let i = 0; i < 3; i++) {
    if (i === 2) r.sim.setOutcome("failed");
    const scan = await r.start(i === 1 ? "api" : "web-shop");
    r.results.set(scan.scanId, {
      scanId: scan.scanId,
      projectId: scan.projectId,
      outcome: "finished",
      startedAt: 0,
      endedAt: 0,
      durationMs: 0,
      counts: counts({ high: 1 }),
      total: 1,
      diff: {
        first: false,
        new: counts({ high: 1 }),
        fixed: counts({ low: 2 }),
        open: counts({}),
        accepted: 0,
        falsePositive: 0,
      },
    });
    scans.push(scan);
    await r.run(8 * MIN, 30_000);
    await r.subs.digests.run();
  }
  // The rest of the day, hour by hour, up to 07:59 UTC next day: nothing in the channel yet.
  while (r.clock.current + 60 * MIN < Date.UTC(2026, 0, 6, 7, 59)) {
    r.clock.current += 60 * MIN;
    await r.subs.digests.run();
    await r.drain();
  }
  assert.deepEqual(
    r.emulator.channelMessages("C0DIGEST").map((m) => m.text),
    [],
    "digest subscriptions get no message per event",
  );
  r.clock.current = Date.UTC(2026, 0, 6, 8, 0);
  assert.equal(await r.subs.digests.run(), 1);
  await r.drain();
  r.clock.current += MIN;
  assert.equal(await r.subs.digests.run(), 0, "once");
  await r.drain();
  const digest = r.emulator.channelMessages("C0DIGEST");
  assert.equal(digest.length, 1);
  const text = blockText(digest[0] as StoredMessage);
  assert.match(text, /Scan digest: all projects/);
  assert.match(text, /\*web-shop\*: 1 finished · 1 failed · new: 1 high · fixed: 2 low/);
  assert.match(text, /\*api\*: 1 finished · new: 1 high · fixed: 2 low/);
  assert.match(digest[0]?.text ?? "", /2 finished scans/);
  // Risk acceptances that run out before the next digest, and only those.
  assert.match(text, /Risk acceptances expiring soon\*\n• \*web-shop\* `fp-sqli` until/);
  assert.doesNotMatch(text, /fp-later/);

  // Three days down: one digest for the latest due time, not three.
  r.clock.current = Date.UTC(2026, 0, 9, 12, 0);
  r.restart();
  assert.equal(await r.subs.digests.run(), 1);
  await r.drain();
  assert.equal(await r.subs.digests.run(), 0);
  assert.equal(r.emulator.channelMessages("C0DIGEST").length, 2);
  assert.match(
    blockText(r.emulator.channelMessages("C0DIGEST")[1] as StoredMessage),
    /No scans ended in this period/,
  );
});

test("quiet hours hold events and release them as one message when the window ends; urgent failures pass", async () => {
  const r = await rig();
  await r.project("web-shop");
  await r.subscribe("C0QUIET", "* events=finished,failed quiet=22:00-07:00 urgent=failed");
  // Each scan takes 6 minutes: they end just after 22:00.
  r.clock.current = Date.UTC(2026, 0, 5, 21, 57);
  const held = [await r.start("web-shop"), await r.start("api"), await r.start("blog")];
  r.sim.setOutcome("failed");
  const failed = await r.start("shop-admin");
  await r.run(10 * MIN);
  // 22:00: every scan ended inside the window; only the failure (urgent) went out.
  assert.deepEqual(events(r, "C0QUIET"), [`${failed.scanId} failed`]);
  assert.equal((await r.subs.outbox.waiting()).get("C0QUIET")?.length, 3);
  // Through the night, nothing more.
  while (r.clock.current + 30 * MIN < Date.UTC(2026, 0, 6, 6, 59)) {
    r.clock.current += 30 * MIN;
    await r.drain();
  }
  assert.equal(notices(r, "C0QUIET").length, 1);
  r.clock.current = Date.UTC(2026, 0, 6, 7, 0);
  await r.drain();
  const messages = notices(r, "C0QUIET");
  assert.equal(messages.length, 2, "the held events come as one message");
  assert.deepEqual(events(r, "C0QUIET").slice(1).sort(), held.map((s) => `${s.scanId} finished`).sort());
  assert.match(messages[1]?.text ?? "", /3 scan events/);
});

test("a burst of 50 finished scans becomes a handful of messages, at most one per second per channel", async () => {
  const r = await rig();
  await r.subscribe("C0BURST", "* events=finished");
  const scans: ScanRecord[] = [];
  for (let i = 0; i < 50; i++) scans.push(await r.start(`site-${i}`));
  // The watcher sees all 50 end within a few ticks; the outbox has not run yet.
  for (let passed = 0; passed < 7 * MIN; passed += 15_000) {
    r.clock.current += 15_000;
    await r.watcherTick();
  }
  assert.equal((await r.subs.outbox.waiting()).get("C0BURST")?.length, 50);
  // Passes within one second post one message at most; the next second, the next one.
  const posted = async () => {
    await r.drain();
    return notices(r, "C0BURST").length;
  };
  assert.equal(await posted(), 1);
  assert.equal(await posted(), 1);
  r.clock.current += 999;
  assert.equal(await posted(), 1);
  r.clock.current += 1;
  assert.equal(await posted(), 2);
  r.clock.current += 1000;
  assert.equal(await posted(), 2, "nothing left");
  const messages = notices(r, "C0BURST");
  assert.equal(messages.length, 2);
  assert.match(messages[0]?.text ?? "", /30 scan events/);
  assert.deepEqual(
    events(r, "C0BURST").sort(),
    scans.map((s) => `${s.scanId} finished`).sort(),
    "each scan exactly once",
  );
  for (const m of messages) assert.ok((m.blocks?.length ?? 0) <= 50 && blockText(m).length < 12_000);
});

test("DMs arrive for the requester's finished and failed scans, and stop with notify off", async () => {
  const r = await rig();
  await r.start("web-shop");
  await r.run(7 * MIN);
  const dms = () =>
    r.emulator.channelMessages(REQUESTER).filter((m) => m.metadata?.event_type === NOTICE_EVENT_TYPE);
  assert.equal(dms().length, 1);
  assert.match(blockText(dms()[0] as StoredMessage), /\*web-shop\*: scan \S+ finished/);
  assert.equal(r.emulator.calls("conversations.open").length, 1);
  await r.subs.service.notify(REQUESTER, false);
  r.sim.setOutcome("failed");
  await r.start("api");
  await r.run(7 * MIN);
  assert.equal(dms().length, 1, "notify off: no DM");
  await r.subs.service.notify(REQUESTER, true);
  await r.start("blog");
  await r.run(7 * MIN);
  assert.equal(dms().length, 2);
  assert.match(blockText(dms()[1] as StoredMessage), /\*blog\*: scan \S+ failed/);
});

test("after a crash no event is lost or sent twice: in the watcher's effect log and in the outbox", async () => {
  const r = await rig();
  await r.subscribe("C0APPSEC", "* events=started,finished");
  const scan = await r.start("web-shop");
  // Crash 1: the start was routed (after its `pending` mark), then the watch record could not be saved.
  r.store.crashAtNextWrite("watches", 1);
  r.clock.current += 15_000;
  await r.watcherTick();
  assert.equal((await r.subs.outbox.waiting()).get("C0APPSEC")?.length, 1, "routed once");
  assert.equal(
    (await r.store.get<{ effects: Array<{ id: string; status: string }> }>("watches", scan.scanId))
      ?.effects[0]?.status,
    "pending",
  );
  r.restart();
  await r.run(15_000);
  assert.deepEqual(events(r, "C0APPSEC"), [`${scan.scanId} started`]);

  // Crash 2: the end was posted, then the process died before the outbox recorded it.
  await r.run(5 * MIN);
  r.store.crashAtNextWrite("notify-sent");
  await r.run(2 * MIN);
  assert.deepEqual(events(r, "C0APPSEC"), [`${scan.scanId} started`, `${scan.scanId} finished`]);
  r.restart();
  await r.run(MIN);
  assert.deepEqual(
    events(r, "C0APPSEC"),
    [`${scan.scanId} started`, `${scan.scanId} finished`],
    "found, not posted again",
  );
  assert.equal((await r.subs.outbox.waiting()).size, 0);
  assert.match(r.logs.text(), /notification delivery failed; retried on the next pass/);
});
