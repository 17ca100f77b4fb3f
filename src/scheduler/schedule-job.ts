import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "../domain/ports.js";
import type { ScheduleBook, ScheduleRecord } from "../domain/schedules/record.js";
import type { ScheduleRunner } from "../domain/schedules/runner.js";
import { type CronSyntax, timingCron } from "../domain/schedules/timing.js";
import type { Job } from "./index.js";

/** Job name of the minute sweep; replicas agree on each minute's slot through it. */
export const SCHEDULE_SWEEP_JOB_NAME = "schedule-sweep";

/** Cron syntax for the domain, by node-cron's own validator and parser. */
export const nodeCronSyntax: CronSyntax = {
  parse(expression) {
    const result = cron.validateDetailed(expression);
    if (!result.valid || !result.fields) {
      return {
        problem: result.errors.map((e) => `${e.field}: ${e.message}`).join("; ") || "not a cron expression",
      };
    }
    const { minute, hour, dayOfMonth, month, dayOfWeek } = result.fields;
    return { fields: { minute, hour, dayOfMonth, month, dayOfWeek } };
  },
};

/**
 * node-cron drives the schedules: one task per schedule, in the schedule's own time zone, fires its
 * run on time. Each minute every replica brings its tasks in step with the store (schedules made,
 * changed or deleted on any replica), and a sweep (one replica a minute) runs what no task fired for:
 * a time the clock skips at a DST change, a retry, a replica that just started. Both paths go through
 * the runner, whose per-occurrence claims start each occurrence once, whichever comes first.
 */
export function scheduleJobs(deps: { runner: ScheduleRunner; book: ScheduleBook; logger: Logger }) {
  const tasks = new Map<string, { signature: string; task: ScheduledTask }>();
  const log = deps.logger.child({ job: SCHEDULE_SWEEP_JOB_NAME });

  const taskFor = (schedule: ScheduleRecord) =>
    cron.createTask(timingCron(schedule.timing), () => deps.runner.runOne(schedule.id), {
      name: `schedule-${schedule.id}`,
      timezone: schedule.timing.timeZone,
      noOverlap: true,
      logger: {
        info: (message) => log.debug(message),
        warn: (message) => log.warn(message),
        error: (message, err) => log.error(String(message), { error: err }),
        debug: (message) => log.debug(String(message)),
      },
    });

  /** One task per schedule that can run, rebuilt when its timing changes, destroyed when it is gone. */
  let stopped = false;
  const sync = async () => {
    const listed = await deps.book.list();
    // A sync that was reading the store when the bot stopped must not leave tasks behind.
    if (stopped) return;
    const wanted = new Map<string, ScheduleRecord>();
    for (const schedule of listed) if (!schedule.paused) wanted.set(schedule.id, schedule);
    for (const [id, held] of tasks) {
      const schedule = wanted.get(id);
      if (schedule && `${timingCron(schedule.timing)}|${schedule.timing.timeZone}` === held.signature)
        continue;
      await held.task.destroy();
      tasks.delete(id);
    }
    for (const [id, schedule] of wanted) {
      if (tasks.has(id)) continue;
      const task = taskFor(schedule);
      task.start();
      tasks.set(id, { signature: `${timingCron(schedule.timing)}|${schedule.timing.timeZone}`, task });
    }
  };

  const job: Job = {
    name: SCHEDULE_SWEEP_JOB_NAME,
    cron: "* * * * *",
    timezone: "UTC",
    run: () => deps.runner.runDue(),
  };
  // Every replica keeps its own tasks in step; the sweep (one replica a minute) runs what is due.
  const syncTask = cron.createTask(
    "* * * * *",
    () => sync().catch((error) => log.warn("schedule tasks not synced", { error })),
    {
      name: "schedule-tasks",
      timezone: "UTC",
      noOverlap: true,
    },
  );
  return {
    job,
    /** At start: tasks for every schedule, then the most recent missed run of each (SCHEDULE_CATCH_UP). */
    async start() {
      await sync();
      if (stopped) return;
      syncTask.start();
      await deps.runner.catchUp();
      log.info("schedules started", { tasks: tasks.size });
    },
    async stop() {
      stopped = true;
      await syncTask.destroy();
      await Promise.all([...tasks.values()].map(async ({ task }) => task.destroy()));
      tasks.clear();
    },
  };
}
