import type { App } from "@slack/bolt";
import type { Config } from "../config.js";
import type { AuditOptions } from "../domain/audit.js";
import type { CredentialAlert } from "../domain/credential-guard.js";
import { AppError } from "../domain/errors.js";
import type { Clock, HostResolver, KeyValueStore, Logger, Scanner } from "../domain/ports.js";
import type { ScanWatch } from "../domain/scans.js";
import { createDomainServices } from "../domain/services.js";
import { createSubscriptions, type ScanEvent, type Subscriptions } from "../domain/subscriptions/index.js";
import type { BackgroundTasks } from "../domain/tasks.js";
import {
  type ProjectLookup,
  type ScanHistory,
  type ScanRecords,
  ScanWatcher,
  type WatcherOptions,
} from "../domain/watch/index.js";
import { summarizeReport } from "../scanners/findings.js";
import { nodeCronSyntax, scheduleJobs } from "../scheduler/schedule-job.js";
import { DEFAULT_TICK_SECONDS, watcherJob } from "../scheduler/watcher-job.js";
import { actionRouter } from "./action-router.js";
import { registerActions } from "./actions.js";
import { credentialAlertMessage } from "./blocks/credentials.js";
import { CardFacts } from "./card-facts.js";
import { audit, credentialsCommand } from "./commands/admin.js";
import { findingsCommand } from "./commands/findings.js";
import { helpCommand } from "./commands/help.js";
import { registerCommands } from "./commands/listener.js";
import { link, projectCreate, projectDelete, projects } from "./commands/project.js";
import { report, scanStart, scanStatus, scanStop } from "./commands/scan.js";
import {
  scheduleCreate,
  scheduleDelete,
  scheduleEdit,
  schedulePause,
  scheduleResume,
  schedulesList,
} from "./commands/schedules.js";
import { notify, subscribe, subscriptions, unsubscribe } from "./commands/subscriptions.js";
import { CommandTable } from "./commands/table.js";
import { registerDecisionActions } from "./decision-actions.js";
import type { SurfaceDeps } from "./deps.js";
import { approvalAudience, auditFailure, scanCards } from "./flows.js";
import type { SlackGateway } from "./gateway.js";
import { registerHome } from "./home.js";
import { SlackNotifier } from "./notifier.js";
import { registerScheduleActions, scheduleOutput } from "./schedule-actions.js";
import { SlackNotices } from "./subscriptions.js";
import { registerViews } from "./views/register.js";

/**
 * How the Slack layer is wired to the domain: the watcher with its Slack output, the command table and
 * every listener. main.ts calls these in order; each part is built once.
 */

const GROUP_CACHE_MS = 5 * 60_000;

