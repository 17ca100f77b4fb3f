import { randomBytes } from "node:crypto";
import type { MessageRef } from "../approval-record.js";
import type { Clock, KeyValueStore } from "../ports.js";
import type { ProjectRecord } from "../projects.js";
import type { Timing } from "./timing.js";

/**
 * The schedule record: a recurring scan of one project, and its standing approval. ScheduleBook is its
 * only writer; ScheduleService (people's changes) and ScheduleRunner (what a run did) call it.
 */

/**
 * A schedule is a standing approval. `not_required`: made while REQUIRE_APPROVAL was off. Each change
 * of the schedule (time, project, target URL) is a new `version` and needs its own approval.
 */
export type ScheduleApproval =
  | { status: "not_required" }
  | { status: "pending"; card?: MessageRef }
  | { status: "approved" | "denied" | "withdrawn"; by: string; at: number; card?: MessageRef };

export type RunOutcome =
  | "started"
  | "attached"
  | "retrying"
  | "failed"
  | "target_changed"
  | "project_deleted";

/** What the latest run did, for `schedules` and for the runner (one run per occurrence). */
export interface LastRun {
  /** The occurrence's local wall time (its key), e.g. "2026-12-07T02:00". */
  occurrence: string;
  /** When the occurrence was due (epoch ms). */
  due: number;
  at: number;
  outcome: RunOutcome;
  scanId?: string;
  /** Failed start attempts so far (retrying, failed). */
  attempts?: number;
  nextAttemptAt?: number;
  /** Why it failed (safe to show). */
  detail?: string;
}

export interface ScheduleRecord {
  id: string;
  projectId: string;
  projectName: string;
  /** The target URL the schedule was approved for (or made for, without approvals). */
  targetUrl: string;
  timing: Timing;
  /** Where cards and notices go. */
  channel: string;
  createdBy: string;
  createdAt: number;
  /** Who made this version (created or changed it): a second person has to approve it. */
  changedBy: string;
  version: number;
  approval: ScheduleApproval;
  paused?: { by: string; at: number };
  /** Occurrences due before this never run: the schedule was made, changed or resumed then. */
  activeSince: number;
  lastRun?: LastRun;
  updatedAt: number;
}

const SCHEDULES = "schedules";

export class ScheduleBook {
  constructor(
    private readonly store: KeyValueStore,
    private readonly clock: Clock,
  ) {}

  get(id: string): Promise<ScheduleRecord | undefined> {
    return this.store.get<ScheduleRecord>(SCHEDULES, id);
  }

  async list(): Promise<ScheduleRecord[]> {
    const entries = await this.store.entries<ScheduleRecord>(SCHEDULES);
    return entries.map(([, s]) => s).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  private async write(schedule: ScheduleRecord): Promise<ScheduleRecord> {
    const saved = { ...schedule, updatedAt: this.clock.now() };
    await this.store.set(SCHEDULES, schedule.id, saved);
    return saved;
  }

  /** "Schedule made": a new record under a fresh short ID (people type it). */
  async created(input: {
    project: ProjectRecord;
    timing: Timing;
    channel: string;
    user: string;
    approval: ScheduleApproval;
  }): Promise<ScheduleRecord> {
    const now = this.clock.now();
    for (;;) {
      const id = randomBytes(4).toString("hex");
      if (!(await this.store.add("schedule-ids", id, { at: now }))) continue;
      return this.write({
        id,
        projectId: input.project.id,
        projectName: input.project.name,
        targetUrl: input.project.url,
        timing: input.timing,
        channel: input.channel,
        createdBy: input.user,
        createdAt: now,
        changedBy: input.user,
        version: 1,
        approval: input.approval,
        activeSince: now,
        updatedAt: now,
      });
    }
  }

  /** "Schedule changed" (time, project or target): a new version, approved anew when required. */
  changed(
    schedule: ScheduleRecord,
    change: { project: ProjectRecord; timing: Timing; user: string; approval: ScheduleApproval },
  ): Promise<ScheduleRecord> {
    return this.write({
      ...schedule,
      projectId: change.project.id,
      projectName: change.project.name,
      targetUrl: change.project.url,
      timing: change.timing,
      changedBy: change.user,
      version: schedule.version + 1,
      approval: change.approval,
      activeSince: this.clock.now(),
    });
  }

  async approvalCardPosted(
    id: string,
    version: number,
    card: MessageRef,
  ): Promise<ScheduleRecord | undefined> {
    const schedule = await this.get(id);
    if (!schedule || schedule.version !== version || schedule.approval.status === "not_required")
      return schedule;
    return this.write({ ...schedule, approval: { ...schedule.approval, card } });
  }

  /** The decision on one version; the caller has won its first-writer-wins claim. */
  async decided(
    schedule: ScheduleRecord,
    status: "approved" | "denied" | "withdrawn",
    by: string,
  ): Promise<ScheduleRecord> {
    const now = this.clock.now();
    const card = schedule.approval.status === "not_required" ? undefined : schedule.approval.card;
    return this.write({
      ...schedule,
      approval: { status, by, at: now, ...(card ? { card } : {}) },
      // Nothing due while it waited for approval runs late.
      ...(status === "approved" ? { activeSince: now } : {}),
    });
  }

  paused(schedule: ScheduleRecord, by: string): Promise<ScheduleRecord> {
    return this.write({ ...schedule, paused: { by, at: this.clock.now() } });
  }

  /** Resumed: occurrences missed while paused stay missed. */
  resumed(schedule: ScheduleRecord): Promise<ScheduleRecord> {
    const { paused: _was, ...rest } = schedule;
    return this.write({ ...rest, activeSince: this.clock.now() });
  }

  /** What a run of an occurrence did. */
  async ran(id: string, run: LastRun): Promise<ScheduleRecord | undefined> {
    const schedule = await this.get(id);
    return schedule ? this.write({ ...schedule, lastRun: run }) : undefined;
  }

  async deleted(id: string): Promise<boolean> {
    return this.store.delete(SCHEDULES, id);
  }
}
