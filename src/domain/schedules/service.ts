import type { ApprovalAudience } from "../approval-record.js";
import type { AuditTrail } from "../audit.js";
import type { Authorizer } from "../authz.js";
import { AppError, command, person, say } from "../errors.js";
import { requireApproverAudience, requireDecidingChannels, requireSecondPerson } from "../four-eyes.js";
import type { Clock, KeyValueStore } from "../ports.js";
import type { ProjectRecord, ProjectRegistry } from "../projects.js";
import { nextOccurrence, type Occurrence } from "./occurrences.js";
import type { ScheduleOutput } from "./ports.js";
import type { ScheduleApproval, ScheduleBook, ScheduleRecord } from "./record.js";
import { type CronSyntax, parseTiming, sameTiming, timingFields } from "./timing.js";
import { timingInWords } from "./words.js";

/** What a schedule shows: the record, its timing in words, its next run. */
export interface ScheduleView {
  schedule: ScheduleRecord;
  words: string;
  next?: Occurrence;
  /** Whether it runs at its next occurrence (approved or approval not required, not paused). */
  active: boolean;
}

export interface SchedulePolicy {
  requireApproval: boolean;
  /** APPROVAL_CHANNEL: request cards go there. */
  approvalChannel?: string;
}

const DECISIONS = "schedule-decisions";
/** Enough for any team; bounds the lists and the runner's sweep. */
export const MAX_SCHEDULES = 200;

/**
 * People's side of schedules: make, change, pause, resume, delete, and approve. A schedule is a
 * standing approval, with the four-eyes rules of scan approvals (approvals.ts): someone other than
 * who made the version approves it, re-authorized at the click, first decision wins through the
 * store's `add`, every change audited. A change of time or project is a new version approved anew.
 */
export class ScheduleService {
  constructor(
    private readonly deps: {
      book: ScheduleBook;
      projects: ProjectRegistry;
      authz: Authorizer;
      audit: AuditTrail;
      audience: ApprovalAudience;
      store: KeyValueStore;
      clock: Clock;
      syntax: CronSyntax;
      output: ScheduleOutput;
      policy: SchedulePolicy;
    },
  ) {}

  view(schedule: ScheduleRecord, after = this.deps.clock.now()): ScheduleView {
    const fields = timingFields(schedule.timing, this.deps.syntax);
    const next = nextOccurrence(fields, schedule.timing.timeZone, after);
    return {
      schedule,
      words: timingInWords(schedule.timing, fields),
      ...(next ? { next } : {}),
      active: !schedule.paused && this.approved(schedule),
    };
  }

  /** Whether the schedule's current version may run under the current policy. */
  approved(schedule: ScheduleRecord): boolean {
    const { status } = schedule.approval;
    return status === "approved" || (status === "not_required" && !this.deps.policy.requireApproval);
  }

  /** `schedules [project]`: every schedule, or one project's, with their next runs. */
  async list(user: string, channel: string, projectRef?: string): Promise<ScheduleView[]> {
    await this.deps.authz.require(user, "view", channel);
    const project = projectRef === undefined ? undefined : await this.deps.projects.resolve(projectRef);
    const all = await this.deps.book.list();
    return all.filter((s) => !project || s.projectId === project.id).map((s) => this.view(s));
  }

  /** The next runs of active schedules, soonest first (App Home). */
  async upcoming(limit: number): Promise<ScheduleView[]> {
    const views = (await this.deps.book.list()).map((s) => this.view(s)).filter((v) => v.active && v.next);
    return views.sort((a, b) => (a.next?.at ?? 0) - (b.next?.at ?? 0)).slice(0, limit);
  }

  async get(id: string): Promise<ScheduleRecord> {
    const schedule = /^[0-9a-f]{8}$/.test(id) ? await this.deps.book.get(id) : undefined;
    if (!schedule) {
      throw new AppError(
        "not_found",
        say`No schedule ${id}. ${command("schedules")} lists them with their IDs.`,
      );
    }
    return schedule;
  }

  /** `schedule <project> <timing>`. */
  async create(user: string, channel: string, projectRef: string, words: readonly string[]) {
    const { authz, projects, book, syntax } = this.deps;
    await authz.require(user, "request_scan", channel);
    const timing = parseTiming(words, syntax);
    const project = await projects.resolve(projectRef);
    if ((await book.list()).length >= MAX_SCHEDULES) {
      throw new AppError("conflict", `There are already ${MAX_SCHEDULES} schedules; delete one first.`);
    }
    await this.requireApprover(user, channel);
    const schedule = await book.created({ project, timing, channel, user, approval: this.fresh() });
    await this.audited(user, "schedule.create", schedule);
    return this.view(await this.askApproval(schedule));
  }

  /** `schedule edit <id> <project> <timing>`: a change is a new version, approved anew. */
  async change(user: string, channel: string, id: string, projectRef: string, words: readonly string[]) {
    const { authz, projects, book, syntax } = this.deps;
    await authz.require(user, "request_scan", channel);
    const schedule = await this.get(id);
    const timing = parseTiming(words, syntax);
    const project = await projects.resolve(projectRef);
    if (
      project.id === schedule.projectId &&
      project.url === schedule.targetUrl &&
      sameTiming(timing, schedule.timing)
    ) {
      throw new AppError("validation", `Schedule ${id} already runs like that; nothing changed.`);
    }
    await this.requireApprover(user, channel);
    const changed = await book.changed(schedule, { project, timing, user, approval: this.fresh() });
    await this.audited(user, "schedule.change", changed, `version ${changed.version}`);
    return this.view(await this.askApproval(changed));
  }

