import { toAppError } from "../errors.js";
import type { Clock, KeyValueStore, Logger } from "../ports.js";
import type { ProjectRegistry } from "../projects.js";
import { latestOccurrence, type Occurrence } from "./occurrences.js";
import type { ScheduledStarts, ScheduleOutput } from "./ports.js";
import type { LastRun, ScheduleBook, ScheduleRecord } from "./record.js";
import type { ScheduleService } from "./service.js";
import { type CronSyntax, timingFields } from "./timing.js";

/** SCHEDULE_CATCH_UP: what a bot that was down at a schedule's time does when it starts. */
export type CatchUp = "latest" | "none";

/** Retries of a scanner failure: at most 5, the vendor's rule (the transport's DEFAULT_RETRY). */
export const MAX_START_RETRIES = 5;
/** An occurrence runs up to this late in normal operation (a slow sweep, a DST shift, a busy replica). */
export const DUE_GRACE_MS = 15 * 60_000;
const RUNS = "schedule-runs";
/** Claims outlive any retry sequence (5 retries over at most 31 minutes) by far. */
const CLAIM_TTL_MS = 3 * 24 * 3600_000;

/** What the runner does with a schedule now: nothing, or run one occurrence (a first try or a retry). */
export type RunDecision =
  | { kind: "none"; why: "paused" | "not_approved" | "no_occurrence" | "done" | "missed" | "retry_later" }
  | { kind: "run"; occurrence: Occurrence; attempt: number };

/**
 * The runner's decision, a pure function: the latest occurrence at or before `now` runs once, if it
 * is after the schedule became active and not older than `graceMs`; a start that failed retries
 * when its wait is over. Only ever the latest occurrence: a bot back after a week runs once.
 */
export function decideRun(input: {
  schedule: ScheduleRecord;
  approved: boolean;
  latest: Occurrence | undefined;
  now: number;
  graceMs: number;
}): RunDecision {
  const { schedule, latest, now } = input;
  if (schedule.paused) return { kind: "none", why: "paused" };
  if (!input.approved) return { kind: "none", why: "not_approved" };
  if (!latest || latest.at < schedule.activeSince) return { kind: "none", why: "no_occurrence" };
  const last = schedule.lastRun;
  if (last?.occurrence === latest.key) {
    if (last.outcome !== "retrying") return { kind: "none", why: "done" };
    if (now < (last.nextAttemptAt ?? 0)) return { kind: "none", why: "retry_later" };
    return { kind: "run", occurrence: latest, attempt: last.attempts ?? 1 };
  }
  if (now - latest.at > input.graceMs) return { kind: "none", why: "missed" };
  return { kind: "run", occurrence: latest, attempt: 0 };
}

/** Wait before retry n (1-based): 1, 2, 4, 8, 16 minutes. */
export const retryDelayMs = (retry: number) => 60_000 * 2 ** (retry - 1);

/**
 * Runs due occurrences of schedules, once across replicas: each (schedule, occurrence, attempt) is
 * claimed through the store's first-writer-wins `add` before anything starts. The scheduler calls
 * `runDue` each minute and `runOne` when a schedule's own cron task fires; `catchUp` once at start.
 */
export class ScheduleRunner {
  constructor(
    private readonly deps: {
      book: ScheduleBook;
      schedules: ScheduleService;
      projects: ProjectRegistry;
      scans: ScheduledStarts;
      output: ScheduleOutput;
      store: KeyValueStore;
      clock: Clock;
      syntax: CronSyntax;
      logger: Logger;
      catchUp: CatchUp;
    },
  ) {}

  /** Every schedule whose occurrence is due now (within the grace period) or whose retry is due. */
  async runDue(graceMs = DUE_GRACE_MS): Promise<void> {
    for (const schedule of await this.deps.book.list()) await this.guarded(schedule, graceMs);
  }

  /** At start: the most recent missed occurrence of each schedule runs once (SCHEDULE_CATCH_UP=latest). */
  async catchUp(): Promise<void> {
    await this.runDue(this.deps.catchUp === "latest" ? Number.POSITIVE_INFINITY : DUE_GRACE_MS);
  }

  async runOne(id: string, graceMs = DUE_GRACE_MS): Promise<void> {
    const schedule = await this.deps.book.get(id);
    if (schedule) await this.guarded(schedule, graceMs);
  }

