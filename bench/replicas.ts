import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
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
  type WatchOutput,
  type WatchRecord,
} from "../src/domain/watch/index.js";
import { createLogger } from "../src/logger.js";
import { openStore } from "../src/store/index.js";

/**
 * The replica row (issue 19): 10,000 watched scans across three replicas on one real Redis (a
 * throw-away redis-server on a free loopback port, so the server's command counters are the bench's
 * alone). Each replica is a ScanWatcher with its own store connection, scan book and scanner client;
 * scans are started on replica i % 3, and each 15 s tick slot runs on one replica in turn, as the cron
 * coordinator elects one per slot. Simulated clock; ticks back to back. Reported: scanner requests per
 * minute against the shared budget, calls per finished scan against the floor, two polls of one scan
 * within an interval (whatever the replicas), and the store's own load: Redis commands per tick from
 * INFO commandstats. A benchmark: it prints figures and never fails.
 */

const SCANS = Number(process.env.BENCH_REPLICA_SCANS ?? 10_000);
/** Simulated minutes at most; every scan has ended well before the default. */
const MAX_MINUTES = Number(process.env.BENCH_REPLICA_MINUTES ?? 60);
/** Wall-clock bound, so a slow machine gives a partial row instead of an endless one. */
const MAX_WALL_S = Number(process.env.BENCH_REPLICA_WALL_SECONDS ?? 900);
const BUDGET = Number(process.env.BENCH_REPLICA_BUDGET ?? 7000);
const REPLICAS = 3;
const INTERVAL_MS = 120_000;
const TICK_MS = 15_000;
const FORMATS: ReportFormat[] = ["pdf", "json"];

class SimClock implements Clock {
  constructor(public current: number) {}
  now(): number {
    return this.current;
  }
}

interface FakeScan {
  startedAt: number;
  durationMs: number;
  calls: number;
  polls: Array<{ at: number; replica: number }>;
}

/** The scanner the three replicas share; each replica reaches it through its own `client(i)`. */
class SharedScanner {
  readonly scans = new Map<string, FakeScan>();
  readonly perSecond = new Map<number, number>();
  total = 0;
  private next = 1;
  private readonly bytes = new TextEncoder().encode("{}");

  constructor(private readonly clock: Clock) {}

  private count(scanId: string): FakeScan {
    const scan = this.scans.get(scanId);
    if (!scan) throw new Error(`unknown scan ${scanId}`);
    scan.calls++;
    this.total++;
    const second = Math.floor(this.clock.now() / 1000);
    this.perSecond.set(second, (this.perSecond.get(second) ?? 0) + 1);
    return scan;
  }

  start(): string {
    const scanId = String(this.next++);
    // 1 min queued, then 9 to 29 min running.
    const durationMs = 60_000 + (9 + ((this.next * 7919) % 21)) * 60_000;
    this.scans.set(scanId, { startedAt: this.clock.now(), durationMs, calls: 1, polls: [] });
    return scanId;
  }

  client(replica: number): Scanner {
    const shared = this;
    return {
      name: "bench",
      reportFormats: ["pdf", "json"],
      async startScan(): Promise<StartScanResult> {
        return { scanId: shared.start(), alreadyRunning: false };
      },
      async getScanStatus(ref: ScanRef): Promise<ScanStatus> {
        const scan = shared.count(ref.scanId);
        scan.polls.push({ at: shared.clock.now(), replica });
        const elapsed = shared.clock.now() - scan.startedAt;
        const state = elapsed < 60_000 ? "queued" : elapsed < scan.durationMs ? "running" : "finished";
        return { scanId: ref.scanId, state, rawCode: state };
      },
      async getReport(ref: ScanRef, format: ReportFormat): Promise<Report> {
        shared.count(ref.scanId);
        return reportFromFile({
          format,
          bytes: shared.bytes,
          contentType: "application/octet-stream",
          fileName: `bench.${format}`,
        });
      },
      async createProject(): Promise<Project> {
        throw new Error("not used");
      },
      async getProject(): Promise<never> {
        throw new Error("not used");
      },
      async deleteProject() {},
      async stopScan() {},
      async close() {},
    };
  }
}

/** Slack is not what this row measures: effects succeed at once. */
const quietOutput: WatchOutput = {
  async updateCard() {},
  async post() {},
  async upload(): Promise<UploadResult> {
    return { ok: true };
  },
  async postedEffects() {
    return new Set<string>();
  },
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === "object" && address ? address.port : 0;
}

