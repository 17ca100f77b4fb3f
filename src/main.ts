import { pathToFileURL } from "node:url";
import { type Config, ConfigError, serviceConfig } from "./config.js";
import { type AuditOptions, AuditTrail } from "./domain/audit.js";
import { Authorizer } from "./domain/authz.js";
import { runCredentialCheck } from "./domain/credential-guard.js";
import { AppError } from "./domain/errors.js";
import {
  type Clock,
  type HostResolver,
  type KeyValueStore,
  type Logger,
  type Scanner,
  systemClock,
} from "./domain/ports.js";
import { ProjectService } from "./domain/project-service.js";
import { ProjectRegistry } from "./domain/projects.js";
import { ScanService } from "./domain/scans.js";
import { TargetGuard } from "./domain/targets.js";
import { BackgroundTasks } from "./domain/tasks.js";
import {
  type ProjectLookup,
  type ScanRecords,
  ScanWatcher,
  type WatcherOptions,
} from "./domain/watch/index.js";
import { createLogger } from "./logger.js";
import { createDnsResolver } from "./net/resolver.js";
import {
  createCrashtestScanner,
  createDastEssentialsScanner,
  createSimulatedScanner,
  selectDastAccount,
  summarizeReport,
} from "./scanners/index.js";
import { type Job, startScheduler } from "./scheduler/index.js";
import { DEFAULT_TICK_SECONDS, watcherJob } from "./scheduler/watcher-job.js";
import { registerActions } from "./slack/actions.js";
import { type ConfiguredSlack, createSlackApp, type SlackAppOptions } from "./slack/app.js";
import { credentialAlertMessage } from "./slack/blocks/credentials.js";
import { audit, credentialsCommand } from "./slack/commands/admin.js";
import { helpCommand } from "./slack/commands/help.js";
import { registerCommands } from "./slack/commands/listener.js";
import { link, projectCreate, projectDelete, projects } from "./slack/commands/project.js";
import { report, scanStart, scanStatus, scanStop } from "./slack/commands/scan.js";
import { CommandTable } from "./slack/commands/table.js";
import type { ScanWatching, SurfaceDeps } from "./slack/deps.js";
import { approvalAudience, auditFailure, reconcileScans } from "./slack/flows.js";
import { SlackGateway } from "./slack/gateway.js";
import { registerHome } from "./slack/home.js";
import { SlackNotifier } from "./slack/notifier.js";
import { registerViews } from "./slack/views/register.js";
import { describeStoreUrl, openStore } from "./store/index.js";
import { type VeracodeAccount, VeracodeIdentityClient, veracodeCredentialChecks } from "./veracode/index.js";

const SHUTDOWN_DEADLINE_MS = 10_000;
const GROUP_CACHE_MS = 5 * 60_000;
const HEALTH_TIMEOUT_MS = 2000;
const README_HINT = 'See README.md ("Configuration") and .env.example.';

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

async function createScanner(
  config: Config,
  logger: Logger,
  accounts: VeracodeAccount[],
  store: KeyValueStore,
): Promise<Scanner> {
  if (config.scanner === "dast-essentials") {
    const { dast } = config;
    return createDastEssentialsScanner({
      logger,
      account: selectDastAccount(accounts, dast.account),
      stopAction: dast.stopAction,
      maxReportBytes: config.reportMaxBytes,
      ...(dast.apiUrl ? { baseUrl: dast.apiUrl } : {}),
      targetDefaults: {
        ...(dast.targetType ? { targetType: dast.targetType } : {}),
        ...(dast.scanType ? { scanType: dast.scanType } : {}),
        ...(dast.teamId ? { teamId: dast.teamId } : {}),
      },
    });
  }
  if (config.scanner === "simulator") {
    logger.warn("using the built-in scanner simulator: no real scans run", { timing: config.simulator });
    // Its projects and scans live in the bot's store, so both survive (or vanish with) a restart together.
    return createSimulatedScanner({
      logger,
      timing: config.simulator,
      store,
      maxReportBytes: config.reportMaxBytes,
    });
  }
  return createCrashtestScanner({
    logger,
    baseUrl: config.crashtest.apiUrl,
    ...(config.crashtest.apiKey ? { apiKey: config.crashtest.apiKey } : {}),
    ...(config.crashtest.teamId ? { teamId: config.crashtest.teamId } : {}),
    routes: config.crashtest.routes,
    webhooks: config.crashtest.webhooks,
    maxReportBytes: config.reportMaxBytes,
  });
}

