import type { Config } from "./config.js";
import type { AuditOptions } from "./domain/audit.js";
import {
  type Clock,
  type HostResolver,
  type KeyValueStore,
  type Logger,
  type Scanner,
  systemClock,
} from "./domain/ports.js";
import { BackgroundTasks } from "./domain/tasks.js";
import { createLogger } from "./logger.js";
import { createDnsResolver } from "./net/resolver.js";
import { loadScannerAdapter, scannerFromConfig } from "./scanners/from-config.js";
import { credentialJob } from "./scheduler/credential-job.js";
import { decisionExpiryJob } from "./scheduler/decision-job.js";
import { type Job, startScheduler } from "./scheduler/index.js";
import { notificationJobs } from "./scheduler/notification-jobs.js";
import { type ConfiguredSlack, createSlackApp, type SlackAppOptions } from "./slack/app.js";
import { decisionNotices } from "./slack/decision-actions.js";
import { credentialAlerts, wireSlackSurface } from "./slack/wiring.js";
import { describeStoreUrl, openStore, storeHealth } from "./store/index.js";

/**
 * The bot as one object: opens the store, builds the parts through their folders' factories, starts them
 * and stops them in reverse order. main.ts runs it as a process.
 */

/** How long a stop may take in all; background work gets this less 2 s to drain. */
export const SHUTDOWN_DEADLINE_MS = 10_000;

export interface Bot {
  store: KeyValueStore;
  scanner: Scanner;
  /** The HTTP port bound (Slack requests in HTTP mode, /healthz in both). */
  port: number;
  stop(): Promise<void>;
}

export interface BotOverrides {
  logger?: Logger;
  clientOptions?: SlackAppOptions["clientOptions"];
  clock?: Clock;
  /** How target host names are looked up (defaults to DNS). */
  resolver?: HostResolver;
  /** Audit batching (tests widen the window to prove shutdown writes it). */
  audit?: Partial<AuditOptions>;
}

/** Wires every part of the bot and starts it; `stop` undoes it in reverse order. */
export async function startBot(
  config: Config,
  slack: ConfiguredSlack,
  overrides: BotOverrides = {},
): Promise<Bot> {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel, secrets: config.secrets });
  const clock = overrides.clock ?? systemClock;
  for (const warning of config.warnings) logger.warn(warning);
  // The scanner adapter's modules load while the store opens (scannerFromConfig waits for this load).
  loadScannerAdapter(config.scanner).catch(() => undefined);
  const store = await openStore({
    url: config.storeUrl,
    // Every reconnect attempt reports an error; the store says once that it went and once that it is back.
    onBackendError: (error) => logger.debug("store backend error", { error }),
    onHealth: (change) =>
      change.state === "unreachable"
        ? logger.warn("store unreachable: commands answer 'try again' until it is back", {
            error: change.error,
          })
        : logger.info("store back", { downSeconds: Math.round(change.downMs / 1000) }),
  });
  const closers: Array<() => Promise<void>> = [() => store.close()];
  const stop = async () => {
    for (const close of closers.reverse())
      await close().catch((error) => logger.warn("close failed", { error }));
  };
  try {
    const scanner = await scannerFromConfig(config, { logger, store });
    closers.push(() => scanner.close());
    const tasks = new BackgroundTasks(logger);
    const { port: httpPort, logLevel } = config;
    const slackApp = createSlackApp({
      slack,
      port: httpPort,
      logger,
      logLevel,
      clientOptions: overrides.clientOptions,
      health: storeHealth(store),
      maxTransfers: config.reportTransfersMax,
    });
    const alertChannel = config.credentialCheck.alertChannel;
    const guarded = config.veracode.accounts.length > 0 && alertChannel !== undefined;
    const resolver = overrides.resolver ?? createDnsResolver();
    const surface = wireSlackSurface({
      app: slackApp.app,
      slack: slackApp.gateway,
      config,
      scanner,
      store,
      clock,
      logger,
      tasks,
      resolver,
      credentialsConfigured: () => guarded,
      ...(overrides.audit ? { audit: overrides.audit } : {}),
    });
    // Runs after the Slack app and background work have stopped (closers run in reverse), before the store closes.
    closers.push(() => surface.audit.flush());
    // Catch-up work of a start, begun once the receiver listens: it must not hold up the first answer.
    const startUpWork: Array<[label: string, work: () => Promise<void>]> = [];
    const notifications = notificationJobs(surface.subscriptions, surface.deps.scans.approvals, logger);
    const jobs: Job[] = [surface.watcher.job, surface.schedules.job, ...notifications.jobs];
    const expiry = decisionExpiryJob({
      decisions: surface.deps.decisions,
      projects: surface.deps.registry,
      store,
      clock,
      audit: surface.audit,
      logger,
      notices: decisionNotices(surface.deps),
    });
    jobs.push(expiry.job);
    // Also at start-up: acceptances that ran out while the bot was down get their line now.
    startUpWork.push(["finding decision expiry at start-up", expiry.run]);
    if (guarded) {
      const notify = credentialAlerts(surface.slack, alertChannel);
      const credentials = credentialJob({
        veracode: config.veracode,
        schedule: config.credentialCheck,
        store,
        clock,
        logger,
        notify,
      });
      closers.push(credentials.close);
      jobs.push(credentials.job);
      // Also at start-up, so a bot that was down on the day still sends the alert that is due.
      startUpWork.push(["credential check at start-up", credentials.run]);
    }
    // CRASHTEST_WEBHOOKS projects are usable at once, without a `link`.
    await surface.deps.projects.registerConfigured(scanner.webhookProjects ?? []);
    await surface.watcher.start();
    closers.push(() => surface.watcher.stop());
    // A crash between starting a scan and watching it must not orphan the scan.
    startUpWork.push(["reconcile scans", () => surface.deps.scans.reconcile()]);
    // A digest due while the bot was down goes out once now.
    startUpWork.push(["digests at start-up", notifications.catchUp]);
    // Each schedule's own node-cron task, then the most recent missed run of each (SCHEDULE_CATCH_UP).
    startUpWork.push(["schedules at start-up", () => surface.schedules.start()]);
    closers.push(() => surface.schedules.stop());
    const scheduler = startScheduler(jobs, { store, logger });
    closers.push(() => scheduler.stop());
    const port = await slackApp.start();
    closers.push(async () => {
      await slackApp.stop();
      const unfinished = await tasks.drain(SHUTDOWN_DEADLINE_MS - 2000);
      if (unfinished > 0) logger.warn("shutdown left background work unfinished", { unfinished });
    });
    for (const [label, work] of startUpWork) tasks.run(label, work);
    const ready = { mode: slack.mode, port, store: describeStoreUrl(config.storeUrl), scanner: scanner.name };
    logger.info("bot ready", { ...ready, veracodeAccounts: config.veracode.accounts.length });
    return { store, scanner, port, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
