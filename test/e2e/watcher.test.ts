import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, test } from "node:test";
import type { webApi } from "@slack/bolt";
import { SlackEmulator, type StoredMessage } from "../../dev/slack-emulator/index.js";
import { AppError } from "../../src/domain/errors.js";
import type { Clock, KeyValueStore, Logger } from "../../src/domain/ports.js";
import { ScanBook } from "../../src/domain/scan-record.js";
import type { ScanRecord } from "../../src/domain/scans.js";
import { ScanWatcher, type WatcherOptions, type WatchRecord } from "../../src/domain/watch/index.js";
import { type createCrashtestScanner, startSimulator, summarizeReport } from "../../src/scanners/index.js";
import type { SimulatorHandle } from "../../src/scanners/simulator/server.js";
import { cronProblem } from "../../src/scheduler/index.js";
import { watcherJob } from "../../src/scheduler/watcher-job.js";
import { SlackGateway } from "../../src/slack/gateway.js";
import { EFFECT_EVENT_TYPE, SlackNotifier } from "../../src/slack/notifier.js";
import { createScanWatcher } from "../../src/slack/wiring.js";
import { openStore } from "../../src/store/index.js";
import { captureLogger } from "../support/logs.js";
import { emulatorClient, simulatorScanner } from "../support/parts.js";
import { startScanWithCard } from "../support/scan-card.js";

/**
 * The watcher end to end, every hop real: the Crashtest adapter over HTTP to the simulator (whose
 * clock the test moves), the Slack notifier over a real Web client to the Slack emulator, and the
 * real store (memory or SQLite). Ticks are driven directly with the same clock instead of waiting for
 * cron, so every step is deterministic.
 */

const MIN = 60_000;
const CHANNEL = "C0SECURITY";

