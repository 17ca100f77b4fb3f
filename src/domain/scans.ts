import { randomUUID } from "node:crypto";
import type { AuditTrail } from "./audit.js";
import type { Authorizer } from "./authz.js";
import { AppError } from "./errors.js";
import type { Clock, KeyValueStore, Scanner, ScanState } from "./ports.js";
import { TERMINAL_SCAN_STATES } from "./ports.js";
import type { ProjectRecord, ProjectRegistry } from "./projects.js";
import type { TargetGuard } from "./targets.js";

/** Where a message lives in Slack, so later updates edit it instead of posting anew. */
export interface MessageRef {
  channel: string;
  ts: string;
}

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

export type ApprovalStatus = "pending" | "approved" | "denied" | "expired";

export interface ApprovalRequest {
  id: string;
  projectId: string;
  projectName: string;
  targetUrl: string;
  requestedBy: string;
  channel: string;
  createdAt: number;
  expiresAt: number;
  status: ApprovalStatus;
  decidedBy?: string;
  decidedAt?: number;
  scanId?: string;
  card?: MessageRef;
}

export interface ScanPolicy {
  requireApproval: boolean;
  approvalTtlMs: number;
}

export type ScanRequestOutcome =
  | { kind: "approval_needed"; request: ApprovalRequest }
  | { kind: "started"; scan: ScanRecord; alreadyRunning: boolean };

export type Decision = "approve" | "deny";

const SCANS = "scans";
const APPROVALS = "approvals";
const DECISIONS = "approval-decisions";
const STOPS = "stop-requests";

/**
 * Scan requests, four-eyes approvals, starting and stopping. Every state change that two people (or
 * two replicas) could race on goes through the store's first-writer-wins `add`. Successful changes are
 * audited here (with their precise target); refusals and failures are audited where they are answered.
 */
export class ScanService {
  constructor(
    private readonly deps: {
      scanner: Scanner;
      store: KeyValueStore;
      clock: Clock;
      authz: Authorizer;
      projects: ProjectRegistry;
      audit: AuditTrail;
      policy: ScanPolicy;
      targets: TargetGuard;
    },
  ) {}

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
    return this.deps.store.get<ApprovalRequest>(APPROVALS, id);
  }

  async saveApproval(request: ApprovalRequest): Promise<void> {
    // Kept a week past expiry so a late click still gets a clear answer.
    const ttl = Math.max(0, request.expiresAt - this.deps.clock.now()) + 7 * 24 * 3600_000;
    await this.deps.store.set(APPROVALS, request.id, request, ttl);
  }

  async pendingApprovals(): Promise<ApprovalRequest[]> {
    const now = this.deps.clock.now();
    return (await this.deps.store.entries<ApprovalRequest>(APPROVALS))
      .map(([, request]) => request)
      .filter((request) => request.status === "pending" && request.expiresAt > now);
  }

  /** `scan start <project>`: starts at once, or asks for approval when the policy says so. */
  async requestScan(user: string, channel: string, projectRef: string): Promise<ScanRequestOutcome> {
    const { authz, projects, policy, clock, audit } = this.deps;
    await authz.require(user, "request_scan", channel);
    const project = await projects.resolve(projectRef);
    if (!policy.requireApproval) {
      const started = await this.start(project, { requestedBy: user, channel });
      return { kind: "started", ...started };
    }
    const now = clock.now();
    const request: ApprovalRequest = {
      id: randomUUID(),
      projectId: project.id,
      projectName: project.name,
      targetUrl: project.url,
      requestedBy: user,
      channel,
      createdAt: now,
      expiresAt: now + policy.approvalTtlMs,
      status: "pending",
    };
    await this.saveApproval(request);
    await audit.record({ user, action: "scan.request", target: project.name, outcome: "ok" });
    return { kind: "approval_needed", request };
  }

  /**
   * Approve or deny. Only an approver other than the requester may approve; the requester may withdraw
   * (deny) their own request. The first decision wins; later clicks learn who decided.
   */
  async decide(
    requestId: string,
    user: string,
    decision: Decision,
  ): Promise<{ request: ApprovalRequest; scan?: ScanRecord; alreadyRunning?: boolean }> {
    const { authz, store, clock, audit } = this.deps;
    const request = await this.getApproval(requestId);
    if (!request) throw new AppError("not_found", "This approval request no longer exists.");
    if (request.status !== "pending") throw this.alreadyDecided(request);
    if (clock.now() >= request.expiresAt) {
      await this.saveApproval({ ...request, status: "expired" });
      throw new AppError(
        "conflict",
        `This request expired at ${new Date(request.expiresAt).toISOString()}. Ask for a new scan with \`/crashtest scan start ${request.projectName}\`.`,
      );
    }
    const withdrawing = decision === "deny" && user === request.requestedBy;
    if (!withdrawing) {
      await authz.require(user, "approve_scan");
      if (user === request.requestedBy) {
        throw new AppError(
          "permission",
          "You cannot approve your own scan request; another approver has to.",
        );
      }
    }
    const won = await store.add(DECISIONS, request.id, { decision, user, at: clock.now() });
    if (!won) {
      const latest = (await this.getApproval(request.id)) ?? request;
      const decided = await store.get<{ decision: Decision; user: string; at: number }>(
        DECISIONS,
        request.id,
      );
      throw this.alreadyDecided({
        ...latest,
        status: decided?.decision === "deny" ? "denied" : "approved",
        decidedBy: decided?.user ?? latest.decidedBy,
        decidedAt: decided?.at ?? latest.decidedAt,
      });
    }
    const decided: ApprovalRequest = {
      ...request,
      status: decision === "approve" ? "approved" : "denied",
      decidedBy: user,
      decidedAt: clock.now(),
    };
    await this.saveApproval(decided);
    await audit.record({ user, action: `scan.${decision}`, target: request.projectName, outcome: "ok" });
    if (decision === "deny") return { request: decided };

    const project = await this.deps.projects.resolve(request.projectId);
    const started = await this.start(project, {
      requestedBy: request.requestedBy,
      approvedBy: user,
      channel: request.channel,
    });
    const linked = { ...decided, scanId: started.scan.scanId };
    await this.saveApproval(linked);
    return { request: linked, ...started };
  }

  private alreadyDecided(request: ApprovalRequest): AppError {
    const when = request.decidedAt ? ` at ${new Date(request.decidedAt).toISOString()}` : "";
    const by = request.decidedBy ? ` by <@${request.decidedBy}>` : "";
    return new AppError("conflict", `This request was already ${request.status}${by}${when}.`);
  }

  private async start(
    project: ProjectRecord,
    who: { requestedBy: string; approvedBy?: string; channel: string },
  ): Promise<{ scan: ScanRecord; alreadyRunning: boolean }> {
    const { scanner, clock, audit, targets } = this.deps;
    // DNS may point elsewhere than when the project was created. Linked projects have no URL here.
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
