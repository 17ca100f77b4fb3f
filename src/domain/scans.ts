import {
  type ApprovalAudience,
  type ApprovalPolicy,
  type ApprovalRequest,
  ApprovalService,
  type Decision,
  type DecisionOutcome,
  type MessageRef,
} from "./approvals.js";
import type { AuditTrail } from "./audit.js";
import type { Authorizer } from "./authz.js";
import { AppError } from "./errors.js";
import type { Clock, KeyValueStore, Scanner, ScanState } from "./ports.js";
import { TERMINAL_SCAN_STATES } from "./ports.js";
import type { ProjectRecord, ProjectRegistry } from "./projects.js";
import type { TargetGuard } from "./targets.js";

export interface ScanRecord {
  scanId: string;
  projectId: string;
  projectName: string;
  targetUrl: string;
  backend: string;
  requestedBy: string;
  approvedBy?: string;
  channel: string;
  card?: MessageRef;
  state: ScanState;
  rawCode?: string;
  startedAt: number;
  updatedAt: number;
  stopRequestedBy?: string;
}

export interface ScanPolicy extends ApprovalPolicy {
  requireApproval: boolean;
}

export type { ApprovalRequest, Decision, MessageRef };

export type ScanRequestOutcome =
  | { kind: "approval_needed"; request: ApprovalRequest }
  | { kind: "started"; scan: ScanRecord; alreadyRunning: boolean };

const SCANS = "scans";
const STOPS = "stop-requests";

/**
 * Scan requests, four-eyes approvals, starting and stopping. Every state change that two people (or
 * two replicas) could race on goes through the store's first-writer-wins `add`. Successful changes are
 * audited here (with their precise target); refusals and failures are audited where they are answered.
 */
export class ScanService {
  readonly approvals: ApprovalService;

  constructor(
    private readonly deps: {
      scanner: Scanner;
      store: KeyValueStore;
      clock: Clock;
      authz: Authorizer;
      projects: ProjectRegistry;
      audit: AuditTrail;
      audience: ApprovalAudience;
      policy: ScanPolicy;
      targets: TargetGuard;
    },
  ) {
    this.approvals = new ApprovalService(deps);
  }

  async getScan(scanId: string): Promise<ScanRecord | undefined> {
    return this.deps.store.get<ScanRecord>(SCANS, scanId);
  }

  async saveScan(scan: ScanRecord): Promise<void> {
    await this.deps.store.set(SCANS, scan.scanId, { ...scan, updatedAt: this.deps.clock.now() });
  }

  async listScans(): Promise<ScanRecord[]> {
    return (await this.deps.store.entries<ScanRecord>(SCANS)).map(([, scan]) => scan);
  }

  async getApproval(id: string): Promise<ApprovalRequest | undefined> {
    return this.approvals.get(id);
  }

  async pendingApprovals(): Promise<ApprovalRequest[]> {
    return this.approvals.pending();
  }

  /** `scan start <project>`: starts at once, or asks for approval when the policy says so. */
  async requestScan(user: string, channel: string, projectRef: string): Promise<ScanRequestOutcome> {
    const { authz, projects, policy } = this.deps;
    await authz.require(user, "request_scan", channel);
    const project = await projects.resolve(projectRef);
    if (!policy.requireApproval) {
      const started = await this.start(project, { requestedBy: user, channel });
      return { kind: "started", ...started };
    }
    // No approver should be asked to approve a target the start would refuse.
    if (project.url) await this.deps.targets.check(project.url);
    return { kind: "approval_needed", request: await this.approvals.open(user, channel, project) };
  }

  /** Approve or deny a request (see ApprovalService); an approval starts the scan. */
  decide(
    requestId: string,
    user: string,
    decision: Decision,
    clickChannel?: string,
  ): Promise<DecisionOutcome<{ scan: ScanRecord; alreadyRunning: boolean; scanId: string }>> {
    return this.approvals.decide(requestId, user, decision, clickChannel, (project, who) =>
      this.startFor(project, who),
    );
  }

  /** Retry of an approved request whose start failed. */
  retry(
    requestId: string,
    user: string,
    clickChannel?: string,
  ): Promise<DecisionOutcome<{ scan: ScanRecord; alreadyRunning: boolean; scanId: string }>> {
    return this.approvals.retry(requestId, user, clickChannel, (project, who) => this.startFor(project, who));
  }

  private async startFor(
    project: ProjectRecord,
    who: { requestedBy: string; approvedBy?: string; channel: string },
  ) {
    const started = await this.start(project, who);
    return { ...started, scanId: started.scan.scanId };
  }

  private async start(
    project: ProjectRecord,
    who: { requestedBy: string; approvedBy?: string; channel: string },
  ): Promise<{ scan: ScanRecord; alreadyRunning: boolean }> {
    const { scanner, clock, audit, targets } = this.deps;
    // DNS may point elsewhere than when the project was created (or the request was approved).
    if (project.url) await targets.check(project.url);
    const result = await scanner.startScan(project.id);
    const existing = await this.getScan(result.scanId);
    await audit.record({
      user: who.approvedBy ?? who.requestedBy,
      action: "scan.start",
      target: `${project.name} (scan ${result.scanId})`,
      outcome: "ok",
      ...(result.alreadyRunning ? { detail: "already running; attached" } : {}),
    });
    if (existing) return { scan: existing, alreadyRunning: true };
    const now = clock.now();
    const scan: ScanRecord = {
      scanId: result.scanId,
      projectId: project.id,
      projectName: project.name,
      targetUrl: project.url,
      backend: scanner.name,
      requestedBy: who.requestedBy,
      ...(who.approvedBy ? { approvedBy: who.approvedBy } : {}),
      channel: who.channel,
      state: result.alreadyRunning ? "running" : "queued",
      startedAt: now,
      updatedAt: now,
    };
    await this.saveScan(scan);
    return { scan, alreadyRunning: result.alreadyRunning };
  }

  /** Stop button or `scan stop`: once per scan, whoever clicks first. */
  async stop(scanId: string, user: string, channel?: string): Promise<ScanRecord> {
    const { authz, store, scanner, audit, clock } = this.deps;
    await authz.require(user, "stop_scan", channel);
    const scan = await this.getScan(scanId);
    if (!scan) {
      throw new AppError(
        "not_found",
        `Scan ${scanId} is not one this bot started or watches. \`/crashtest scan status ${scanId}\` attaches to it.`,
      );
    }
    if (TERMINAL_SCAN_STATES.has(scan.state)) {
      throw new AppError("conflict", `Scan ${scanId} has already ended (${scan.state}).`);
    }
    if (!(await store.add(STOPS, scanId, { user, at: clock.now() }, 3600_000))) {
      const by = await store.get<{ user: string }>(STOPS, scanId);
      throw new AppError(
        "conflict",
        `Stopping scan ${scanId} was already requested${by ? ` by <@${by.user}>` : ""}.`,
      );
    }
    try {
      await scanner.stopScan({ projectId: scan.projectId, scanId });
    } catch (error) {
      // Let a later click try again.
      await store.delete(STOPS, scanId);
      throw error;
    }
    const updated = { ...scan, stopRequestedBy: user };
    await this.saveScan(updated);
    await audit.record({
      user,
      action: "scan.stop",
      target: `${scan.projectName} (scan ${scanId})`,
      outcome: "ok",
    });
    return updated;
  }
}