/** A redis-server of the bench's own on a free loopback port, without persistence; undefined if not installed. */
export async function ownRedis(): Promise<{ port: number; stop(): void } | undefined> {
  if (spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status !== 0) return undefined;
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 10_000;
  while (!/Ready to accept connections/i.test(output)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill("SIGKILL");
      return undefined;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { port, stop: () => child.kill("SIGKILL") };
}

/** Calls per Redis command since the server started (INFO commandstats). */
function commandStats(port: number): Map<string, number> {
  const out = spawnSync("redis-cli", ["-p", String(port), "INFO", "commandstats"], {
    encoding: "utf8",
  }).stdout;
  const stats = new Map<string, number>();
  for (const [, name, calls] of out.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    stats.set(String(name), Number(calls));
  }
  return stats;
}

function usedMemoryMb(port: number): number {
  const out = spawnSync("redis-cli", ["-p", String(port), "INFO", "memory"], { encoding: "utf8" }).stdout;
  return Number(/^used_memory:(\d+)/m.exec(out)?.[1] ?? 0) / 1024 / 1024;
}

function maxPerMinute(perSecond: Map<number, number>): number {
  const seconds = [...perSecond.keys()].sort((a, b) => a - b);
  let best = 0;
  let sum = 0;
  let lo = 0;
  for (let hi = 0; hi < seconds.length; hi++) {
    sum += perSecond.get(seconds[hi] as number) ?? 0;
    while ((seconds[hi] as number) - (seconds[lo] as number) >= 60) {
      sum -= perSecond.get(seconds[lo] as number) ?? 0;
      lo++;
    }
    best = Math.max(best, sum);
  }
  return best;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export async function runReplicaBench(): Promise<void> {
  const redis = await ownRedis();
  if (!redis) {
    console.log("replica row skipped: redis-server is not installed (apt-get install redis-server)");
    return;
  }
  const url = `redis://127.0.0.1:${redis.port}`;
  const clock = new SimClock(Date.UTC(2026, 0, 5, 9, 0, 0));
  const scanner = new SharedScanner(clock);
  const logger = createLogger({ level: "error", write: () => {} });
  const stores = await Promise.all(Array.from({ length: REPLICAS }, () => openStore({ url })));
  try {
    const replicas = stores.map((store, i) => {
      const scans = new ScanBook(store, clock);
      const watcher = new ScanWatcher({
        scanner: scanner.client(i),
        store,
        clock,
        logger,
        output: quietOutput,
        scans,
        summarize: () => ({
          counts: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
          total: 0,
          findings: [],
        }),
        options: {
          pollIntervalMs: INTERVAL_MS,
          maxRequestsPerMinute: BUDGET,
          reportFormats: FORMATS,
          tickMs: TICK_MS,
        },
      });
      return { scans, watcher };
    });
    for (const replica of replicas) await replica.watcher.start();

    const startSpreadMs = 10 * 60_000;
    const started: string[] = [];
    const wallPerTick: number[] = [];
    const commandsPerTick: number[] = [];
    const t0 = clock.now();
    const wallStart = performance.now();
    let launched = 0;
    let stopped = "every watch ended";
    const statsAtStart = commandStats(redis.port);
    let slot = 0;
    for (; ; slot++) {
      const due = Math.min(SCANS, Math.ceil(((clock.now() - t0 + TICK_MS) / startSpreadMs) * SCANS));
      for (; launched < due; launched++) {
        const replica = replicas[launched % REPLICAS];
        if (!replica) throw new Error("no replica");
        const scanId = scanner.start();
        const record: ScanRecord = {
          scanId,
          projectId: `p${launched}`,
          projectName: `project-${launched}`,
          targetUrl: `https://p${launched}.example`,
          backend: "bench",
          requestedBy: "U0BENCH",
          channel: "C0BENCH",
          card: { channel: "C0BENCH", ts: `${launched}.000100` },
          state: "queued",
          startedAt: clock.now(),
          updatedAt: clock.now(),
        };
        await replica.scans.started(record);
        await replica.watcher.watch(record);
        started.push(scanId);
      }
      const before = commandStats(redis.port);
      const wall = performance.now();
      const report = await replicas[slot % REPLICAS]?.watcher.tick();
      wallPerTick.push(performance.now() - wall);
      const after = commandStats(redis.port);
      let commands = 0;
      for (const [name, calls] of after) {
        // The stats lookups themselves are not the bot's.
        if (name !== "info") commands += calls - (before.get(name) ?? 0);
      }
      commandsPerTick.push(commands);
      clock.current += TICK_MS;
      if (launched === SCANS && report?.active === 0) break;
      if (clock.now() - t0 >= MAX_MINUTES * 60_000) {
        stopped = `stopped at ${MAX_MINUTES} simulated minutes`;
        break;
      }
      if (performance.now() - wallStart > MAX_WALL_S * 1000) {
        stopped = `stopped after ${MAX_WALL_S} s of wall clock (BENCH_REPLICA_WALL_SECONDS)`;
        break;
      }
    }
    const wallS = (performance.now() - wallStart) / 1000;
    const totals = commandStats(redis.port);
    const byCommand = [...totals]
      .filter(([name]) => name !== "info")
      .map(([name, calls]) => [name, calls - (statsAtStart.get(name) ?? 0)] as const)
      .sort((a, b) => b[1] - a[1]);

    let finished = 0;
    let sumCalls = 0;
    let sumFloor = 0;
    let atFloor = 0;
    let doublePolls = 0;
    const pollsByReplica = [0, 0, 0];
    let crossReplicaPolls = 0;
    for (const id of started) {
      const scan = scanner.scans.get(id) as FakeScan;
      for (let i = 0; i < scan.polls.length; i++) {
        const poll = scan.polls[i];
        if (!poll) continue;
        pollsByReplica[poll.replica] = (pollsByReplica[poll.replica] ?? 0) + 1;
        const previous = scan.polls[i - 1];
        if (previous && poll.at - previous.at < INTERVAL_MS) doublePolls++;
        if (previous && previous.replica !== poll.replica) crossReplicaPolls++;
      }
      const watch = await stores[0]?.get<WatchRecord>("watches", id);
      if (watch?.phase !== "ended") continue;
      const floor = 1 + Math.ceil(scan.durationMs / INTERVAL_MS) + FORMATS.length;
      finished++;
      sumCalls += scan.calls;
      sumFloor += floor;
      if (Math.abs(scan.calls / floor - 1) <= 0.05) atFloor++;
    }
    const simulatedMin = (slot + 1) * (TICK_MS / 60_000);
    const busy = commandsPerTick.filter((n) => n > 0);
    console.log(
      `\nReplica row: ${SCANS} watched scans across ${REPLICAS} replicas on one Redis (own redis-server), ` +
        `interval ${INTERVAL_MS / 1000} s, tick ${TICK_MS / 1000} s, budget ${BUDGET}/min; ${stopped}`,
    );
    console.table([
      {
        ticks: commandsPerTick.length,
        "simulated min": Number(simulatedMin.toFixed(1)),
        "wall s": Number(wallS.toFixed(1)),
        "tick wall p50 ms": Math.round(percentile(wallPerTick, 50)),
        "tick wall p95 ms": Math.round(percentile(wallPerTick, 95)),
        "scanner req max/min": maxPerMinute(scanner.perSecond),
        "finished scans": finished,
        "calls / floor": Number((sumCalls / Math.max(1, sumFloor)).toFixed(3)),
        "at floor ±5%": `${atFloor}/${finished}`,
        "double polls": doublePolls,
        "polls per replica": pollsByReplica.join("/"),
        "polls by another replica than the last": crossReplicaPolls,
      },
    ]);
    console.table([
      {
        "redis cmds/tick mean": Math.round(busy.reduce((a, b) => a + b, 0) / Math.max(1, busy.length)),
        "redis cmds/tick p95": percentile(commandsPerTick, 95),
        "redis cmds/tick max": Math.max(0, ...commandsPerTick),
        "redis cmds total": byCommand.reduce((n, [, calls]) => n + calls, 0),
        "redis used MB": Number(usedMemoryMb(redis.port).toFixed(1)),
        "top commands": byCommand
          .slice(0, 6)
          .map(([name, calls]) => `${name} ${calls}`)
          .join(", "),
      },
    ]);
  } finally {
    await Promise.all(stores.map((store) => store.close().catch(() => {})));
    redis.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await runReplicaBench();
}