export interface CreateScanWatcherDeps {
  scanner: Scanner;
  scans: ScanRecords;
  store: KeyValueStore;
  clock: Clock;
  logger: Logger;
  /** The Slack gateway over the Bolt app's Web client. */
  slack: SlackGateway;
  settings: Omit<Config["watcher"], "tickSeconds"> & { tickSeconds?: number };
  projects?: ProjectLookup;
  /** Overrides for tests and tuning. */
  options?: Partial<WatcherOptions>;
}

/**
 * Wires the scan watcher: the domain watcher, its Slack notifier over the app's Web client,
 * the findings summariser and the cron job. `start()` loads the watch list (before the scheduler
 * starts); `stop()` waits for a tick in progress.
 */
export function createScanWatcher(deps: CreateScanWatcherDeps) {
  const { settings } = deps;
  const watcher = new ScanWatcher({
    scanner: deps.scanner,
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    scans: deps.scans,
    output: new SlackNotifier({ slack: deps.slack, logger: deps.logger }),
    summarize: (report) => summarizeReport(report, { logger: deps.logger }),
    ...(deps.projects ? { projects: deps.projects } : {}),
    options: {
      pollIntervalMs: settings.pollIntervalSeconds * 1000,
      maxRequestsPerMinute: settings.maxRequestsPerMinute,
      reportFormats: settings.reportFormats,
      tickMs: (settings.tickSeconds ?? DEFAULT_TICK_SECONDS) * 1000,
      ...deps.options,
    },
  });
  const watching: ScanWatching = {
    watch: async (scan) => {
      await watcher.watch(scan);
    },
    attach: (input) => watcher.attach(input.scanId, input.projectId, input.channel, input.user),
    isWatched: async (scanId) => (await watcher.getWatch(scanId)) !== undefined,
  };
  return {
    watcher,
    watching,
    job: watcherJob(watcher),
    start: async () => {
      await watcher.start();
    },
    stop: () => watcher.idle(),
  };
}

