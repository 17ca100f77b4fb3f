import type { MessageRef } from "../approval-record.js";
import type { ProjectRecord } from "../projects.js";
import type { ScanRecord } from "../scan-record.js";
import type { Announced } from "../scans.js";
import type { ScheduleView } from "./service.js";

/** What schedules need from the rest of the bot: the scan lifecycle and a way to speak in Slack. */

/** Something a schedule says in its channel (rendered by slack/blocks/schedules.ts). */
export type ScheduleNotice =
  | { kind: "attached"; scan: ScanRecord }
  | { kind: "target_changed"; was: string; now: string; approvalNeeded: boolean }
  | { kind: "failed"; attempts: number; reason: string }
  | { kind: "project_deleted" };

export interface ScheduleOutput {
  /** Posts the approval request card of the schedule's current version; answers where it went. */
  requestApproval(view: ScheduleView): Promise<MessageRef>;
  /** Redraws a request card with the decision and says who decided in its thread. */
  showApproval(view: ScheduleView, card: MessageRef): Promise<void>;
  notice(view: ScheduleView, notice: ScheduleNotice): Promise<void>;
}

/** The scan lifecycle as a schedule starts scans (ScanService). */
export interface ScheduledStarts {
  /** A scan of the project the bot is watching that has not ended, if any. */
  runningScan(projectId: string): Promise<ScanRecord | undefined>;
  /** Starts the scan, records who scheduled and approved it, posts its card in the schedule's channel. */
  startScheduled(
    project: ProjectRecord,
    who: { scheduleId: string; scheduledBy: string; approvedBy?: string; channel: string },
  ): Promise<Announced>;
}
