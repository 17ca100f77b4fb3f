import { setImmediate as nextTurn } from "node:timers/promises";
import type { BotOverrides } from "./bot.js";
import type { Config } from "./config.js";
import type { Clock, HostResolver, KeyValueStore, Logger, Scanner } from "./domain/ports.js";
import type { BackgroundTasks } from "./domain/tasks.js";
import { createDnsResolver } from "./net/resolver.js";
import { scannerFromConfig } from "./scanners/from-config.js";
import { credentialJob } from "./scheduler/credential-job.js";
import { decisionExpiryJob } from "./scheduler/decision-job.js";
import { type Job, startScheduler } from "./scheduler/index.js";
import { notificationJobs } from "./scheduler/notification-jobs.js";
import type { SlackApp } from "./slack/app.js";
import { decisionNotices } from "./slack/decision-actions.js";
import { credentialAlerts, wireSlackSurface } from "./slack/wiring.js";

/**
 * What the bot builds once its receiver listens (bot.ts loads this module while the store opens and
 * the installation check waits on Slack): the scanner, the Slack command surface, the watcher and the
 * jobs. Requests that arrive meanwhile wait for the command surface and the watcher (SlackApp's gate).
 */

export interface PartsInput {
  config: Config;
  store: KeyValueStore;
  slackApp: SlackApp;
  logger: Logger;
  clock: Clock;
  tasks: BackgroundTasks;
  overrides: BotOverrides;
  /** Each part's stop, in start order (bot.ts runs them in reverse). */
  closers: Array<() => Promise<void>>;
  /** Called once the command surface and the watcher are up: Slack requests need nothing more. */
  surfaceReady?: () => void;
}

/** Builds and starts the parts; their catch-up work of a start goes to `tasks` at once. */
export async function startParts(input: PartsInput): Promise<Scanner> {
  const { config, store, slackApp, logger, clock, tasks, overrides, closers } = input;
  const scanner = await scannerFromConfig(config, { logger, store });
  closers.push(() => scanner.close());
  const alertChannel = config.credentialCheck.alertChannel;
  const guarded = config.veracode.accounts.length > 0 && alertChannel !== undefined;
  const resolver: HostResolver = overrides.resolver ?? createDnsResolver();
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
  // Catch-up work of a start: it must not hold up the first answer.
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
  input.surfaceReady?.();
  // The requests that waited for the surface go first; the cron jobs (node-cron builds its time zone
  // formatters as they are scheduled, some 20 ms at the first) come in the next turn of the event loop.
  await nextTurn();
  // A crash between starting a scan and watching it must not orphan the scan.
  startUpWork.push(["reconcile scans", () => surface.deps.scans.reconcile()]);
  // A digest due while the bot was down goes out once now.
  startUpWork.push(["digests at start-up", notifications.catchUp]);
  // Each schedule's own node-cron task, then the most recent missed run of each (SCHEDULE_CATCH_UP).
  startUpWork.push(["schedules at start-up", () => surface.schedules.start()]);
  closers.push(() => surface.schedules.stop());
  const scheduler = startScheduler(jobs, { store, logger });
  closers.push(() => scheduler.stop());
  for (const [label, work] of startUpWork) tasks.run(label, work);
  return scanner;
}
