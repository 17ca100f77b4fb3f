import { webApi } from "@slack/bolt";
import { SlackEmulator } from "../../dev/slack-emulator/index.js";
import type { Clock } from "../../src/domain/ports.js";
import { ScanBook } from "../../src/domain/scan-record.js";
import type { WatchRecord } from "../../src/domain/watch/index.js";
import { createCrashtestScanner, startSimulator } from "../../src/scanners/index.js";
import type { SimulatorHandle } from "../../src/scanners/simulator/server.js";
import { SlackGateway } from "../../src/slack/gateway.js";
import { createScanWatcher } from "../../src/slack/wiring.js";
import { openStore } from "../../src/store/index.js";
import { captureLogger } from "../support/logs.js";
import { startScanWithCard } from "../support/scan-card.js";
import { auditThread, CHANNEL, type ThreadAudit } from "./rig.js";

/**
 * The watcher as main.ts wires it (createScanWatcher: domain watcher, Slack notifier over a real Web
 * client, findings summariser, cron job), every hop real: the Crashtest adapter over HTTP to the
 * simulator, the Web client over HTTP to the Slack emulator. Ticks are the cron job's `run()` driven
 * on a test clock, so storms that span an hour of backoff take milliseconds; only what the clients
 * wait for in real time (HTTP timeouts, Slack's Retry-After) costs wall time.
 */

export class TestClock implements Clock {
  constructor(public current = Date.UTC(2026, 0, 5, 9, 0, 0)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

export interface WatcherRigOptions {
  /** Web client retry policy; default: production's retry count with compressed delays. */
  retryConfig?: webApi.RetryOptions;
  /** Crashtest transport timeouts; default: production's, except 150 ms until response headers. */
  headersTimeoutMs?: number;
  /** Crashtest transport retries per call; default production's (5). */
  transportRetries?: number;
}

/** Production's policy (10 retries, factor 1.97, randomized) with milliseconds instead of seconds. */
export const COMPRESSED_SLACK_RETRIES: webApi.RetryOptions = {
  ...webApi.retryPolicies.tenRetriesInAboutThirtyMinutes,
  minTimeout: 5,
  maxTimeout: 40,
};

export async function watcherRig(options: WatcherRigOptions = {}) {
  const closers: Array<() => Promise<unknown>> = [];
  const clock = new TestClock();
  const logs = captureLogger();
  const sim: SimulatorHandle = await startSimulator({ clock, timing: { queueSeconds: 60, runSeconds: 300 } });
  closers.push(() => sim.close());
  const emulator = await SlackEmulator.start({ now: () => clock.now() });
  closers.push(() => emulator.close());
  const store = await openStore({ url: "memory://" });
  closers.push(() => store.close());
  const client = new webApi.WebClient(emulator.botToken, {
    slackApiUrl: emulator.apiUrl,
    retryConfig: options.retryConfig ?? COMPRESSED_SLACK_RETRIES,
    logLevel: webApi.LogLevel.ERROR,
  });
  /** Backoff the Crashtest transport asked for: recorded, not slept (its retry count is production's). */
  const transportWaits: number[] = [];
  const scanner = createCrashtestScanner({
    name: "crashtest",
    logger: logs.logger,
    baseUrl: sim.url,
    apiKey: sim.apiKey,
    teamId: sim.teamId,
    retry: {
      ...(options.transportRetries === undefined ? {} : { maxRetries: options.transportRetries }),
      sleep: async (ms) => {
        transportWaits.push(ms);
      },
    },
    timeouts: { headersMs: options.headersTimeoutMs ?? 150 },
  });
  closers.push(() => scanner.close());
  const scans = new ScanBook(store, clock);
  const wired = createScanWatcher({
    scanner,
    scans,
    store,
    clock,
    logger: logs.logger,
    slack: new SlackGateway(client, { uploadRetry: options.retryConfig ?? COMPRESSED_SLACK_RETRIES }),
    settings: { pollIntervalSeconds: 120, maxRequestsPerMinute: 120, reportFormats: ["pdf", "json"] },
    options: { random: () => 0 },
  });
  await wired.start();
  closers.push(() => wired.stop());
  let projects = 0;

  const rig = {
    clock,
    sim,
    emulator,
    store,
    logs,
    client,
    scanner,
    scans,
    wired,
    transportWaits,
    /** A scan started at the scanner, its card posted, handed to the watcher (as `scan start` does). */
    async startScan() {
      const scan = await startScanWithCard({
        scanner,
        client,
        scans,
        clock,
        channel: CHANNEL,
        name: `shop-${++projects}`,
      });
      await wired.watching.watch(scan);
      return scan;
    },
    /** One cron slot: 15 s later, the job's run(). */
    async tick() {
      clock.advance(15_000);
      await wired.job.run();
    },
    /** Ticks until `done` holds; bounded by count (simulated hours) and by wall time. */
    async tickUntil(
      done: () => boolean | Promise<boolean>,
      maxTicks = 400,
      maxWallMs = 60_000,
    ): Promise<number> {
      const started = Date.now();
      for (let i = 1; i <= maxTicks; i++) {
        await rig.tick();
        if (await done()) return i;
        if (Date.now() - started > maxWallMs) break;
      }
      throw new Error("condition not reached within the tick/time bound");
    },
    watch: (scanId: string) => store.get<WatchRecord>("watches", scanId),
    ended: (scanId: string) => async () =>
      (await store.get<WatchRecord>("watches", scanId))?.phase === "ended",
    audit: (scanId: string): ThreadAudit => auditThread(emulator, scanId),
    statusRequests: (scanId: string) =>
      sim.requests.filter((r) => r.operation === "scanStatus" && r.path.includes(`/scans/${scanId}/`)).length,
    async close() {
      for (const close of closers.reverse()) await close().catch(() => {});
    },
  };
  return rig;
}

export type WatcherRig = Awaited<ReturnType<typeof watcherRig>>;
