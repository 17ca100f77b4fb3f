import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type {
  Clock,
  Project,
  Report,
  ReportFormat,
  Scanner,
  ScanRef,
  ScanStatus,
  StartScanResult,
} from "../src/domain/ports.js";
import { reportFromFile } from "../src/domain/reports.js";
import { ScanBook } from "../src/domain/scan-record.js";
import type { ScanRecord } from "../src/domain/scans.js";
import {
  ScanWatcher,
  type UploadResult,
  type WatchNotice,
  type WatchOutput,
  type WatchRecord,
  type WatchSubject,
} from "../src/domain/watch/index.js";
import { createLogger } from "../src/logger.js";
import { summarizeReport } from "../src/scanners/findings.js";
import { buildJsonReport, buildPdfReport } from "../src/scanners/simulator/reports.js";
import { scanCard } from "../src/slack/blocks/cards.js";
import { cardNote, noticeMessage } from "../src/slack/notifier.js";
import { openStore } from "../src/store/index.js";

/**
 * The scan watcher at 10,000 concurrently watched scans in one process, on a simulated clock:
 * peak RSS, CPU per tick, scanner requests per minute against the budget, and scanner calls per
 * finished scan against the floor (start + ceil(duration / interval) + report downloads).
 *
 * The scanner is an in-process fake (over HTTP the loopback round trips would dominate the figures);
 * the store is the real one (memory://, and in one scenario the default SQLite file), and the Slack
 * side builds every real message (cards, notices, findings summaries from the simulator's JSON report)
 * but sends nothing. Simulated time
 * runs ~300x faster than real time, so a GC is forced between ticks to stand in for the 15 s of
 * idle time a real tick has (V8 collects then), and the next tick starts once V8's helper threads are
 * done with it; its cost is shown separately. CPU per tick is the process's (all threads); the main
 * thread's share is shown beside it. The figures come from a child process running an esbuild bundle
 * of this file on plain node, so that RSS does not include tsx's loader (~70 MB); without esbuild it
 * runs in-process and says so. A benchmark: it prints figures and never fails.
 */

const SCANS = Number(process.env.BENCH_WATCH_SCANS ?? 10_000);
const INTERVAL_MS = 120_000;
const TICK_MS = 15_000;
const FORMATS: ReportFormat[] = ["pdf", "json"];

class SimClock implements Clock {
  constructor(public current: number) {}
  now(): number {
    return this.current;
  }
}

interface BenchScan {
  projectId: string;
  startedAt: number;
  durationMs: number;
  outcome: "finished" | "failed";
  calls: number;
}

class BenchScanner implements Scanner {
  readonly name = "bench";
  readonly reportFormats: readonly ReportFormat[] = ["pdf", "json", "xml"];
  readonly scans = new Map<string, BenchScan>();
  /** Watcher requests (status, reports) per simulated second. */
  readonly perSecond = new Map<number, number>();
  /** Watcher requests; starts are counted apart (they are the commands' calls, not the watcher's). */
  total = 0;
  starts = 0;
  private next = 1;
  private readonly json: Uint8Array;
  private readonly pdf: Uint8Array;

  constructor(private readonly clock: Clock) {
    const subject = { projectName: "bench", targetUrl: "https://bench.example", scanId: "0" };
    this.json = new TextEncoder().encode(buildJsonReport(subject, new Date(0)));
    this.pdf = buildPdfReport(subject);
  }

  private count(scanId: string, start = false): void {
    const scan = this.scans.get(scanId);
    if (scan) scan.calls++;
    if (start) {
      this.starts++;
      return;
    }
    this.total++;
    const second = Math.floor(this.clock.now() / 1000);
    this.perSecond.set(second, (this.perSecond.get(second) ?? 0) + 1);
  }

  async startScan(projectId: string): Promise<StartScanResult> {
    const scanId = String(this.next++);
    // 1 min queued, then 9 to 59 min running; one in twenty fails at the scanner.
    const durationMs = 60_000 + (9 + ((this.next * 7919) % 51)) * 60_000;
    this.scans.set(scanId, {
      projectId,
      startedAt: this.clock.now(),
      durationMs,
      outcome: this.next % 20 === 0 ? "failed" : "finished",
      calls: 0,
    });
    this.count(scanId, true);
    return { scanId, alreadyRunning: false };
  }