  /** The project's target changed since the approval: the run is refused and a new approval asked. */
  async targetChanged(schedule: ScheduleRecord, project: ProjectRecord): Promise<ScheduleRecord> {
    const changed = await this.deps.book.changed(schedule, {
      project,
      timing: schedule.timing,
      user: schedule.changedBy,
      approval: this.fresh(),
    });
    return this.askApproval(changed);
  }

  async pause(user: string, channel: string | undefined, id: string): Promise<ScheduleRecord> {
    await this.deps.authz.require(user, "request_scan", channel);
    const schedule = await this.get(id);
    if (schedule.paused) return schedule;
    const paused = await this.deps.book.paused(schedule, user);
    await this.audited(user, "schedule.pause", paused);
    return paused;
  }

  async resume(user: string, channel: string | undefined, id: string): Promise<ScheduleRecord> {
    await this.deps.authz.require(user, "request_scan", channel);
    const schedule = await this.get(id);
    if (!schedule.paused) return schedule;
    const resumed = await this.deps.book.resumed(schedule);
    await this.audited(user, "schedule.resume", resumed);
    return resumed;
  }

  async delete(user: string, channel: string | undefined, id: string): Promise<ScheduleRecord> {
    await this.deps.authz.require(user, "request_scan", channel);
    const schedule = await this.get(id);
    await this.deps.book.deleted(id);
    await this.audited(user, "schedule.delete", schedule);
    return schedule;
  }

  /**
   * Approve or deny one version of a schedule (the button carries `<id>:<version>`). Only an approver
   * other than who made the version may approve; that person may withdraw it. First decision wins.
   */
  async decide(
    ref: string,
    user: string,
    decision: "approve" | "deny",
    clickChannel: string | undefined,
  ): Promise<ScheduleRecord> {
    const { authz, store, clock, book, policy } = this.deps;
    const [id = "", version = ""] = ref.split(":");
    const schedule = await this.get(id);
    if (String(schedule.version) !== version) {
      throw new AppError(
        "conflict",
        `Schedule ${id} changed after this request; decide on its newest request card instead.`,
      );
    }
    if (schedule.approval.status !== "pending") {
      const { approval } = schedule;
      throw new AppError(
        "conflict",
        "by" in approval
          ? say`This schedule was already ${approval.status} by ${person(approval.by)}.`
          : "This schedule does not wait for approval.",
      );
    }
    requireDecidingChannels(authz, policy.approvalChannel, [clickChannel, schedule.channel]);
    const withdrawing = await requireSecondPerson(authz, {
      user,
      requestedBy: schedule.changedBy,
      decision,
      capability: "approve_scan",
      what: "schedule",
    });
    if (decision === "approve") await this.requireStillValid(schedule);
    const won = await store.add(DECISIONS, `${id}:${version}`, { decision, user, at: clock.now() });
    if (!won) {
      const first = await store.get<{ decision: string; user: string }>(DECISIONS, `${id}:${version}`);
      throw new AppError(
        "conflict",
        first
          ? say`This schedule was already decided by ${person(first.user)}.`
          : "This schedule was already decided.",
      );
    }
    const status = withdrawing ? "withdrawn" : decision === "approve" ? "approved" : "denied";
    const decided = await book.decided(schedule, status, user);
    await this.audited(
      user,
      `schedule.${decision === "approve" ? "approve" : withdrawing ? "withdraw" : "deny"}`,
      decided,
      `version ${version}`,
    );
    const card = decided.approval.status === "not_required" ? undefined : decided.approval.card;
    if (card) await this.deps.output.showApproval(this.view(decided), card);
    return decided;
  }

  /** What the approver approves must still hold: the project, its target, a requester with the right. */
  private async requireStillValid(schedule: ScheduleRecord): Promise<void> {
    const project = await this.deps.projects.get(schedule.projectId);
    const problem = !project
      ? say`Project ${schedule.projectName} was deleted`
      : project.url !== schedule.targetUrl
        ? say`The target of ${schedule.projectName} changed (now ${project.url || "unknown"}); change the schedule again to approve the new target`
        : !(await this.deps.authz.can(schedule.changedBy, "request_scan"))
          ? say`${person(schedule.changedBy)} may no longer start scans`
          : undefined;
    if (problem) throw new AppError("conflict", [...problem, ". Nothing was approved."]);
  }

  private fresh(): ScheduleApproval {
    return this.deps.policy.requireApproval ? { status: "pending" } : { status: "not_required" };
  }

  /** A schedule no one but its author could approve would never run: refuse it up front. */
  private async requireApprover(user: string, channel: string): Promise<void> {
    const { policy, audience } = this.deps;
    if (!policy.requireApproval) return;
    await requireApproverAudience(
      audience,
      policy.approvalChannel,
      channel,
      user,
      "Nobody who may approve scans can see this conversation, so this schedule could never be approved. Make it in a channel where an approver is a member (an admin can also set APPROVAL_CHANNEL).",
    );
  }

  private async askApproval(schedule: ScheduleRecord): Promise<ScheduleRecord> {
    if (schedule.approval.status !== "pending") return schedule;
    const card = await this.deps.output.requestApproval(this.view(schedule));
    return (await this.deps.book.approvalCardPosted(schedule.id, schedule.version, card)) ?? schedule;
  }

  private async audited(user: string, action: string, schedule: ScheduleRecord, detail?: string) {
    await this.deps.audit.record({
      user,
      action,
      target: `${schedule.projectName} (schedule ${schedule.id})`,
      outcome: "ok",
      ...(detail ? { detail } : {}),
    });
  }
}