/** User group members change rarely; a short cache keeps role checks off Slack's rate limits. */
function cachedGroups(fetch: (groupId: string) => Promise<string[]>) {
  const cache = new Map<string, { at: number; members: string[] }>();
  return async (groupId: string) => {
    const hit = cache.get(groupId);
    if (hit && Date.now() - hit.at < GROUP_CACHE_MS) return hit.members;
    const members = await fetch(groupId);
    cache.set(groupId, { at: Date.now(), members });
    return members;
  };
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
  const { accounts } = config.veracode;

  const store = await openStore({
    url: config.storeUrl,
    onBackendError: (error) => logger.warn("store backend error", { error }),
  });
  const closers: Array<() => Promise<void>> = [() => store.close()];
  const closeAll = async () => {
    for (const close of closers.reverse())
      await close().catch((error) => logger.warn("close failed", { error }));
  };

  try {
    const scanner = await createScanner(config, logger, accounts, store);
    closers.push(() => scanner.close());
    const tasks = new BackgroundTasks(logger);

    const slackApp = createSlackApp({
      slack,
      port: config.port,
      logger,
      logLevel: config.logLevel,
      clientOptions: overrides.clientOptions,
      health: async () => {
        // A store that hangs (network cut) must still give a prompt 503, not a hanging health check.
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), HEALTH_TIMEOUT_MS);
        });
        try {
          const outcome = await Promise.race([store.ping().then(() => "ok" as const), timeout]);
          return outcome === "ok"
            ? { ok: true, checks: { store: "ok" } }
            : { ok: false, checks: { store: "timeout" } };
        } catch {
          return { ok: false, checks: { store: "unreachable" } };
        } finally {
          clearTimeout(timer);
        }
      },
    });
    const gateway = new SlackGateway(slackApp.app.client);
    const authz = new Authorizer(
      config.roles,
      cachedGroups((id) => gateway.groupMembers(id)),
    );
    const registry = new ProjectRegistry(store, clock);
    const auditTrail = new AuditTrail(store, clock, { logger, ...overrides.audit });
    // Runs after the Slack app and background work have stopped (closers run in reverse), before the store closes.
    closers.push(() => auditTrail.flush());
    const targets = new TargetGuard({
      resolver: overrides.resolver ?? createDnsResolver(),
      allowPrivate: config.allowPrivateTargets,
    });
    const scans = new ScanService({
      scanner,
      store,
      clock,
      authz,
      projects: registry,
      audit: auditTrail,
      audience: approvalAudience(gateway, authz),
      policy: {
        requireApproval: config.approvals.required,
        approvalTtlMs: config.approvals.ttlMs,
        ...(config.approvals.channel ? { approvalChannel: config.approvals.channel } : {}),
      },
      targets,
    });
    const projectService = new ProjectService({
      scanner,
      authz,
      projects: registry,
      scans,
      audit: auditTrail,
      targets,
    });
    const watcher = createScanWatcher({
      scanner,
      scans,
      store,
      clock,
      logger,
      slack: gateway,
      projects: registry,
      settings: config.watcher,
    });

    const deps: SurfaceDeps = {
      scans,
      projects: projectService,
      registry,
      authz,
      audit: auditTrail,
      scanner,
      slack: gateway,
      store,
      clock,
      logger,
      tasks,
      watcher: watcher.watching,
      settings: { allowPrivateTargets: config.allowPrivateTargets },
    };

    const credentialsConfigured = () => accounts.length > 0;
    const table = new CommandTable<SurfaceDeps>();
    table
      .add(helpCommand(table))
      .add(projects)
      .add(projectCreate)
      .add(projectDelete)
      .add(link)
      .add(scanStart)
      .add(scanStop)
      .add(scanStatus)
      .add(report)
      .add(credentialsCommand(credentialsConfigured))
      .add(audit);
    registerCommands(slackApp.app, table, deps, tasks, logger, async ({ user, command, args, error }) => {
      await auditFailure(deps, {
        user,
        action: command,
        target: args.join(" ").slice(0, 100),
        kind: error instanceof AppError ? error.kind : "internal",
      });
    });
    registerActions(slackApp.app, deps);
    registerViews(slackApp.app, deps);
    registerHome(slackApp.app, deps, credentialsConfigured);

    const jobs: Job[] = [watcher.job];
    const alertChannel = config.credentialCheck.alertChannel;
    if (accounts.length > 0 && alertChannel) {
      const identity = new VeracodeIdentityClient({ logger });
      closers.push(() => identity.close());
      const checks = veracodeCredentialChecks(accounts, identity, config.veracode.watchUserIds);
      const check = async () => {
        const result = await runCredentialCheck({
          ...checks,
          store,
          clock,
          logger,
          notify: async (alert) => {
            await gateway.post(alertChannel, credentialAlertMessage(alert));
          },
        });
        logger.info("credential check done", {
          accounts: result.statuses.length,
          alerts: result.sent.length,
        });
      };
      jobs.push({
        name: "credential-check",
        cron: config.credentialCheck.cron,
        timezone: config.credentialCheck.timezone,
        run: check,
      });
      // Also at start-up, so a bot that was down on the day still sends the alert that is due.
      tasks.run("credential check at start-up", check);
    }

    await watcher.start();
    closers.push(() => watcher.stop());
    // A crash between starting a scan and watching it must not orphan the scan.
    tasks.run("reconcile scans", () => reconcileScans(deps));
    const scheduler = startScheduler(jobs, { store, logger });
    closers.push(() => scheduler.stop());

    const port = await slackApp.start();
    closers.push(async () => {
      await slackApp.stop();
      const unfinished = await tasks.drain(SHUTDOWN_DEADLINE_MS - 2000);
      if (unfinished > 0) logger.warn("shutdown left background work unfinished", { unfinished });
    });
    logger.info("bot ready", {
      mode: slack.mode,
      port,
      store: describeStoreUrl(config.storeUrl),
      scanner: scanner.name,
      veracodeAccounts: accounts.length,
    });
    return { store, scanner, port, stop: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** Runs the bot as a service until SIGTERM or SIGINT. */
export async function main(): Promise<void> {
  let config: Config;
  try {
    config = serviceConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  if (config.slack.mode === "unconfigured") {
    fail(`Slack is not configured: set ${config.slack.missing.join(" and ")}. ${README_HINT}`);
  }
  const logger = createLogger({ level: config.logLevel, secrets: config.secrets });
  // A library promise that rejects unhandled (Bolt's receiver on a malformed but signed body) must not
  // take the bot down: every piece of state lives in the store, so log it loudly and keep serving.
  process.on("unhandledRejection", (reason) => {
    logger.error("unhandled promise rejection; the bot keeps running", { error: reason });
  });
  let bot: Bot;
  try {
    bot = await startBot(config, config.slack, { logger });
  } catch (error) {
    fail(
      error instanceof AppError
        ? `Start-up failed: ${error.userMessage}. ${README_HINT}`
        : `Start-up failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal} received, shutting down\n`);
    const deadline = setTimeout(() => fail("shutdown took longer than 10 s; exiting"), SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    bot.stop().then(
      () => process.exit(0),
      (error: unknown) => fail(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