/** User group members change rarely; a short cache keeps role checks off Slack's rate limits. */
export function cachedGroupMembers(slack: Pick<SlackGateway, "groupMembers">) {
  const cache = new Map<string, { at: number; members: string[] }>();
  return async (groupId: string) => {
    const hit = cache.get(groupId);
    if (hit && Date.now() - hit.at < GROUP_CACHE_MS) return hit.members;
    const members = await slack.groupMembers(groupId);
    cache.set(groupId, { at: Date.now(), members });
    return members;
  };
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
  /** What scan cards show besides the record (slack/card-facts.ts). */
  facts?: CardFacts;
  /** Routes the scans' start and end to subscribers (the subscriptions' router). */
  route?: ConstructorParameters<typeof SlackNotifier>[0]["route"];
  /** Findings history: records each summarized scan (the card reads it through `facts`). */
  history?: ScanHistory;
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
    output: new SlackNotifier({
      slack: deps.slack,
      logger: deps.logger,
      ...(deps.facts ? { facts: deps.facts } : {}),
      ...(deps.route ? { route: deps.route } : {}),
    }),
    summarize: (report) => summarizeReport(report, { logger: deps.logger }),
    ...(deps.history ? { history: deps.history } : {}),
    ...(deps.projects ? { projects: deps.projects } : {}),
    options: {
      pollIntervalMs: settings.pollIntervalSeconds * 1000,
      maxRequestsPerMinute: settings.maxRequestsPerMinute,
      reportFormats: settings.reportFormats,
      tickMs: (settings.tickSeconds ?? DEFAULT_TICK_SECONDS) * 1000,
      ...deps.options,
    },
  });
  const watching: ScanWatch = {
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

export interface SurfaceOptions {
  tasks: BackgroundTasks;
  logger: Logger;
  /** Whether the Veracode credential guard is on (for `credentials` and the Home tab). */
  credentialsConfigured: () => boolean;
}

/** Registers every command (through one command table), button, view and the Home tab on the app. */
export function registerSurface(app: App, deps: SurfaceDeps, options: SurfaceOptions): void {
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
    .add(findingsCommand)
    .add(scheduleCreate)
    .add(scheduleEdit)
    .add(schedulePause)
    .add(scheduleResume)
    .add(scheduleDelete)
    .add(schedulesList)
    .add(credentialsCommand(options.credentialsConfigured))
    .add(audit)
    .add(subscribe)
    .add(unsubscribe)
    .add(subscriptions)
    .add(notify);
  registerCommands(
    app,
    table,
    deps,
    options.tasks,
    options.logger,
    async ({ user, command, args, error }) => {
      await auditFailure(deps, {
        user,
        // One spelling with the domain's records: "project create" is audited as project.create.
        action: command.replace(/ /g, "."),
        target: args.join(" ").slice(0, 100),
        kind: error instanceof AppError ? error.kind : "internal",
      });
    },
  );
  // Every button through one Bolt listener: Bolt runs each listener's chain for every request.
  const actions = actionRouter(app);
  registerActions(actions.app, deps);
  registerDecisionActions(actions.app, deps);
  registerScheduleActions(actions.app, deps);
  registerViews(app, deps);
  registerHome(actions.app, deps, options.credentialsConfigured);
  actions.install();
}

export interface SlackSurfaceInput {
  app: App;
  /** The app's one gateway (slack/app.ts builds it with the app). */
  slack: SlackGateway;
  config: Pick<
    Config,
    | "roles"
    | "approvals"
    | "allowPrivateTargets"
    | "watcher"
    | "subscriptions"
    | "scannerUiUrl"
    | "scheduleCatchUp"
  > &
    Partial<Pick<Config, "findings">>;
  scanner: Scanner;
  store: KeyValueStore;
  clock: Clock;
  logger: Logger;
  tasks: BackgroundTasks;
  resolver: HostResolver;
  credentialsConfigured: () => boolean;
  audit?: Partial<AuditOptions>;
}

/**
 * The bot's Slack side over the domain: the Slack gateway, domain services (roles checked against Slack user
 * groups), the scan watcher posting to Slack, and every listener registered on the app.
 */
export function wireSlackSurface(input: SlackSurfaceInput) {
  const { app, config, scanner, store, clock, logger, tasks } = input;
  const { slack } = input;
  let watcher: ReturnType<typeof createScanWatcher> | undefined;
  // Cards are drawn after start-up, once `services` exists: the facts read its scan book.
  const facts = new CardFacts({
    clock,
    logger,
    scans: { getScan: (id) => services.book.getScan(id), listScans: () => services.book.listScans() },
    reportFormats: scanner.reportFormats,
    ...(config.scannerUiUrl ? { scannerUiUrl: config.scannerUiUrl } : {}),
    // The ended card's counts and diff: read from findings history, never written back.
    lookup: { result: (scanId) => services.history.result(scanId) },
  });
  // Built after the domain services (it needs their authorizer); the watcher's first tick comes later.
  let notices: Subscriptions | undefined;
  const route = async (event: ScanEvent, link: () => Promise<string | undefined>) => {
    if (!notices) throw new AppError("internal", "subscriptions are not wired yet");
    return notices.router.scan(event, link);
  };
  const services = createDomainServices({
    scanner,
    store,
    clock,
    resolver: input.resolver,
    logger,
    ...(input.audit ? { audit: input.audit } : {}),
    groupMembers: cachedGroupMembers(slack),
    audience: (authz) => approvalAudience(slack, authz),
    output: scanCards(slack, facts),
    watcher: ({ book, registry, history }) => {
      watcher = createScanWatcher({
        history,
        scanner,
        scans: book,
        store,
        clock,
        logger,
        slack,
        projects: registry,
        facts,
        settings: config.watcher,
        route,
      });
      return watcher.watching;
    },
    schedules: {
      output: scheduleOutput(slack, config.approvals.channel),
      syntax: nodeCronSyntax,
      catchUp: config.scheduleCatchUp,
    },
    settings: config,
  });
  if (!watcher) throw new AppError("internal", "the scan watcher was not built");
  const { scans, projects, registry, authz, audit, decisions, history, schedules } = services;
  notices = createSubscriptions({
    store,
    clock,
    logger,
    authz,
    audit,
    registry,
    output: new SlackNotices(slack, logger),
    canPost: (channel) => slack.isMember(channel),
    defaultTimezone: config.subscriptions.timezone,
    decisions,
    // Finished scans' counts and diff for new-findings and severity thresholds.
    findings: history,
  });
  const deps: SurfaceDeps = {
    ...{ scans, projects, decisions, history, registry, authz, audit, scanner, slack, store, clock, logger },
    tasks,
    schedules,
    watcher: watcher.watching,
    subscriptions: notices.service,
    notifications: notices.router,
    settings: { allowPrivateTargets: config.allowPrivateTargets },
    cardFacts: facts,
  };
  registerSurface(app, deps, { tasks, logger, credentialsConfigured: input.credentialsConfigured });
  // node-cron drives the schedules; bot.ts starts them after the watcher and adds the sweep job.
  const scheduled = scheduleJobs({ runner: services.scheduleRunner, book: services.scheduleBook, logger });
  return { deps, slack, watcher, audit, subscriptions: notices, schedules: scheduled };
}

/** Posts each credential alert to the alert channel. */
export function credentialAlerts(slack: Pick<SlackGateway, "post">, channel: string) {
  return async (alert: CredentialAlert) => {
    await slack.post(channel, credentialAlertMessage(alert));
  };
}
