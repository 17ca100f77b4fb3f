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
import { AppError, command, person, say } from "./errors.js";
import type { Clock, KeyValueStore, Logger, Scanner, ScanStatus } from "./ports.js";
import { TERMINAL_SCAN_STATES } from "./ports.js";
import type { ProjectRecord, ProjectRegistry } from "./projects.js";
import type { ScanBook, ScanRecord } from "./scan-record.js";
import type { TargetGuard } from "./targets.js";

/**
 * Effects of the scan lifecycle, rendered by the Slack layer (slack/flows.ts): the domain decides what
 * is said and where, the renderer only draws it. postCard answers where the card went.
 */
export interface ScanOutput {
  postCard(scan: ScanRecord, note?: "attached"): Promise<MessageRef>;
  /** A card posted before a crash, found again by its message metadata. */
  findCard(scan: ScanRecord): Promise<MessageRef | undefined>;
  updateCard(scan: ScanRecord & { card: MessageRef }): Promise<void>;
  /** A reply in the card's thread. */
  reply(scan: ScanRecord & { card: MessageRef }, notice: ScanNotice): Promise<void>;
}

export type ScanNotice = { kind: "stop_requested"; by: string };

/** The watcher, as the scan lifecycle needs it (domain/watch). */
export interface ScanWatch {
  watch(scan: ScanRecord): Promise<void>;
  /** Whether the watcher has a record for the scan (running, ended or given up). */
  isWatched(scanId: string): Promise<boolean>;
  /** Attaches to a scan the bot did not start: checks it at the scanner and records it. */
  attach(input: { scanId: string; projectId: string; channel: string; user: string }): Promise<{
    scan: ScanRecord;
    status: ScanStatus;
  }>;
}

/** A started (or attached) scan and where its card is; `hadCard` when it was posted before. */
export interface Announced {
  scan: ScanRecord;
  alreadyRunning: boolean;
  hadCard: boolean;
  scanId: string;
}

export interface ScanPolicy extends ApprovalPolicy {
  requireApproval: boolean;
}

export type { ApprovalRequest, Decision, MessageRef, ScanRecord };

export type ScanRequestOutcome =
  | { kind: "approval_needed"; request: ApprovalRequest }
  | ({ kind: "started" } & Announced);

const STOPS = "stop-requests";

