import { AppError } from "../domain/errors.js";
import type { ScanWatcher } from "../domain/watch/index.js";
import type { Job } from "./index.js";

/** Job name: replicas agree on each tick's slot through it (store-backed run coordinator). */
export const WATCHER_JOB_NAME = "scan-watcher";
export const DEFAULT_TICK_SECONDS = 15;

/** The cron expression for a tick period: seconds dividing 60, or whole minutes dividing 60. */
export function watcherCron(tickMs: number): string {
  const seconds = tickMs / 1000;
  if (Number.isInteger(seconds) && seconds >= 1 && seconds < 60 && 60 % seconds === 0) {
    return `*/${seconds} * * * * *`;
  }
  const minutes = seconds / 60;
  if (Number.isInteger(minutes) && minutes >= 1 && minutes <= 60 && 60 % minutes === 0) {
    return minutes === 1 ? "* * * * *" : `*/${minutes} * * * *`;
  }
  throw new AppError(
    "config",
    `The scan watcher tick must divide a minute or an hour evenly (e.g. 5, 10, 15, 30 s); got ${seconds} s.`,
  );
}

/** The scheduler job: node-cron with noOverlap, one replica per slot; each run is one tick. */
export function watcherJob(watcher: Pick<ScanWatcher, "tick" | "options">): Job {
  return {
    name: WATCHER_JOB_NAME,
    cron: watcherCron(watcher.options.tickMs),
    timezone: "UTC",
    run: async () => {
      await watcher.tick();
    },
  };
}
