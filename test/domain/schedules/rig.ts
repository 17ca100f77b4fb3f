import { AuditTrail } from "../../../src/domain/audit.js";
import { Authorizer } from "../../../src/domain/authz.js";
import type { Clock, KeyValueStore } from "../../../src/domain/ports.js";
import { ProjectService } from "../../../src/domain/project-service.js";
import { type ProjectRecord, ProjectRegistry } from "../../../src/domain/projects.js";
import { ScanBook } from "../../../src/domain/scan-record.js";
import { type ScanOutput, ScanService, type ScanWatch } from "../../../src/domain/scans.js";
import type { ScheduleOutput } from "../../../src/domain/schedules/ports.js";
import { ScheduleBook } from "../../../src/domain/schedules/record.js";
import { type CatchUp, ScheduleRunner } from "../../../src/domain/schedules/runner.js";
import { ScheduleService } from "../../../src/domain/schedules/service.js";
import { TargetGuard } from "../../../src/domain/targets.js";
import { nodeCronSyntax } from "../../../src/scheduler/schedule-job.js";
import { FakeResolver } from "../../support/dns.js";
import { captureLogger } from "../../support/logs.js";
import type { MemoryScanner } from "../../support/memory-scanner.js";

/**
 * Schedules over the real domain (scan lifecycle, approvals' rules, projects) on one store and one
 * clock the test moves; Slack is replaced by a list of what would have been said. One rig is one
 * replica: two rigs on one store are two replicas.
 */
export function scheduleRig(input: {
  store: KeyValueStore;
  clock: Clock;
  scanner: MemoryScanner;
  requireApproval?: boolean;
  catchUp?: CatchUp;
  /** Shared between replicas, so tests see every replica's effects in one list. */
  said?: string[];
}) {
  const { store, clock, scanner } = input;
  const said = input.said ?? [];
  const authz = new Authorizer(
    { admins: ["UADMIN"], approvers: ["UALICE", "UBOB"], operators: ["UOPS"], allowedChannels: [] },
    async () => [],
  );
  const registry = new ProjectRegistry(store, clock);
  const audit = new AuditTrail(store, clock);
  const targets = new TargetGuard({ resolver: new FakeResolver(), allowPrivate: false });
  const book = new ScanBook(store, clock);
  const audience = { approverCanSee: async () => true };
  const output: ScanOutput = {
    postCard: async (scan) => {
      said.push(`card ${scan.scanId} in ${scan.channel} by ${scan.requestedBy}/${scan.approvedBy ?? "-"}`);
      return { channel: scan.channel, ts: `ts-${scan.scanId}` };
    },
    findCard: async () => undefined,
    updateCard: async () => {},
    reply: async () => {},
  };
  const watch: ScanWatch = {
    watch: async () => {},
    isWatched: async () => true,
    attach: async () => {
      throw new Error("not used");
    },
  };
  const logs = captureLogger();
  const scans = new ScanService({
    scanner,
    store,
    clock,
    authz,
    projects: registry,
    audit,
    audience,
    policy: { requireApproval: input.requireApproval ?? true, approvalTtlMs: 3600_000 },
    targets,
    book,
    output,
    watch,
    logger: logs.logger,
  });
  const projects = new ProjectService({ scanner, authz, projects: registry, scans, audit, targets });
  const scheduleOutput: ScheduleOutput = {
    requestApproval: async ({ schedule }) => {
      said.push(`approval card ${schedule.id} v${schedule.version}`);
      return { channel: schedule.channel, ts: `ts-approval-${schedule.id}-${schedule.version}` };
    },
    showApproval: async ({ schedule }) => {
      said.push(`approval ${schedule.id} ${schedule.approval.status}`);
    },
    notice: async ({ schedule }, notice) => {
      said.push(`notice ${schedule.id} ${notice.kind}`);
    },
  };
  const scheduleBook = new ScheduleBook(store, clock);
  const schedules = new ScheduleService({
    book: scheduleBook,
    projects: registry,
    authz,
    audit,
    audience,
    store,
    clock,
    syntax: nodeCronSyntax,
    output: scheduleOutput,
    policy: { requireApproval: input.requireApproval ?? true },
  });
  const runner = new ScheduleRunner({
    book: scheduleBook,
    schedules,
    projects: registry,
    scans,
    output: scheduleOutput,
    store,
    clock,
    syntax: nodeCronSyntax,
    logger: logs.logger,
    catchUp: input.catchUp ?? "latest",
  });
  /** The project's target as the scanner now reports it (a re-link or an edit elsewhere). */
  const retarget = async (project: ProjectRecord, url: string) => {
    await store.set("projects", project.id, { ...project, url });
  };
  return {
    said,
    scans,
    projects,
    registry,
    audit,
    schedules,
    runner,
    book: scheduleBook,
    scanBook: book,
    logs,
    retarget,
  };
}