  private view(schedule: ScheduleRecord) {
    return this.deps.schedules.view(schedule);
  }

  private async guarded(schedule: ScheduleRecord, graceMs: number): Promise<void> {
    try {
      await this.run(schedule, graceMs);
    } catch (error) {
      this.deps.logger.error("scheduled run failed", { scheduleId: schedule.id, error });
    }
  }

  private async run(schedule: ScheduleRecord, graceMs: number): Promise<void> {
    const { clock, store, syntax, logger } = this.deps;
    const now = clock.now();
    const fields = timingFields(schedule.timing, syntax);
    const decision = decideRun({
      schedule,
      approved: this.deps.schedules.approved(schedule),
      latest: latestOccurrence(fields, schedule.timing.timeZone, now),
      now,
      graceMs,
    });
    if (decision.kind === "none") return;
    const { occurrence, attempt } = decision;
    const claim = `${schedule.id}|v${schedule.version}|${occurrence.key}|${attempt}`;
    if (!(await store.add(RUNS, claim, { at: now }, CLAIM_TTL_MS))) return;
    logger.info("scheduled run", { scheduleId: schedule.id, occurrence: occurrence.key, attempt });
    const record = (run: Omit<LastRun, "occurrence" | "due" | "at">) =>
      this.deps.book.ran(schedule.id, {
        occurrence: occurrence.key,
        due: occurrence.at,
        at: clock.now(),
        ...run,
      });
    await this.start(schedule, attempt, record);
  }

  private async start(
    schedule: ScheduleRecord,
    attempt: number,
    record: (run: Omit<LastRun, "occurrence" | "due" | "at">) => Promise<ScheduleRecord | undefined>,
  ): Promise<void> {
    const { projects, scans, output } = this.deps;
    const project = await projects.get(schedule.projectId);
    if (!project) {
      // Said once: later occurrences are recorded the same way, without a notice each time.
      const told = schedule.lastRun?.outcome === "project_deleted";
      const ran = (await record({ outcome: "project_deleted" })) ?? schedule;
      if (!told) await output.notice(this.view(ran), { kind: "project_deleted" });
      return;
    }
    if (project.url !== schedule.targetUrl) {
      // What was approved is not what would be scanned: nothing runs until the new target is approved.
      const ran = (await record({ outcome: "target_changed" })) ?? schedule;
      const changed = await this.deps.schedules.targetChanged(ran, project);
      await output.notice(this.view(changed), {
        kind: "target_changed",
        was: schedule.targetUrl,
        now: project.url,
        approvalNeeded: changed.approval.status === "pending",
      });
      return;
    }
    const running = await scans.runningScan(project.id);
    if (running) {
      const ran = (await record({ outcome: "attached", scanId: running.scanId })) ?? schedule;
      await output.notice(this.view(ran), { kind: "attached", scan: running });
      return;
    }
    try {
      const approvedBy = "by" in schedule.approval ? schedule.approval.by : undefined;
      const started = await scans.startScheduled(project, {
        scheduleId: schedule.id,
        scheduledBy: schedule.changedBy,
        ...(approvedBy ? { approvedBy } : {}),
        channel: schedule.channel,
      });
      const ran = await record({
        outcome: started.alreadyRunning ? "attached" : "started",
        scanId: started.scanId,
      });
      if (started.alreadyRunning)
        await output.notice(this.view(ran ?? schedule), { kind: "attached", scan: started.scan });
    } catch (error) {
      const failure = toAppError(error);
      const attempts = attempt + 1;
      if (failure.retryable && attempt < MAX_START_RETRIES) {
        const wait = Math.max(retryDelayMs(attempts), failure.retryAfterMs ?? 0);
        await record({
          outcome: "retrying",
          attempts,
          nextAttemptAt: this.deps.clock.now() + wait,
          detail: failure.userMessage,
        });
        this.deps.logger.warn("scheduled start failed; retrying", {
          scheduleId: schedule.id,
          attempts,
          error,
        });
        return;
      }
      const ran = (await record({ outcome: "failed", attempts, detail: failure.userMessage })) ?? schedule;
      this.deps.logger.error("scheduled start failed", { scheduleId: schedule.id, attempts, error });
      await output.notice(this.view(ran), { kind: "failed", attempts, reason: failure.userMessage });
    }
  }
}