  async getScanStatus(ref: ScanRef): Promise<ScanStatus> {
    this.count(ref.scanId);
    const scan = this.scans.get(ref.scanId);
    if (!scan) throw new Error("unknown scan");
    const elapsed = this.clock.now() - scan.startedAt;
    const state = elapsed < 60_000 ? "queued" : elapsed < scan.durationMs ? "running" : scan.outcome;
    return { scanId: ref.scanId, state, rawCode: state };
  }

  async getReport(ref: ScanRef, format: ReportFormat): Promise<Report> {
    this.count(ref.scanId);
    const bytes = format === "pdf" ? this.pdf : this.json;
    return reportFromFile({
      format,
      bytes,
      contentType: "application/octet-stream",
      fileName: `bench.${format}`,
    });
  }

  async createProject(): Promise<Project> {
    throw new Error("not used");
  }
  async getProject(): Promise<never> {
    throw new Error("not used");
  }
  async deleteProject(): Promise<void> {}
  async stopScan(): Promise<void> {}
  async close(): Promise<void> {}
}

/** Builds every Slack message the notifier would send; sends nothing. */
class RenderOnlyOutput implements WatchOutput {
  posts = 0;
  uploads = 0;
  cards = 0;
  async updateCard(_card: unknown, scan: ScanRecord, watch: WatchRecord): Promise<void> {
    const note = cardNote(watch);
    scanCard(scan, note ? { note } : {});
    this.cards++;
  }
  async post(_card: unknown, subject: WatchSubject, notice: WatchNotice): Promise<void> {
    noticeMessage(subject, notice);
    this.posts++;
  }
  async upload(): Promise<UploadResult> {
    this.uploads++;
    return { ok: true };
  }
  async postedEffects(): Promise<ReadonlySet<string>> {
    return new Set();
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function maxPerMinute(perSecond: Map<number, number>): number {
  const seconds = [...perSecond.keys()].sort((a, b) => a - b);
  if (seconds.length === 0) return 0;
  let best = 0;
  let windowSum = 0;
  let lo = 0;
  for (let hi = 0; hi < seconds.length; hi++) {
    windowSum += perSecond.get(seconds[hi] as number) ?? 0;
    while ((seconds[hi] as number) - (seconds[lo] as number) >= 60) {
      windowSum -= perSecond.get(seconds[lo] as number) ?? 0;
      lo++;
    }
    best = Math.max(best, windowSum);
  }
  return best;
}

interface Scenario {
  label: string;
  budget: number;
  /** Extra node flags for the child process. */
  nodeFlags?: string[];
  /** Simulated minutes; undefined runs until every watch ended. */
  minutes?: number;
  /** The store: memory:// unless "sqlite" (the bot's default, a file in a fresh temporary folder). */
  store?: "sqlite";
}

async function runScenario(scenario: Scenario) {
  const clock = new SimClock(Date.UTC(2026, 0, 5, 9, 0, 0));
  const folder = scenario.store === "sqlite" ? await mkdtemp(path.join(tmpdir(), "watch-bench-")) : undefined;
  const store = await openStore({
    url: folder ? `sqlite://${path.join(folder, "bot.sqlite")}` : "memory://",
  });
  const scanner = new BenchScanner(clock);
  const output = new RenderOnlyOutput();
  const logger = createLogger({ level: "error", write: () => {} });
  const scans = new ScanBook(store, clock);
  const watcher = new ScanWatcher({
    scanner,
    store,
    clock,
    logger,
    output,
    scans,
    summarize: (report) => summarizeReport(report),
    options: {
      pollIntervalMs: INTERVAL_MS,
      maxRequestsPerMinute: scenario.budget,
      reportFormats: FORMATS,
      tickMs: TICK_MS,
    },
  });
  await watcher.start();

  // Scans start spread over the first 10 minutes, as people start them.
  const startSpreadMs = 10 * 60_000;
  const started: string[] = [];
  const cpuPerTick: number[] = [];
  const wallPerTick: number[] = [];
  /** The main thread's share of cpuPerTick (the rest: GC helpers, compiler threads). */
  const mainPerTick: number[] = [];
  const duePerTick: number[] = [];
  const gcPerTick: number[] = [];
  /** Per tick: status calls, report calls, state changes. */
  const shapes: Array<[number, number, number]> = [];
  collect();
  const baseRss = process.memoryUsage().rss;
  const baseHeap = process.memoryUsage().heapUsed;
  let peakRss = baseRss;
  let peakHeap = baseHeap;
  const t0 = clock.now();
  const deadline = t0 + (scenario.minutes ?? 24 * 60) * 60_000;
  let launched = 0;
  for (;;) {
    // Launch the scans whose start time has come.
    const due = Math.min(SCANS, Math.ceil(((clock.now() - t0 + TICK_MS) / startSpreadMs) * SCANS));
    for (; launched < due; launched++) {
      const { scanId } = await scanner.startScan(`p${launched}`);
      const record: ScanRecord = {
        scanId,
        projectId: `p${launched}`,
        projectName: `project-${launched}`,
        targetUrl: `https://p${launched}.example`,
        backend: scanner.name,
        requestedBy: "U0BENCH",
        channel: "C0BENCH",
        card: { channel: "C0BENCH", ts: `${launched}.000100` },
        state: "queued",
        startedAt: clock.now(),
        updatedAt: clock.now(),
      };
      await scans.started(record);
      await watcher.watch(record);
      started.push(scanId);
    }
    gcPerTick.push(await settle());
    const cpu = process.cpuUsage();
    const main = process.threadCpuUsage();
    const wall = performance.now();
    const report = await watcher.tick();
    const used = process.cpuUsage(cpu);
    const usedMain = process.threadCpuUsage(main);
    wallPerTick.push(performance.now() - wall);
    cpuPerTick.push((used.user + used.system) / 1000);
    mainPerTick.push((usedMain.user + usedMain.system) / 1000);
    duePerTick.push(report.statusCalls + report.reportCalls);
    shapes.push([report.statusCalls, report.reportCalls, report.stateChanges]);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const gcStart = process.cpuUsage();
    collect();
    const gcUsed = process.cpuUsage(gcStart);
    gcPerTick[gcPerTick.length - 1] += (gcUsed.user + gcUsed.system) / 1000;
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    clock.current += TICK_MS;
    if (clock.now() >= deadline) break;
    if (scenario.minutes === undefined && launched === SCANS && report.active === 0) break;
  }

  // Calls per finished scan against the floor.
  let finished = 0;
  let within = 0;
  let sumRatio = 0;
  let worst = 0;
  let sumCalls = 0;
  let sumFloor = 0;
  for (const id of started) {
    const scan = scanner.scans.get(id) as BenchScan;
    const watch = await store.get<WatchRecord>("watches", id);
    if (scan.outcome !== "finished" || watch?.phase !== "ended") continue;
    const floor = 1 + Math.ceil(scan.durationMs / INTERVAL_MS) + FORMATS.length;
    const ratio = scan.calls / floor;
    finished++;
    sumCalls += scan.calls;
    sumFloor += floor;
    sumRatio += ratio;
    worst = Math.max(worst, Math.abs(ratio - 1));
    if (Math.abs(ratio - 1) <= 0.05) within++;
  }
  const busy = cpuPerTick.filter((_, i) => (duePerTick[i] ?? 0) > 0);
  const busyMain = mainPerTick.filter((_, i) => (duePerTick[i] ?? 0) > 0);
  const simulatedMin = (cpuPerTick.length * TICK_MS) / 60_000;
  await store.close();
  if (folder) await rm(folder, { recursive: true, force: true });
  return {
    scenario,
    ticks: cpuPerTick.length,
    simulatedMin,
    peakRssMb: peakRss / 1024 / 1024,
    baseRssMb: baseRss / 1024 / 1024,
    peakHeapMb: peakHeap / 1024 / 1024,
    baseHeapMb: baseHeap / 1024 / 1024,
    gcMean: gcPerTick.reduce((a, b) => a + b, 0) / Math.max(1, gcPerTick.length),
    cpuMean: busy.reduce((a, b) => a + b, 0) / Math.max(1, busy.length),
    cpuP95: percentile(busy, 95),
    cpuMax: Math.max(0, ...busy),
    mainP95: percentile(busyMain, 95) as number | undefined,
    maxStateChanges: Math.max(0, ...shapes.map((x) => x[2])),
    slowest: cpuPerTick
      .map((cpu, i) => ({ cpu: Number(cpu.toFixed(1)), shape: shapes[i] }))
      .sort((a, b) => b.cpu - a.cpu)
      .slice(0, 8),
    wallP95: percentile(wallPerTick, 95),
    maxCallsPerTick: Math.max(0, ...duePerTick),
    requests: scanner.total,
    starts: scanner.starts,
    maxPerMinute: maxPerMinute(scanner.perSecond),
    avgPerMinute: scanner.total / Math.max(1, simulatedMin),
    finished,
    meanRatio: finished ? sumRatio / finished : 0,
    totalRatio: sumFloor ? sumCalls / sumFloor : 0,
    worst,
    within: finished ? within / finished : 0,
    posts: output.posts,
    uploads: output.uploads,
    cards: output.cards,
  };
}

/**
 * Waits (real time, at most ~100 ms) until the threads other than the main one are idle, and returns
 * the CPU they used meanwhile. A forced GC leaves them sweeping and freeing memory for some 10 ms
 * after it returns; in a real process that happens in the idle time between ticks, so it must not be
 * billed to the next tick. Scan launches before a tick (the commands' work) leave the same kind of tail.
 */
async function settle(): Promise<number> {
  let background = 0;
  for (let i = 0; i < 20; i++) {
    const all = process.cpuUsage();
    const main = process.threadCpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const a = process.cpuUsage(all);
    const m = process.threadCpuUsage(main);
    const ms = (a.user + a.system - (m.user + m.system)) / 1000;
    background += ms;
    if (ms < 0.25) break;
  }
  return background;
}

/** A GC now; stands in for the idle time between real ticks. */
let gcFn: (() => void) | undefined;
function collect(): void {
  if (!gcFn) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gcFn = exposed;
    else {
      setFlagsFromString("--expose-gc");
      gcFn = runInNewContext("gc") as () => void;
    }
  }
  gcFn();
}

const SEMI = ["--max-semi-space-size=2"];
const SCENARIOS: Record<string, Scenario> = {
  defaults: { label: "V8 defaults", budget: 7000 },
  semi: { label: "--max-semi-space-size=2 (Dockerfile)", budget: 7000, nodeFlags: SEMI },
  capped: { label: "budget 1500/min < load (semi 2)", budget: 1500, minutes: 30, nodeFlags: SEMI },
  sqlite: { label: "SQLite file store (semi 2)", budget: 7000, nodeFlags: SEMI, store: "sqlite" },
};

type Result = Awaited<ReturnType<typeof runScenario>>;

function printResults(results: Result[], where: string): void {
  console.log(
    `\nScan watcher — ${SCANS} watched scans, poll interval ${INTERVAL_MS / 1000} s, tick ${TICK_MS / 1000} s, first-poll jitter 25 %; ${where}`,
  );
  console.log(
    "Scanner: in-process fake (HTTP round trips would dominate). Store: memory:// (the SQLite scenario: a file, the default STORE_URL), with the watcher's in-memory due index (read from the store at start; then announcements read by key, schedule records read back one slice in 8 every 75 s; a tick never lists the watch records). Slack: every message built, none sent.",
  );
  const fmt = (n: number, digits = 1) => Number(n.toFixed(digits));
  console.table(
    results.map((r) => ({
      scenario: r.scenario.label,
      "sim min": fmt(r.simulatedMin, 0),
      "peak RSS MB (≤120)": fmt(r.peakRssMb),
      "RSS at start MB": fmt(r.baseRssMb),
      "peak live heap MB": fmt(r.peakHeapMb),
      "CPU ms/tick mean": fmt(r.cpuMean),
      "p95 (≤30)": fmt(r.cpuP95),
      "max (≤50)": fmt(r.cpuMax),
      // Absent from the results of a baseline bundle built before this column existed.
      "main thread p95": r.mainP95 === undefined ? "n/a" : fmt(r.mainP95),
      "state changes/tick max": r.maxStateChanges,
      "idle GC ms/tick": fmt(r.gcMean),
      "calls/tick max": r.maxCallsPerTick,
      "watcher req/min max": r.maxPerMinute,
      "budget/min": r.scenario.budget,
    })),
  );
  console.table(
    results
      .filter((r) => r.scenario.minutes === undefined)
      .map((r) => ({
        scenario: r.scenario.label,
        "finished scans": r.finished,
        "calls ÷ floor (mean)": fmt(r.meanRatio, 3),
        "Σ calls ÷ Σ floor": fmt(r.totalRatio, 3),
        "within 5 %": `${fmt(r.within * 100)} %`,
        "worst deviation": `${fmt(r.worst * 100)} %`,
        "thread posts": r.posts,
        uploads: r.uploads,
        "card edits": r.cards,
      })),
  );
  for (const r of results) {
    const slowest = r.slowest.map(
      (t) => `${t.cpu} ms (${t.shape[0]} polls, ${t.shape[1]} reports, ${t.shape[2]} changes)`,
    );
    console.log(`Slowest ticks, ${r.scenario.label}: ${slowest.join("; ")}`);
  }
  console.log(
    "Floor per finished scan = 1 start + ceil(duration / 120 s) status polls + 2 report downloads (pdf, json; the JSON one also feeds the summary). Watcher req/min = status + report calls in the busiest 60 s window (starts excluded: they are the commands' calls). Each scenario runs in a fresh process.",
  );
}

const CHILD_FLAG = "--watcher-bench-child";

/** Bundles this file with esbuild; undefined when esbuild is unavailable. */
async function bundle(): Promise<string | undefined> {
  let esbuild: typeof import("esbuild");
  let build: typeof import("../dev/build.js");
  try {
    esbuild = await import("esbuild");
    // Not a literal specifier: esbuild would otherwise put dev/build.ts (and esbuild) in the bundle.
    build = await import(new URL("../dev/build.ts", import.meta.url).href);
  } catch {
    return undefined;
  }
  const self = fileURLToPath(import.meta.url);
  // One file per run: benches of several checkouts may share node_modules.
  const outfile = path.resolve(
    path.dirname(self),
    `../node_modules/.cache/crashtest-bench/watcher-${process.pid}.mjs`,
  );
  await mkdir(path.dirname(outfile), { recursive: true });
  await esbuild.build({
    entryPoints: [self],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    packages: "external",
    // Bolt as the production build loads it (App and its receivers, without express: dev/build.ts).
    plugins: [build.boltValues],
    banner: { js: build.BUNDLE_BANNER },
    outfile,
    logLevel: "silent",
  });
  return outfile;
}

function runChild(file: string, name: string, scenario: Scenario): Result | undefined {
  const flags = ["--expose-gc", ...(scenario.nodeFlags ?? [])];
  const child = spawnSync(process.execPath, [...flags, file, CHILD_FLAG, name], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  const line = child.stdout.trim().split("\n").at(-1);
  if (child.status !== 0 || !line) {
    console.log(`watcher bench scenario ${name} (${file}) failed: ${child.stderr.slice(0, 2000)}`);
    return undefined;
  }
  return JSON.parse(line) as Result;
}

/**
 * BENCH_WATCH_BASELINE=<bundle.mjs> (a bundle of this file built from another commit) runs it and this
 * code alternately, BENCH_WATCH_ROUNDS times (default 1 without a baseline, 3 with one), so that a
 * busy machine's noise falls on both alike; BENCH_WATCH_SCENARIOS=semi,capped picks scenarios.
 */
export async function runWatcherBench(): Promise<void> {
  const file = await bundle().catch(() => undefined);
  const results: Result[] = [];
  if (file) {
    const baseline = process.env.BENCH_WATCH_BASELINE;
    const rounds = Number(process.env.BENCH_WATCH_ROUNDS ?? (baseline ? 3 : 1));
    const names = process.env.BENCH_WATCH_SCENARIOS?.split(",") ?? Object.keys(SCENARIOS);
    const baselineResults: Result[] = [];
    try {
      for (let round = 0; round < rounds; round++) {
        for (const name of names) {
          const scenario = SCENARIOS[name];
          if (!scenario) throw new Error(`unknown watcher bench scenario ${name}`);
          // Alternate which one goes first, so that neither always runs on a warmer machine.
          const order = round % 2 === 0 ? [baseline, file] : [file, baseline];
          for (const which of order) {
            if (!which) continue;
            const result = runChild(which, name, scenario);
            if (result) (which === file ? results : baselineResults).push(result);
          }
        }
      }
    } finally {
      await rm(file, { force: true });
    }
    if (baseline) printResults(baselineResults, `baseline ${baseline}, plain node`);
    printResults(results, "plain node (esbuild bundle of this file)");
    return;
  }
  for (const scenario of Object.values(SCENARIOS)) results.push(await runScenario(scenario));
  printResults(results, "in-process under tsx (esbuild unavailable): RSS includes tsx's loader");
}

const childIndex = process.argv.indexOf(CHILD_FLAG);
if (childIndex !== -1) {
  const scenario = SCENARIOS[process.argv[childIndex + 1] ?? ""];
  if (!scenario) throw new Error("unknown scenario");
  console.log(JSON.stringify(await runScenario(scenario)));
} else if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await runWatcherBench();
}