/**
 * The scan lifecycle: requested, started (card posted, handed to the watcher), stopped, and repaired
 * after a crash. The scan record (scan-record.ts) is written only through this module's ScanBook;
 * Slack gets effects through ScanOutput. Every state change that two people (or
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
      book: ScanBook;
      output: ScanOutput;
      watch: ScanWatch;
      logger: Logger;
    },
  ) {
    this.approvals = new ApprovalService(deps);
  }

  getScan(scanId: string): Promise<ScanRecord | undefined> {
    return this.deps.book.getScan(scanId);
  }

  listScans(): Promise<ScanRecord[]> {
    return this.deps.book.listScans();
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
      return {
        kind: "started",
        ...(await this.announce(await this.start(project, { requestedBy: user, channel }))),
      };
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
  ): Promise<DecisionOutcome<Announced>> {
    return this.announced(
      this.approvals.decide(requestId, user, decision, clickChannel, (project, who) =>
        this.startFor(project, who),
      ),
    );
  }

  /** Retry of an approved request whose start failed. */
  retry(requestId: string, user: string, clickChannel?: string): Promise<DecisionOutcome<Announced>> {
    return this.announced(
      this.approvals.retry(requestId, user, clickChannel, (project, who) => this.startFor(project, who)),
    );
  }

  private async startFor(
    project: ProjectRecord,
    who: { requestedBy: string; approvedBy?: string; channel: string },
  ) {
    const started = await this.start(project, who);
    return { ...started, scanId: started.scan.scanId };
  }

  /** A decision that started a scan posts its card; the approval itself is settled before. */
  private async announced(
    decided: Promise<DecisionOutcome<{ scan: ScanRecord; alreadyRunning: boolean; scanId: string }>>,
  ): Promise<DecisionOutcome<Announced>> {
    const outcome = await decided;
    if (!outcome.started) {
      const { started: _none, ...rest } = outcome;
      return rest;
    }
    return { ...outcome, started: await this.announce(outcome.started) };
  }

  /**
   * "Scan started": post its card where it was asked for, record the card, hand it to the watcher. A
   * scan that already has a card is not posted twice.
   */
  private async announce(started: { scan: ScanRecord; alreadyRunning: boolean }): Promise<Announced> {
    const { scan, alreadyRunning } = started;
    if (scan.card) return { scan, alreadyRunning, hadCard: true, scanId: scan.scanId };
    const card = await this.deps.output.postCard(scan, alreadyRunning ? "attached" : undefined);
    const posted = (await this.deps.book.cardPosted(scan.scanId, card)) ?? { ...scan, card };
    await this.deps.watch.watch(posted);
    return { scan: posted, alreadyRunning, hadCard: false, scanId: scan.scanId };
  }

  /**
   * `scan status <id> [project]`: the scan's record, re-watched when it has a card (a watch that gave
   * up resumes); a scan the bot does not know is attached through its project.
   */
  async status(
    scanId: string,
    user: string,
    channel: string,
    projectRef?: string,
  ): Promise<{ scan: ScanRecord; attached?: Announced }> {
    const { authz, book, projects, watch } = this.deps;
    await authz.require(user, "view", channel);
    const known = await book.getScan(scanId);
    if (!known && projectRef === undefined) {
      throw new AppError(
        "not_found",
        say`The bot does not know scan ${scanId}. Name its project to attach to it: ${command(`scan status ${scanId} <project>`)}.`,
      );
    }
    const projectId = known?.projectId ?? (await projects.resolve(projectRef ?? "")).id;
    // Idempotent: a watched scan answers from its record; a watch that gave up resumes here.
    const attached = await watch.attach({ scanId, projectId, channel, user });
    if (known) return { scan: attached.scan };
    return {
      scan: attached.scan,
      attached: await this.announce({ scan: attached.scan, alreadyRunning: true }),
    };
  }

  /**
   * At start-up: every running scan the bot started gets its card and its watch, even if the bot died
   * between starting the scan and watching it. A card posted before the crash is found by its metadata.
   */
  async reconcile(): Promise<void> {
    const { book, watch, store, clock, output, logger } = this.deps;
    for (const scan of await book.listScans()) {
      if (TERMINAL_SCAN_STATES.has(scan.state) || (await watch.isWatched(scan.scanId))) continue;
      // One replica per scan does the repair.
      if (!(await store.add("scan-reconcile", scan.scanId, { at: clock.now() }, 5 * 60_000))) continue;
      try {
        if (scan.card) {
          await watch.watch(scan);
          continue;
        }
        const card = await output.findCard(scan);
        if (card) await watch.watch((await book.cardPosted(scan.scanId, card)) ?? { ...scan, card });
        else await this.announce({ scan, alreadyRunning: false });
        logger.info("reconciled an unwatched scan", { scanId: scan.scanId, cardFound: card !== undefined });
      } catch (error) {
        logger.error("could not reconcile scan; `/crashtest scan status` re-attaches it", {
          scanId: scan.scanId,
          error,
        });
      }
    }
  }

  /** A scan of the project that the bot started or attached to and that has not ended. */
  async runningScan(projectId: string): Promise<ScanRecord | undefined> {
    const scans = await this.deps.book.listScans();
    return scans.find((s) => s.projectId === projectId && !TERMINAL_SCAN_STATES.has(s.state) && s.card);
  }

  /**
   * A schedule's run (domain/schedules): the scan records "scheduled by @x, approved by @y" and its
   * card goes to the schedule's channel; from there it is watched like any other scan.
   */
  async startScheduled(
    project: ProjectRecord,
    who: { scheduleId: string; scheduledBy: string; approvedBy?: string; channel: string },
  ): Promise<Announced> {
    const { scheduleId, scheduledBy, approvedBy, channel } = who;
    return this.announce(
      await this.start(project, {
        requestedBy: scheduledBy,
        ...(approvedBy ? { approvedBy } : {}),
        channel,
        scheduleId,
      }),
    );
  }

  private async start(
    project: ProjectRecord,
    who: { requestedBy: string; approvedBy?: string; channel: string; scheduleId?: string },
  ): Promise<{ scan: ScanRecord; alreadyRunning: boolean }> {
    const { scanner, clock, audit, targets } = this.deps;
    // DNS may point elsewhere than when the project was created (or the request was approved).
    if (project.url) await targets.check(project.url);
    const result = await scanner.startScan(project.id);
    const existing = await this.deps.book.getScan(result.scanId);
    await audit.record({
      user: who.approvedBy ?? who.requestedBy,
      action: "scan.start",
      target: `${project.name} (scan ${result.scanId})`,
      outcome: "ok",
      ...(result.alreadyRunning || who.scheduleId
        ? {
            detail: [
              ...(who.scheduleId ? [`schedule ${who.scheduleId}`] : []),
              ...(result.alreadyRunning ? ["already running; attached"] : []),
            ].join("; "),
          }
        : {}),
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
      ...(who.scheduleId ? { scheduleId: who.scheduleId } : {}),
      channel: who.channel,
      state: result.alreadyRunning ? "running" : "queued",
      startedAt: now,
      updatedAt: now,
    };
    return { scan: await this.deps.book.started(scan), alreadyRunning: result.alreadyRunning };
  }

  /** Stop button or `scan stop`: once per scan, whoever clicks first. */
  async stop(scanId: string, user: string, channel?: string): Promise<ScanRecord> {
    const { authz, store, scanner, audit, clock } = this.deps;
    await authz.require(user, "stop_scan", channel);
    const scan = await this.deps.book.getScan(scanId);
    if (!scan) {
      throw new AppError(
        "not_found",
        say`Scan ${scanId} is not one this bot started or watches. ${command(`scan status ${scanId}`)} attaches to it.`,
      );
    }
    if (TERMINAL_SCAN_STATES.has(scan.state)) {
      throw new AppError("conflict", `Scan ${scanId} has already ended (${scan.state}).`);
    }
    if (!(await store.add(STOPS, scanId, { user, at: clock.now() }, 3600_000))) {
      const by = await store.get<{ user: string }>(STOPS, scanId);
      throw new AppError(
        "conflict",
        by
          ? say`Stopping scan ${scanId} was already requested by ${person(by.user)}.`
          : `Stopping scan ${scanId} was already requested.`,
      );
    }
    try {
      await scanner.stopScan({ projectId: scan.projectId, scanId });
    } catch (error) {
      // Let a later click try again.
      await store.delete(STOPS, scanId);
      throw error;
    }
    const updated = (await this.deps.book.stopRequested(scanId, user)) ?? { ...scan, stopRequestedBy: user };
    await audit.record({
      user,
      action: "scan.stop",
      target: `${scan.projectName} (scan ${scanId})`,
      outcome: "ok",
    });
    if (updated.card) {
      const shown = { ...updated, card: updated.card };
      await this.deps.output.updateCard(shown);
      await this.deps.output.reply(shown, { kind: "stop_requested", by: user });
    }
    return updated;
  }
}
