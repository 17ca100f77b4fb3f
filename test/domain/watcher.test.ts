import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { AppError } from "../../src/domain/errors.js";
import type {
  Clock,
  FindingsSummary,
  KeyValueStore,
  Project,
  Report,
  ReportFormat,
  Scanner,
  ScanRef,
  ScanState,
  ScanStatus,
} from "../../src/domain/ports.js";
import type { MessageRef, ScanRecord } from "../../src/domain/scans.js";
import {
  DueIndex,
  RequestBudget,
  ScanWatcher,
  type UploadResult,
  type WatcherOptions,
  type WatchNotice,
  type WatchOutput,
  type WatchRecord,
  type WatchSubject,
} from "../../src/domain/watcher.js";
import { openStore } from "../../src/store/index.js";
import { captureLogger } from "../support/logs.js";

/** The watcher's state machine against in-memory fakes of its ports; the e2e test runs the real adapters. */

const MIN = 60_000;
const INTERVAL = 2 * MIN;

class TestClock implements Clock {
  constructor(public current = Date.UTC(2026, 0, 5, 9, 0, 0)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

/** A scripted scanner: states set by the test, failures queued per scan, every call timed. */
class FakeScanner implements Scanner {
  readonly name = "fake";
  reportFormats: readonly ReportFormat[] = ["pdf", "json"];
  readonly states = new Map<string, ScanState>();
  readonly failures = new Map<string, AppError[]>();
  readonly reportFailures = new Map<string, AppError>();
  readonly calls: Array<{ op: string; scanId: string; at: number; format?: ReportFormat }> = [];
  inFlight = 0;
  maxInFlight = 0;
  delayMs = 0;

  constructor(private readonly clock: Clock) {}

  private async enter(op: string, scanId: string, format?: ReportFormat) {
    this.calls.push({ op, scanId, at: this.clock.now(), ...(format ? { format } : {}) });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    this.inFlight--;
  }

  count(op: string, scanId?: string): number {
    return this.calls.filter((c) => c.op === op && (scanId === undefined || c.scanId === scanId)).length;
  }

  async getScanStatus(ref: ScanRef): Promise<ScanStatus> {
    await this.enter("status", ref.scanId);
    const failure = this.failures.get(ref.scanId)?.shift();
    if (failure) throw failure;
    const state = this.states.get(ref.scanId);
    if (!state) throw new AppError("not_found", `Crashtest does not know scan ${ref.scanId}.`);
    return { scanId: ref.scanId, state, rawCode: state };
  }

  async getReport(ref: ScanRef, format: ReportFormat): Promise<Report> {
    await this.enter("report", ref.scanId, format);
    const failure = this.reportFailures.get(`${ref.scanId}:${format}`);
    if (failure) throw failure;
    return {
      format,
      bytes: new TextEncoder().encode(`${format} of ${ref.scanId}`),
      contentType: "text/plain",
      fileName: `x.${format}`,
    };
  }

  async createProject(): Promise<Project> {
    throw new Error("not used");
  }
  async getProject(): Promise<Project> {
    throw new Error("not used");
  }
  async deleteProject(): Promise<void> {}
  async startScan(): Promise<never> {
    throw new Error("not used");
  }
  async stopScan(): Promise<void> {}
  async close(): Promise<void> {}
}

type Delivery = { kind: "card" | "post" | "upload"; scanId: string; effect?: string; notice?: WatchNotice };

/** Slack as the watcher sees it: what was delivered, what the thread shows, and injectable failures. */
class FakeOutput implements WatchOutput {
  readonly deliveries: Delivery[] = [];
  readonly thread = new Map<string, Set<string>>();
  readonly failNext: Array<{ kind: Delivery["kind"]; error: AppError; delivered: boolean }> = [];
  refuseUploads: string | undefined;
  reconciles = 0;

  private maybeFail(kind: Delivery["kind"], deliver: () => void): void {
    const index = this.failNext.findIndex((f) => f.kind === kind);
    const failure = index === -1 ? undefined : this.failNext.splice(index, 1)[0];
    if (!failure || failure.delivered) deliver();
    if (failure) throw failure.error;
  }

  async updateCard(_card: MessageRef, scan: ScanRecord, watch: WatchRecord): Promise<void> {
    this.maybeFail("card", () =>
      this.deliveries.push({
        kind: "card",
        scanId: scan.scanId,
        effect: `${watch.state}|${watch.outcome ?? ""}`,
      }),
    );
  }

  async post(_card: MessageRef, subject: WatchSubject, notice: WatchNotice, effect: string): Promise<void> {
    this.maybeFail("post", () => {
      this.deliveries.push({ kind: "post", scanId: subject.scanId, effect, notice });
      this.seen(subject.scanId).add(effect);
    });
  }

  async upload(
    _card: MessageRef,
    subject: WatchSubject,
    _report: Report,
    effect: string,
  ): Promise<UploadResult> {
    if (this.refuseUploads) return { ok: false, reason: this.refuseUploads };
    this.maybeFail("upload", () => {
      this.deliveries.push({ kind: "upload", scanId: subject.scanId, effect });
      this.seen(subject.scanId).add(effect);
    });
    return { ok: true };
  }

  async postedEffects(_card: MessageRef, subject: WatchSubject): Promise<ReadonlySet<string>> {
    this.reconciles++;
    return new Set(this.seen(subject.scanId));
  }

  seen(scanId: string): Set<string> {
    let set = this.thread.get(scanId);
    if (!set) {
      set = new Set();
      this.thread.set(scanId, set);
    }
    return set;
  }

  effects(scanId: string): string[] {
    return this.deliveries.filter((d) => d.scanId === scanId && d.kind !== "card").map((d) => d.effect ?? "");
  }

  notices(scanId: string): WatchNotice[] {
    return this.deliveries.filter((d) => d.scanId === scanId && d.notice).map((d) => d.notice as WatchNotice);
  }
}

const SUMMARY: FindingsSummary = {
  counts: { critical: 1, high: 0, medium: 0, low: 0, info: 0 },
  total: 1,
  findings: [{ title: "SQL Injection", severity: "critical", category: "sqli" }],
};

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function setup(options: Partial<WatcherOptions> = {}, store?: KeyValueStore) {
  const clock = new TestClock();
  const scanner = new FakeScanner(clock);
  const output = new FakeOutput();
  const logs = captureLogger();
  const kv = store ?? (await openStore({ url: "memory://" }));
  if (!store) cleanups.push(() => kv.close());
  const scanStore = {
    getScan: (id: string) => kv.get<ScanRecord>("scans", id),
    saveScan: (scan: ScanRecord) => kv.set("scans", scan.scanId, scan),
  };
  let summarize: (report: Report) => FindingsSummary = () => SUMMARY;
  const make = (overrides: Partial<WatcherOptions> = {}) =>
    new ScanWatcher({
      scanner,
      store: kv,
      clock,
      logger: logs.logger,
      output,
      scans: scanStore,
      summarize: (report) => summarize(report),
      projects: {
        get: async (id) => (id === "p1" ? { name: "web-shop", url: "https://shop.example" } : undefined),
      },
      options: { random: () => 0, ...options, ...overrides },
    });
  const watcher = make();
  let next = 1;
  const scan = (state: ScanState = "queued", id = String(next++)): ScanRecord => {
    scanner.states.set(id, state);
    return {
      scanId: id,
      projectId: "p1",
      projectName: "web-shop",
      targetUrl: "https://shop.example",
      backend: "fake",
      requestedBy: "U0ALICE",
      channel: "C1",
      card: { channel: "C1", ts: `1.${id}` },
      state,
      startedAt: clock.now(),
      updatedAt: clock.now(),
    };
  };
  return {
    clock,
    scanner,
    output,
    logs,
    store: kv,
    scans: scanStore,
    watcher,
    make,
    scan,
    setSummarize: (fn: typeof summarize) => {
      summarize = fn;
    },
    async tickAfter(ms: number, w: ScanWatcher = watcher) {
      clock.advance(ms);
      return w.tick();
    },
  };
}

test("a scan's life: one reply per state change, silent polls, then final, summary and files in order", async () => {
  const t = await setup();
  const scan = t.scan("queued");
  await t.scans.saveScan(scan);
  await t.watcher.watch(scan);
  await t.tickAfter(INTERVAL);
  assert.deepEqual(t.output.effects(scan.scanId), []);
  assert.equal(t.scanner.count("status"), 1);

  t.scanner.states.set(scan.scanId, "running");
  await t.tickAfter(INTERVAL);
  assert.deepEqual(t.output.effects(scan.scanId), ["state:running"]);
  assert.equal(t.output.deliveries.filter((d) => d.kind === "card").length, 1);

  for (let i = 0; i < 3; i++) await t.tickAfter(INTERVAL);
  assert.equal(t.output.deliveries.length, 2, "unchanged polls post and edit nothing");

  t.scanner.states.set(scan.scanId, "finished");
  await t.tickAfter(INTERVAL);
  assert.deepEqual(t.output.effects(scan.scanId), [
    "state:running",
    "final",
    "summary",
    "file:pdf",
    "file:json",
  ]);
  const final = t.output.notices(scan.scanId)[1];
  assert.deepEqual(final, {
    kind: "final",
    state: "finished",
    rawCode: "finished",
    reportFormats: ["pdf", "json"],
  });
  // The JSON report is fetched once for the summary and the upload.
  assert.deepEqual(
    t.scanner.calls.filter((c) => c.op === "report").map((c) => c.format),
    ["json", "pdf"],
  );
  const record = (await t.watcher.getWatch(scan.scanId)) as WatchRecord;
  assert.equal(record.phase, "ended");
  assert.ok(record.effects.every((e) => e.status === "done"));
  assert.equal((await t.scans.getScan(scan.scanId))?.state, "finished");
});

test("polls are an interval apart, spread by jitter, and the first comes an interval after the start", async () => {
  let seed = 1;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return (seed - 1) / 2147483646;
  };
  const t = await setup({ random, jitterRatio: 0.1, tickMs: 5_000, maxRequestsPerMinute: 10_000 });
  const start = t.clock.now();
  const records: WatchRecord[] = [];
  for (let i = 0; i < 400; i++) records.push(await t.watcher.watch(t.scan("running")));
  const delays = records.map((r) => r.nextPollAt - start);
  assert.ok(delays.every((d) => d >= INTERVAL && d < INTERVAL * 1.1));
  // Spread over the jitter window instead of one instant.
  assert.ok(new Set(delays.map((d) => Math.floor(d / 1000))).size > 10);
  // Each scan's own polls stay at least an interval apart whatever the tick rate.
  for (let i = 0; i < 80; i++) await t.tickAfter(5_000);
  for (const record of records.slice(0, 20)) {
    const times = t.scanner.calls.filter((c) => c.scanId === record.scanId).map((c) => c.at);
    assert.ok(times.length >= 2);
    for (let k = 1; k < times.length; k++)
      assert.ok((times[k] as number) - (times[k - 1] as number) >= INTERVAL);
  }
});

test("the request budget caps scanner calls per tick and in every 60 s window, oldest due first", async () => {
  const t = await setup({ maxRequestsPerMinute: 20, tickMs: 15_000 });
  const scans = [];
  for (let i = 0; i < 100; i++) {
    scans.push(t.scan("running"));
    await t.watcher.watch(scans[i] as ScanRecord);
    t.clock.advance(10); // distinct due times, in this order
  }
  const perTick: number[] = [];
  for (let i = 0; i < 40; i++) perTick.push((await t.tickAfter(15_000)).statusCalls);
  assert.ok(Math.max(...perTick) <= 5, `per tick: ${perTick}`);
  const times = t.scanner.calls.map((c) => c.at).sort((a, b) => a - b);
  for (let i = 0; i < times.length; i++) {
    const inWindow = times.filter(
      (at) => at >= (times[i] as number) && at < (times[i] as number) + MIN,
    ).length;
    assert.ok(inWindow <= 20, `${inWindow} calls within 60 s`);
  }
  // Fairness: the first 20 polls went to the 20 longest-due scans.
  const firstPolled = t.scanner.calls.slice(0, 20).map((c) => c.scanId);
  assert.deepEqual(
    firstPolled,
    scans.slice(0, 20).map((s) => s.scanId),
  );
  assert.ok(
    scans.every((s) => t.scanner.count("status", s.scanId) >= 1),
    "every scan got its turn",
  );
});

test("work within a tick runs with bounded concurrency", async () => {
  const t = await setup({ concurrency: 3, maxRequestsPerMinute: 1000 });
  t.scanner.delayMs = 5;
  for (let i = 0; i < 20; i++) await t.watcher.watch(t.scan("running"));
  const report = await t.tickAfter(INTERVAL + 1000);
  assert.equal(report.statusCalls, 20);
  assert.equal(t.scanner.maxInFlight, 3);
});

test("transient failures back off (an interval, doubling, capped) and give up after 5 retries with one notice", async () => {
  const t = await setup({ maxBackoffMs: 15 * MIN });
  const scan = t.scan("running");
  await t.watcher.watch(scan);
  const failure = () =>
    new AppError("unavailable", "Crashtest is having trouble right now.", { retryable: true });
  t.scanner.failures.set(scan.scanId, Array.from({ length: 6 }, failure));
  for (let i = 0; i < 60 * 4; i++) await t.tickAfter(15_000);
  const times = t.scanner.calls.map((c) => c.at - (t.scanner.calls[0]?.at ?? 0));
  assert.deepEqual(
    times.map((ms) => ms / MIN),
    [0, 2, 6, 14, 29, 44],
  );
  assert.deepEqual(t.output.effects(scan.scanId), ["watch_failed"]);
  assert.deepEqual(t.output.notices(scan.scanId)[0], {
    kind: "watch_failed",
    reason: "Crashtest is having trouble right now.",
    attempts: 6,
  });
  const record = (await t.watcher.getWatch(scan.scanId)) as WatchRecord;
  assert.equal(record.outcome, "watch_failed");
  assert.equal(t.output.deliveries.filter((d) => d.kind === "card").length, 1, "the card gets its note");

  // watch() again (what `scan status` does) resumes it; nothing already posted is repeated.
  const resumed = await t.watcher.watch(scan);
  assert.equal(resumed.phase, "polling");
  assert.equal(resumed.attaches, 1);
  t.scanner.states.set(scan.scanId, "finished");
  for (let i = 0; i < 12; i++) await t.tickAfter(15_000);
  assert.deepEqual(t.output.effects(scan.scanId), [
    "watch_failed",
    "final",
    "summary",
    "file:pdf",
    "file:json",
  ]);
});

test("a Retry-After longer than the backoff is respected", async () => {
  const t = await setup();
  const scan = t.scan("running");
  await t.watcher.watch(scan);
  t.scanner.failures.set(scan.scanId, [
    new AppError("rate_limited", "Crashtest is rate-limiting the bot.", {
      retryable: true,
      retryAfterMs: 10 * MIN,
    }),
  ]);
  await t.tickAfter(INTERVAL);
  assert.equal((await t.watcher.getWatch(scan.scanId))?.nextPollAt, t.clock.now() + 10 * MIN);
});

test("a non-retryable scanner error gives up at once; not_found ends the watch as gone", async () => {
  const t = await setup();
  const auth = t.scan("running");
  const gone = t.scan("running");
  await t.watcher.watch(auth);
  await t.watcher.watch(gone);
  t.scanner.failures.set(auth.scanId, [new AppError("auth", "Crashtest refused the credentials.")]);
  t.scanner.states.delete(gone.scanId);
  await t.tickAfter(INTERVAL);
  assert.deepEqual(t.output.notices(auth.scanId), [
    { kind: "watch_failed", reason: "Crashtest refused the credentials.", attempts: 1 },
  ]);
  assert.deepEqual(t.output.notices(gone.scanId), [
    { kind: "gone", reason: `Crashtest does not know scan ${gone.scanId}.` },
  ]);
  assert.equal((await t.watcher.getWatch(gone.scanId))?.outcome, "not_found");
});

test("stopped and failed scans get their final notice but no report files", async () => {
  const t = await setup();
  const stopped = t.scan("running");
  const failed = t.scan("running");
  await t.watcher.watch(stopped);
  await t.watcher.watch(failed);
  t.scanner.states.set(stopped.scanId, "stopped");
  t.scanner.states.set(failed.scanId, "failed");
  await t.tickAfter(INTERVAL);
  assert.deepEqual(t.output.effects(stopped.scanId), ["final"]);
  assert.deepEqual(t.output.effects(failed.scanId), ["final"]);
  assert.equal(t.scanner.count("report"), 0);
  assert.equal((await t.watcher.getWatch(failed.scanId))?.outcome, "failed");
});

test("refused uploads and undeliverable reports end in one notice with the report commands", async () => {
  const t = await setup();
  const scan = t.scan("running");
  await t.watcher.watch(scan);
  t.scanner.states.set(scan.scanId, "finished");
  t.scanner.reportFailures.set(`${scan.scanId}:pdf`, new AppError("unsupported", "No PDF for this scan."));
  t.output.refuseUploads = "file uploads are disabled in this workspace (file_uploads_disabled)";
  await t.tickAfter(INTERVAL);
  assert.deepEqual(t.output.effects(scan.scanId), ["final", "summary", "files_refused"]);
  assert.deepEqual(t.output.notices(scan.scanId)[2], {
    kind: "files_refused",
    refused: [
      { format: "pdf", reason: "No PDF for this scan." },
      { format: "json", reason: "file uploads are disabled in this workspace (file_uploads_disabled)" },
    ],
  });
  assert.equal((await t.watcher.getWatch(scan.scanId))?.phase, "ended");
});

test("a report that cannot be summarised gets a summary_unavailable notice; the files still go up", async () => {
  const t = await setup();
  t.setSummarize(() => {
    throw new AppError("unavailable", "The JSON findings report could not be read.");
  });
  const scan = t.scan("finished");
  await t.watcher.watch(scan); // watched after the end: the report is still owed
  await t.tickAfter(1000);
  assert.deepEqual(t.output.effects(scan.scanId), ["final", "summary", "file:pdf", "file:json"]);
  assert.deepEqual(t.output.notices(scan.scanId)[1], {
    kind: "summary_unavailable",
    reason: "The JSON findings report could not be read.",
  });
  assert.equal(t.scanner.count("status"), 0, "a scan watched after its end needs no status poll");
});

test("a Slack response lost after delivery: the thread says it is there, so it is not posted again", async () => {
  const t = await setup();
  const scan = t.scan("running");
  await t.watcher.watch(scan);
  t.scanner.states.set(scan.scanId, "finished");
  t.output.failNext.push({
    kind: "upload",
    error: new AppError("unavailable", "Slack did not answer.", { retryable: true }),
    delivered: true,
  });
  const first = await t.tickAfter(INTERVAL);
  assert.equal(first.slackFailures, 1);
  assert.equal(
    (await t.watcher.getWatch(scan.scanId))?.effects.find((e) => e.id === "file:pdf")?.status,
    "pending",
  );
  for (let i = 0; i < 4; i++) await t.tickAfter(15_000);
  assert.deepEqual(t.output.effects(scan.scanId), ["final", "summary", "file:pdf", "file:json"]);
  assert.equal(t.output.reconciles, 1);
  assert.equal(t.scanner.count("status"), 1, "retrying the Slack side asks the scanner nothing new");
});

test("a Slack failure before delivery is retried with backoff and delivered once", async () => {
  const t = await setup();
  const scan = t.scan("queued");
  await t.watcher.watch(scan);
  t.scanner.states.set(scan.scanId, "running");
  for (let i = 0; i < 3; i++) {
    t.output.failNext.push({
      kind: "post",
      error: new AppError("unavailable", "Slack did not accept it.", { retryable: true }),
      delivered: false,
    });
  }
  await t.tickAfter(INTERVAL);
  const record = (await t.watcher.getWatch(scan.scanId)) as WatchRecord;
  assert.equal(record.slackFailures, 1);
  assert.equal(record.nextPollAt, t.clock.now() + 30_000);
  await t.tickAfter(30_000);
  assert.equal((await t.watcher.getWatch(scan.scanId))?.nextPollAt, t.clock.now() + 60_000);
  await t.tickAfter(60_000);
  // Third retry would wait 2 min, which is also when the next poll is due.
  await t.tickAfter(INTERVAL);
  assert.deepEqual(t.output.effects(scan.scanId), ["state:running"]);
  assert.equal((await t.watcher.getWatch(scan.scanId))?.slackFailures, 0);
});

test("a store write failing after the post: the next tick reconciles instead of reposting", async () => {
  const inner = await openStore({ url: "memory://" });
  cleanups.push(() => inner.close());
  let armed = false;
  const store: KeyValueStore = {
    ...inner,
    get: (ns, key) => inner.get(ns, key),
    add: (ns, key, value, ttl) => inner.add(ns, key, value, ttl),
    delete: (ns, key) => inner.delete(ns, key),
    entries: (ns) => inner.entries(ns),
    set: async (ns, key, value, ttl) => {
      const done = (value as WatchRecord).effects?.some(
        (e) => e.id === "state:running" && e.status === "done",
      );
      if (armed && ns === "watches" && done) {
        armed = false;
        throw new AppError("store", "The bot's storage is not answering right now.", { retryable: true });
      }
      return inner.set(ns, key, value, ttl);
    },
  };
  const t = await setup({}, store);
  const scan = t.scan("queued");
  await t.watcher.watch(scan);
  t.scanner.states.set(scan.scanId, "running");
  armed = true;
  const failed = await t.tickAfter(INTERVAL);
  assert.equal(failed.errors, 1);
  assert.deepEqual(t.output.effects(scan.scanId), ["state:running"]);
  await t.tickAfter(15_000);
  assert.deepEqual(t.output.effects(scan.scanId), ["state:running"], "not posted twice");
  assert.equal(t.output.reconciles, 1);
  assert.equal((await t.watcher.getWatch(scan.scanId))?.effects[0]?.status, "done");
  assert.equal(t.scanner.count("status"), 1);
});

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

test("a watch added on another replica is picked up at the next tick without a full reload", async () => {
  const t = await setup();
  const other = t.make();
  await t.watcher.tick(); // synced with an empty list
  const scan = t.scan("running");
  await other.watch(scan);
  await t.tickAfter(INTERVAL);
  assert.equal(t.scanner.count("status", scan.scanId), 1, "polled by the replica that did not create it");
});

test("watch is idempotent and needs a card; attach answers, records and resumes", async () => {
  const t = await setup();
  const scan = t.scan("running");
  const { card: _card, ...cardless } = scan;
  await assert.rejects(t.watcher.watch(cardless as ScanRecord), /card/);
  const first = await t.watcher.watch(scan);
  const second = await t.watcher.watch({ ...scan, state: "queued" });
  assert.deepEqual(second, first);

  // A scan the bot never saw: status from the scanner, a card-less record for the caller to announce.
  t.scanner.states.set("77", "running");
  const attached = await t.watcher.attach("77", "p1", "C9", "U0BOB");
  assert.equal(attached.status.state, "running");
  assert.equal(attached.watch, undefined);
  assert.equal(attached.scan.card, undefined);
  assert.equal(attached.scan.projectName, "web-shop");
  assert.equal(attached.scan.requestedBy, "U0BOB");
  assert.deepEqual(await t.scans.getScan("77"), attached.scan);
  const watched = await t.watcher.watch({ ...attached.scan, card: { channel: "C9", ts: "9.9" } });
  assert.equal(watched.phase, "polling");

  // Already watched: answered from the record, no scanner call.
  const calls = t.scanner.calls.length;
  const again = await t.watcher.attach("77", "p1", "C9", "U0BOB");
  assert.equal(again.alreadyWatched, true);
  assert.equal(t.scanner.calls.length, calls);

  await assert.rejects(t.watcher.attach("77", "p2", "C9", "U0BOB"), /belongs to project p1/);
  await assert.rejects(t.watcher.attach("404", "p1", "C9", "U0BOB"), (e: AppError) => e.kind === "not_found");

  // Ended before the bot knew it: status only.
  t.scanner.states.set("88", "finished");
  const late = await t.watcher.attach("88", "p1", "C9", "U0BOB");
  assert.equal(late.status.state, "finished");
  assert.equal(late.watch, undefined);

  // A watch that gave up is resumed by attach on its own card, with the fresh state announced.
  t.scanner.failures.set(scan.scanId, [new AppError("auth", "Crashtest refused the credentials.")]);
  await t.tickAfter(INTERVAL);
  assert.equal((await t.watcher.getWatch(scan.scanId))?.outcome, "watch_failed");
  t.scanner.states.set(scan.scanId, "finished");
  const resumed = await t.watcher.attach(scan.scanId, "p1", "C1", "U0BOB");
  assert.equal(resumed.watch?.phase, "reporting");
  assert.deepEqual(resumed.scan.card, scan.card);
  await t.tickAfter(1000);
  assert.deepEqual(t.output.effects(scan.scanId), [
    "watch_failed",
    "final",
    "summary",
    "file:pdf",
    "file:json",
  ]);
  assert.deepEqual(
    (await t.watcher.recentResults()).map((w) => w.scanId),
    [scan.scanId],
  );
  assert.deepEqual(
    (await t.watcher.activeWatches()).map((w) => w.scanId),
    ["77"],
  );
});

test("options: a poll interval under 120 s is accepted with a warning; formats follow the scanner", async () => {
  const t = await setup({ pollIntervalMs: 30_000, reportFormats: ["pdf", "xml", "csv"] });
  t.scanner.reportFormats = ["pdf", "json", "junit"];
  const watcher = t.make();
  assert.equal(watcher.options.pollIntervalMs, 30_000);
  assert.ok(
    t.logs
      .records()
      .some((l) => l.level === "warn" && String(l.msg).includes("below Veracode's recommended")),
  );
  assert.deepEqual(watcher.uploadFormats, ["pdf", "junit"], "xml means the JUnit report; csv is not offered");
  assert.ok(t.logs.records().some((l) => l.msg === "report formats the scanner does not offer are skipped"));
  assert.throws(() => t.make({ maxRequestsPerMinute: 0 }), /at least 1/);
});

test("RequestBudget: a sliding 60 s window, saved and merged across instances", () => {
  const budget = new RequestBudget(3);
  const t0 = 1_000_000;
  assert.ok(budget.tryTake(t0));
  assert.ok(budget.tryTake(t0 + 10_000));
  assert.ok(budget.tryTake(t0 + 59_000));
  assert.equal(budget.tryTake(t0 + 59_999), false);
  assert.ok(budget.tryTake(t0 + 60_000), "the first request left the window");
  const other = new RequestBudget(3);
  other.load(budget.snapshot(t0 + 60_000));
  assert.equal(other.used(t0 + 60_000), 3);
  assert.equal(other.tryTake(t0 + 60_500), false);
});

test("DueIndex pops the most overdue first and skips stale entries", () => {
  const index = new DueIndex();
  index.set("a", 30);
  index.set("b", 10);
  index.set("c", 20);
  index.set("b", 40); // moved
  index.delete("c");
  assert.deepEqual(index.popDue(35), { id: "a", at: 30 });
  assert.equal(index.popDue(35), undefined);
  assert.deepEqual(index.popDue(40), { id: "b", at: 40 });
  assert.equal(index.size, 0);
  for (let i = 0; i < 5000; i++) index.set(`s${i % 100}`, i);
  assert.equal(index.size, 100);
  let last = -1;
  for (let item = index.popDue(1e9); item; item = index.popDue(1e9)) {
    assert.ok(item.at >= last);
    last = item.at;
  }
});