class TestClock implements Clock {
  constructor(public current = Date.UTC(2026, 0, 5, 9, 0, 0)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

interface Rig {
  clock: TestClock;
  sim: SimulatorHandle;
  emulator: SlackEmulator;
  store: KeyValueStore;
  logs: ReturnType<typeof captureLogger>;
  client: webApi.WebClient;
  scanner: ReturnType<typeof createCrashtestScanner>;
  scans: ScanBook;
  newWatcher(options?: Partial<WatcherOptions>, store?: KeyValueStore, logger?: Logger): ScanWatcher;
  startScan(name?: string): Promise<ScanRecord>;
  statusCalls(scanId?: string): number;
  reportCalls(scanId?: string): number;
}

async function rig(
  options: { storeUrl?: string; queueSeconds?: number; runSeconds?: number } = {},
): Promise<Rig> {
  const clock = new TestClock();
  const logs = captureLogger();
  const sim = await startSimulator({
    clock,
    timing: { queueSeconds: options.queueSeconds ?? 60, runSeconds: options.runSeconds ?? 300 },
  });
  cleanups.push(() => sim.close());
  const emulator = await SlackEmulator.start({ now: () => clock.now() });
  cleanups.push(() => emulator.close());
  const store = await openStore({ url: options.storeUrl ?? "memory://" });
  cleanups.push(() => store.close());
  const client = emulatorClient(emulator);
  // One scanner call is one request, so a fault injected once is one failed poll.
  const scanner = simulatorScanner(sim, logs.logger);
  cleanups.push(() => scanner.close());
  const scansOf = (s: KeyValueStore) => new ScanBook(s, clock);
  const scans = scansOf(store);
  let projects = 0;
  const byOperation = (operation: string, scanId?: string) =>
    sim.requests.filter(
      (r) => r.operation === operation && (scanId === undefined || r.path.includes(`/scans/${scanId}`)),
    ).length;
  return {
    clock,
    sim,
    emulator,
    store,
    logs,
    client,
    scanner,
    scans,
    newWatcher(overrides = {}, s = store, logger = logs.logger) {
      return new ScanWatcher({
        scanner,
        store: s,
        clock,
        logger,
        scans: scansOf(s),
        output: new SlackNotifier({ slack: new SlackGateway(client), logger }),
        summarize: (report) => summarizeReport(report),
        options: { random: () => 0, concurrency: 4, ...overrides },
      });
    },
    startScan: (name = `shop-${++projects}`) =>
      startScanWithCard({ scanner, client, scans, clock, channel: CHANNEL, name }),
    statusCalls: (scanId) => byOperation("scanStatus", scanId),
    reportCalls: (scanId) => byOperation("report", scanId),
  };
}

/** What a thread holds, one line per message: effect ID from metadata, or the files it shares. */
function threadShape(emulator: SlackEmulator, card: { channel: string; ts: string }): string[] {
  return emulator.thread(card.channel, card.ts).map((m: StoredMessage) => {
    const files =
      m.fileIds.length > 0 ? `files:${m.fileIds.map((id) => fileName(emulator, card, id)).join(",")}` : "";
    const effect = (m.metadata?.event_payload as { effect?: string } | undefined)?.effect;
    return effect ?? (files || "?");
  });
}

function fileName(emulator: SlackEmulator, card: { channel: string; ts: string }, id: string): string {
  return emulator.filesIn(card.channel, card.ts).find((f) => f.id === id)?.name ?? id;
}

async function tickAt(r: Rig, watcher: ScanWatcher, advanceMs: number) {
  r.clock.advance(advanceMs);
  return watcher.tick();
}

test("queued -> running -> finished: one reply per change, card edited, summary and files in the thread", async () => {
  const r = await rig();
  const watcher = r.newWatcher();
  const scan = await r.startScan("web-shop");
  const card = scan.card as { channel: string; ts: string };
  await watcher.watch(scan);
  await watcher.watch(scan); // idempotent

  // Not due yet: no scanner call, no Slack call.
  const quiet = await tickAt(r, watcher, 60_000);
  assert.equal(quiet.statusCalls, 0);
  assert.equal(r.statusCalls(), 0);

  // 120 s: running (the simulator queues for 60 s).
  const callsBefore = r.emulator.calls().length;
  await tickAt(r, watcher, 60_000);
  assert.equal(r.statusCalls(scan.scanId), 1);
  assert.deepEqual(threadShape(r.emulator, card), ["state:running"]);
  assert.match(r.emulator.message(CHANNEL, card.ts)?.text ?? "", /Running/, "the card says it in words");
  assert.deepEqual(
    r.emulator
      .calls()
      .slice(callsBefore)
      .map((c) => c.method),
    ["chat.update", "chat.postMessage"],
  );

  // 240 s: still running. Polled, nothing posted, nothing edited.
  const before = r.emulator.calls().length;
  const unchanged = await tickAt(r, watcher, 2 * MIN);
  assert.equal(unchanged.statusCalls, 1);
  assert.equal(r.emulator.calls().length, before, "an unchanged poll makes no Slack call");

  // Ticks in between do nothing: polls stay an interval apart.
  for (let i = 0; i < 7; i++) await tickAt(r, watcher, 15_000);
  assert.equal(r.statusCalls(scan.scanId), 2);
  assert.equal(r.emulator.calls().length, before);

  // 360 s: finished (60 s queued + 300 s running).
  await tickAt(r, watcher, 15_000);
  assert.equal(r.statusCalls(scan.scanId), 3);
  assert.deepEqual(threadShape(r.emulator, card), [
    "state:running",
    "final",
    "summary",
    "files:crashtest-scan-390.pdf",
    "files:crashtest-scan-390.json",
  ]);
  const thread = r.emulator.thread(CHANNEL, card.ts);
  const final = thread[1] as StoredMessage;
  assert.equal(final.replyBroadcast, true, "the end is shown once in the channel");
  assert.equal(r.emulator.channelMessages(CHANNEL).filter((m) => m.replyBroadcast).length, 1);
  assert.equal(final.metadata?.event_type, EFFECT_EVENT_TYPE);
  const summary = thread[2] as StoredMessage;
  assert.match(summary.text, /6 \(1 critical, 1 high, 2 medium, 1 low, 1 info\)/);
  const summaryText = JSON.stringify(summary.blocks);
  assert.ok(!summaryText.includes("<script>"), "payloads from the report are escaped");
  // The payload stays in the report files; the summary names where it was found.
  assert.match(summaryText, /Cross-Site Scripting \(Reflected\)\*: `\/search \(q\)`/);
  const files = r.emulator.filesIn(CHANNEL, card.ts);
  assert.deepEqual(
    files.map((f) => f.name),
    ["crashtest-scan-390.pdf", "crashtest-scan-390.json"],
  );
  assert.ok(files.every((f) => (f.bytes?.length ?? 0) > 0));
  assert.match(r.emulator.message(CHANNEL, card.ts)?.text ?? "", /Finished/);
  // Scanner calls: start + 3 polls + 2 reports (the JSON one serves summary and upload).
  assert.equal(r.reportCalls(scan.scanId), 2);
  const record = (await watcher.getWatch(scan.scanId)) as WatchRecord;
  assert.equal(record.phase, "ended");
  assert.equal(record.outcome, "finished");
  assert.equal((await r.scans.getScan(scan.scanId))?.state, "finished", "the scan record follows");

  // Ended: later ticks neither poll nor post.
  const after = r.emulator.calls().length;
  for (let i = 0; i < 10; i++) await tickAt(r, watcher, 2 * MIN);
  assert.equal(r.statusCalls(scan.scanId), 3);
  assert.equal(r.emulator.calls().length, after);
});

/** Ticks every 15 s until `done` holds (bounded), returning how many ticks it took. */
async function tickUntil(r: Rig, watchers: ScanWatcher[], done: () => boolean | Promise<boolean>, max = 200) {
  for (let i = 1; i <= max; i++) {
    r.clock.advance(15_000);
    await Promise.all(watchers.map((w) => w.tick()));
    if (await done()) return i;
  }
  throw new Error("condition not reached");
}

const ended = (watcher: ScanWatcher, scanId: string) => async () =>
  (await watcher.getWatch(scanId))?.phase === "ended";

const FULL = [
  "state:running",
  "final",
  "summary",
  "files:crashtest-scan-390.pdf",
  "files:crashtest-scan-390.json",
];

test("6 consecutive transient scanner failures end in one clear message; scan status re-attaches", async () => {
  const r = await rig();
  const watcher = r.newWatcher();
  const scan = await r.startScan();
  const card = scan.card as { channel: string; ts: string };
  await watcher.watch(scan);
  r.sim.faults.inject("scanStatus", { kind: "status", status: 503 }, 6);
  const slackCalls = r.emulator.calls().length;
  // Backoff: an interval, doubling, capped at 15 min: failures at 2, 4, 8, 16, 31 and 46 min.
  const waits = [2, 2, 4, 8, 15, 15];
  for (const [i, wait] of waits.entries()) {
    await tickAt(r, watcher, wait * MIN - 15_000);
    assert.equal(r.statusCalls(scan.scanId), i, `no poll before the backoff has passed (failure ${i + 1})`);
    await tickAt(r, watcher, 15_000);
    assert.equal(r.statusCalls(scan.scanId), i + 1);
    if (i < 5) assert.equal(r.emulator.calls().length, slackCalls, "retries are silent in Slack");
  }
  const thread = r.emulator.thread(CHANNEL, card.ts);
  assert.deepEqual(threadShape(r.emulator, card), ["watch_failed"]);
  assert.match(
    thread[0]?.text ?? "",
    /Stopped watching scan 390 after 6 failed attempts: Crashtest is having trouble/,
  );
  assert.match(thread[0]?.text ?? "", /`\/crashtest scan status 390`/);
  assert.match(JSON.stringify(r.emulator.message(CHANNEL, card.ts)?.blocks), /Not watched any more/);
  const record = (await watcher.getWatch(scan.scanId)) as WatchRecord;
  assert.equal(record.outcome, "watch_failed");
  // Nothing more happens on its own.
  for (let i = 0; i < 8; i++) await tickAt(r, watcher, 5 * MIN);
  assert.equal(r.statusCalls(scan.scanId), 6);
  assert.equal(r.emulator.thread(CHANNEL, card.ts).length, 1);

  // `/crashtest scan status 390` calls watch() again: the watch resumes on the same card.
  await watcher.watch((await r.scans.getScan(scan.scanId)) as ScanRecord);
  await tickUntil(r, [watcher], ended(watcher, scan.scanId));
  assert.deepEqual(threadShape(r.emulator, card), ["watch_failed", ...FULL.slice(1)]);
  assert.doesNotMatch(JSON.stringify(r.emulator.message(CHANNEL, card.ts)?.blocks), /Not watched any more/);
  assert.match(r.emulator.message(CHANNEL, card.ts)?.text ?? "", /Finished/);
});

test("restart mid-scan (new watcher, same SQLite file) continues without duplicates", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "watcher-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const url = `sqlite://${dir}/x.sqlite`;
  const r = await rig({ storeUrl: url });
  const first = r.newWatcher();
  const scan = await r.startScan();
  const card = scan.card as { channel: string; ts: string };
  await first.watch(scan);
  await tickAt(r, first, 2 * MIN);
  assert.deepEqual(threadShape(r.emulator, card), ["state:running"]);
  await first.idle();
  await r.store.close();

  const store = await openStore({ url });
  cleanups.push(() => store.close());
  const second = r.newWatcher({}, store);
  assert.deepEqual(await second.start(), { active: 1, pendingEffects: 0 });
  // Right after the restart nothing is due: the poll schedule survived too.
  await tickAt(r, second, 15_000);
  assert.equal(r.statusCalls(scan.scanId), 1);
  await tickUntil(r, [second], ended(second, scan.scanId));
  assert.deepEqual(threadShape(r.emulator, card), FULL);
  assert.equal(r.statusCalls(scan.scanId), 3, "start + ceil(300 s + 60 s / 120 s) polls");
});

/** A store whose `set` fails (or never returns, like a killed process) the first time `when` holds. */
function faultyStore(inner: KeyValueStore, when: (value: unknown) => boolean, mode: "throw" | "hang") {
  let fired = false;
  const store: KeyValueStore = {
    get: (ns, key) => inner.get(ns, key),
    add: (ns, key, value, ttl) => inner.add(ns, key, value, ttl),
    delete: (ns, key) => inner.delete(ns, key),
    entries: (ns) => inner.entries(ns),
    leases: inner.leases,
    ping: () => inner.ping(),
    close: () => inner.close(),
    set: (ns, key, value, ttl) => {
      if (!fired && ns === "watches" && when(value)) {
        fired = true;
        return mode === "throw"
          ? Promise.reject(
              new AppError("store", "The bot's storage is not answering right now.", { retryable: true }),
            )
          : new Promise<void>(() => {});
      }
      return inner.set(ns, key, value, ttl);
    },
  };
  return { store, fired: () => fired };
}

const effectIs = (id: string, status: string) => (value: unknown) =>
  (value as WatchRecord).effects?.some((e) => e.id === id && e.status === status) ?? false;

test("a failed save right after a Slack post does not repost: the thread is checked first", async () => {
  const r = await rig();
  const faulty = faultyStore(r.store, effectIs("final", "done"), "throw");
  const watcher = r.newWatcher({}, faulty.store);
  const scan = await r.startScan();
  const card = scan.card as { channel: string; ts: string };
  await watcher.watch(scan);
  await tickUntil(r, [watcher], () => faulty.fired());
  // The final reply went out, but the record still says `pending`.
  assert.deepEqual(threadShape(r.emulator, card), ["state:running", "final"]);
  assert.equal(
    (await watcher.getWatch(scan.scanId))?.effects.find((e) => e.id === "final")?.status,
    "pending",
  );
  await tickUntil(r, [watcher], ended(watcher, scan.scanId));
  assert.deepEqual(threadShape(r.emulator, card), FULL);
  assert.equal(r.emulator.calls("conversations.replies").length, 1, "reconciled once");
  assert.ok(
    r.logs
      .records()
      .some((l) => l.msg === "side effect found in the thread after an interruption; not repeated"),
  );
});

test("a process killed between an upload and its save: the restarted watcher neither re-uploads nor loses the report", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "watcher-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const url = `sqlite://${dir}/x.sqlite`;
  const r = await rig({ storeUrl: url });
  // The save after the PDF upload never returns: the process is as good as dead from there on.
  const faulty = faultyStore(r.store, effectIs("file:pdf", "done"), "hang");
  const doomed = r.newWatcher({}, faulty.store);
  const scan = await r.startScan();
  const card = scan.card as { channel: string; ts: string };
  await doomed.watch(scan);
  for (let i = 0; i < 40 && !faulty.fired(); i++) {
    r.clock.advance(15_000);
    // A hung tick is abandoned, like a killed process: wait until it ends or the hang begins (bounded),
    // never for a fixed time, which a loaded machine overruns.
    let settled = false;
    void doomed.tick().finally(() => {
      settled = true;
    });
    for (const until = Date.now() + 10_000; !settled && !faulty.fired() && Date.now() < until; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  assert.ok(faulty.fired());
  assert.deepEqual(threadShape(r.emulator, card), FULL.slice(0, 4));

  // "Restart": a new process opens the same file.
  const store = await openStore({ url });
  cleanups.push(() => store.close());
  const revived = r.newWatcher({}, store);
  assert.deepEqual(await revived.start(), { active: 1, pendingEffects: 1 });
  // SQLite serves one process: the dead process's poll claim died with it, so the first tick goes on.
  const first = await tickAt(r, revived, 15_000);
  assert.equal(first.contended, 0);
  assert.equal(first.processed, 1);
  await tickUntil(r, [revived], ended(revived, scan.scanId));
  assert.deepEqual(threadShape(r.emulator, card), FULL);
  assert.equal(r.emulator.calls("files.completeUploadExternal").length, 2, "one upload per format");
  assert.equal(r.emulator.filesIn(CHANNEL, card.ts).length, 2);
});

test("two watcher instances on one store never both poll a scan", async () => {
  const r = await rig();
  const a = r.newWatcher();
  const b = r.newWatcher();
  const scans = [await r.startScan(), await r.startScan(), await r.startScan()];
  for (const [i, scan] of scans.entries()) await (i % 2 === 0 ? a : b).watch(scan);
  let contended = 0;
  const counted = (w: ScanWatcher) =>
    ({
      tick: async () => {
        const report = await w.tick();
        contended += report.contended;
        return report;
      },
    }) as unknown as ScanWatcher;
  await tickUntil(r, [counted(a), counted(b)], async () => {
    for (const scan of scans) if ((await a.getWatch(scan.scanId))?.phase !== "ended") return false;
    return true;
  });
  for (const scan of scans) {
    assert.equal(
      r.statusCalls(scan.scanId),
      3,
      `scan ${scan.scanId} polled exactly as often as by one watcher`,
    );
    assert.equal(r.reportCalls(scan.scanId), 2);
    const shape = threadShape(r.emulator, scan.card as { channel: string; ts: string });
    assert.deepEqual(
      shape,
      FULL.map((line) => line.replace("390", scan.scanId)),
    );
  }
  assert.ok(contended > 0, "both instances went for the same scans; the claims decided");
});

test("uploads refused by Slack: the thread says why and gives the report commands", async () => {
  const r = await rig();
  const watcher = r.newWatcher();
  const scan = await r.startScan();
  const card = scan.card as { channel: string; ts: string };
  await watcher.watch(scan);
  r.emulator.injectFault("files.getUploadURLExternal", {
    kind: "slack_error",
    error: "file_uploads_disabled",
    times: Number.POSITIVE_INFINITY,
  });
  await tickUntil(r, [watcher], ended(watcher, scan.scanId));
  assert.deepEqual(threadShape(r.emulator, card), ["state:running", "final", "summary", "files_refused"]);
  const refused = r.emulator.thread(CHANNEL, card.ts)[3] as StoredMessage;
  assert.match(refused.text, /file uploads are disabled in this workspace \(file_uploads_disabled\)/);
  const blocks = JSON.stringify(refused.blocks);
  assert.match(blocks, /\/crashtest report 390 pdf/);
  assert.match(blocks, /\/crashtest report 390 json/);
  assert.equal(r.emulator.filesIn(CHANNEL).length, 0);
});

test("Slack 429s are waited out by the Web client and the reply still goes out once", async () => {
  const r = await rig();
  const watcher = r.newWatcher();
  const scan = await r.startScan();
  const card = scan.card as { channel: string; ts: string };
  await watcher.watch(scan);
  r.emulator.injectFault("chat.postMessage", { kind: "rate_limited", retryAfterSec: 1 });
  const started = Date.now();
  await tickAt(r, watcher, 2 * MIN);
  assert.ok(Date.now() - started >= 900, "waited for Retry-After");
  assert.deepEqual(threadShape(r.emulator, card), ["state:running"]);
  const posts = r.emulator.calls("chat.postMessage");
  assert.deepEqual(
    posts.slice(-2).map((c) => c.status),
    [429, 200],
  );
});

test("a Slack failure is retried on a later tick, without an extra scanner poll", async () => {
  const r = await rig();
  const watcher = r.newWatcher();
  const scan = await r.startScan();
  const card = scan.card as { channel: string; ts: string };
  await watcher.watch(scan);
  r.emulator.injectFault("chat.postMessage", { kind: "slack_error", error: "internal_error" });
  const report = await tickAt(r, watcher, 2 * MIN);
  assert.equal(report.slackFailures, 1);
  assert.deepEqual(threadShape(r.emulator, card), []);
  // 30 s later: the reply goes out; the scanner is not asked again before the interval.
  await tickAt(r, watcher, 15_000);
  await tickAt(r, watcher, 15_000);
  assert.deepEqual(threadShape(r.emulator, card), ["state:running"]);
  assert.equal(r.statusCalls(scan.scanId), 1);
  await tickUntil(r, [watcher], ended(watcher, scan.scanId));
  assert.deepEqual(threadShape(r.emulator, card), FULL);
});

test("a scan that no longer exists ends its watch with a clear message", async () => {
  const r = await rig();
  const watcher = r.newWatcher();
  const scan = await r.startScan();
  const card = scan.card as { channel: string; ts: string };
  await watcher.watch(scan);
  await r.scanner.deleteProject(scan.projectId);
  await tickAt(r, watcher, 2 * MIN);
  assert.deepEqual(threadShape(r.emulator, card), ["gone"]);
  assert.match(
    r.emulator.thread(CHANNEL, card.ts)[0]?.text ?? "",
    /Scan 390 of \*shop-1\* no longer exists at the scanner/,
  );
  assert.equal((await watcher.getWatch(scan.scanId))?.outcome, "not_found");
  assert.match(JSON.stringify(r.emulator.message(CHANNEL, card.ts)?.blocks), /no longer exists/);
});

test("createScanWatcher wires the cron job: every 15 s by default, one name for all replicas", async () => {
  const r = await rig();
  const wired = createScanWatcher({
    scanner: r.scanner,
    scans: r.scans,
    store: r.store,
    clock: r.clock,
    logger: r.logs.logger,
    slack: new SlackGateway(r.client),
    settings: { pollIntervalSeconds: 120, maxRequestsPerMinute: 120, reportFormats: ["pdf", "json"] },
  });
  assert.equal(wired.job.name, "scan-watcher");
  assert.equal(wired.job.cron, "*/15 * * * * *");
  assert.equal(cronProblem(wired.job.cron), undefined);
  assert.equal(wired.watcher.options.pollIntervalMs, 120_000);
  assert.deepEqual(wired.watcher.uploadFormats, ["pdf", "json"]);
  assert.equal(watcherJob(r.newWatcher({ tickMs: 30_000 })).cron, "*/30 * * * * *");
  assert.throws(() => watcherJob(r.newWatcher({ tickMs: 7_000 })), /divide a minute/);
  // The job's run is a tick.
  await wired.start();
  const scan = await r.startScan();
  await wired.watching.watch(scan);
  // Default jitter: the first poll comes up to 25 % of the interval late.
  r.clock.advance(2 * MIN + 30_000);
  await wired.job.run();
  assert.equal(r.statusCalls(scan.scanId), 1);
  await wired.stop();
});
