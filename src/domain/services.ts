import type { ApprovalAudience } from "./approvals.js";
import { type AuditOptions, AuditTrail } from "./audit.js";
import { Authorizer, type GroupMembers, type RoleConfig } from "./authz.js";
import { FindingDecisionService } from "./findings/decisions.js";
import { FindingsHistory, type HistoryOptions } from "./findings/history.js";
import type { Clock, HostResolver, KeyValueStore, Logger, Scanner } from "./ports.js";
import { ProjectService } from "./project-service.js";
import { ProjectRegistry } from "./projects.js";
import { ScanBook } from "./scan-record.js";
import { type ScanOutput, ScanService, type ScanWatch } from "./scans.js";
import type { ScheduleOutput } from "./schedules/ports.js";
import { ScheduleBook } from "./schedules/record.js";
import { type CatchUp, ScheduleRunner } from "./schedules/runner.js";
import { ScheduleService } from "./schedules/service.js";
import type { CronSyntax } from "./schedules/timing.js";
import { TargetGuard } from "./targets.js";

export interface DomainServicesDeps {
  scanner: Scanner;
  store: KeyValueStore;
  clock: Clock;
  logger: Logger;
  /** Audit batching (tests widen the window to prove shutdown writes it). */
  audit?: Partial<AuditOptions>;
  /** How target host names are looked up (DNS in production). */
  resolver: HostResolver;
  /** Members of a user group (the Slack layer asks Slack, with a cache). */
  groupMembers: GroupMembers;
  /** Who can see a channel's approval cards (the Slack layer asks Slack), given the authorizer. */
  audience: (authz: Authorizer) => ApprovalAudience;
  /** How the scan lifecycle's effects reach people (the Slack layer renders them). */
  output: ScanOutput;
  /** The watcher over the scan records (it reads them and reports what the scanner says). */
  watcher: (parts: { book: ScanBook; registry: ProjectRegistry; history: FindingsHistory }) => ScanWatch;
  /** Scheduled scans: what they say in Slack, cron syntax (node-cron's, from the scheduler), catch-up. */
  schedules: { output: ScheduleOutput; syntax: CronSyntax; catchUp: CatchUp };
  settings: {
    roles: RoleConfig;
    approvals: { required: boolean; ttlMs: number; channel?: string };
    /** FINDINGS_RETENTION_DAYS and the suspect thresholds; defaults when absent. */
    findings?: HistoryOptions;
    allowPrivateTargets: boolean;
  };
}

/** The domain's services over one store and one scanner, each built once. */
export function createDomainServices(deps: DomainServicesDeps) {
  const { scanner, store, clock, settings } = deps;
  const authz = new Authorizer(settings.roles, deps.groupMembers);
  const registry = new ProjectRegistry(store, clock);
  const audit = new AuditTrail(store, clock, { logger: deps.logger, ...deps.audit });
  const targets = new TargetGuard({ resolver: deps.resolver, allowPrivate: settings.allowPrivateTargets });
  // One record per scan: ScanService and the watcher change it only through the book's operations.
  const book = new ScanBook(store, clock);
  const audience = deps.audience(authz);
  // Four-eyes decisions on findings follow the scan approvals' TTL and channel.
  const decisions: FindingDecisionService = new FindingDecisionService({
    store,
    clock,
    authz,
    projects: registry,
    audit,
    audience,
    policy: {
      approvalTtlMs: settings.approvals.ttlMs,
      ...(settings.approvals.channel ? { approvalChannel: settings.approvals.channel } : {}),
    },
    lookup: { finding: (projectId, print) => history.finding(projectId, print) },
  });
  // Findings history classifies each scan's findings with the decisions in force.
  const history: FindingsHistory = new FindingsHistory({
    store,
    clock,
    decisions,
    logger: deps.logger,
    ...(settings.findings ? { options: settings.findings } : {}),
  });
  const scans = new ScanService({
    scanner,
    store,
    clock,
    authz,
    projects: registry,
    audit,
    audience,
    policy: {
      requireApproval: settings.approvals.required,
      approvalTtlMs: settings.approvals.ttlMs,
      ...(settings.approvals.channel ? { approvalChannel: settings.approvals.channel } : {}),
    },
    targets,
    book,
    output: deps.output,
    watch: deps.watcher({ book, registry, history }),
    logger: deps.logger,
  });
  const projects = new ProjectService({ scanner, authz, projects: registry, scans, audit, targets });
  // A schedule is a standing scan approval: the same policy, its own record (schedules/record.ts).
  const scheduleBook = new ScheduleBook(store, clock);
  const schedules = new ScheduleService({
    book: scheduleBook,
    projects: registry,
    authz,
    audit,
    audience,
    store,
    clock,
    syntax: deps.schedules.syntax,
    output: deps.schedules.output,
    policy: {
      requireApproval: settings.approvals.required,
      ...(settings.approvals.channel ? { approvalChannel: settings.approvals.channel } : {}),
    },
  });
  const scheduleRunner = new ScheduleRunner({
    book: scheduleBook,
    schedules,
    projects: registry,
    scans,
    output: deps.schedules.output,
    store,
    clock,
    syntax: deps.schedules.syntax,
    logger: deps.logger.child({ part: "schedules" }),
    catchUp: deps.schedules.catchUp,
  });
  return {
    ...{ authz, registry, audit, targets, book, scans, projects, decisions, history },
    ...{ schedules, scheduleBook, scheduleRunner },
  };
}

export type DomainServices = ReturnType<typeof createDomainServices>;
