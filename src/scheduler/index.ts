import cron, { type RunCoordinator, type ScheduledTask } from "node-cron";
import type { KeyValueStore, Logger } from "../domain/ports.js";

export interface Job {
  /** Unique across the deployment: replicas agree on a run through it. */
  name: string;
  /** Cron expression (5 fields, or 6 with seconds). */
  cron: string;
  timezone?: string;
  run(): Promise<void>;
}

export interface Scheduler {
  stop(): Promise<void>;
}

/** Returns a readable problem for a bad cron expression, or undefined when it is valid. */
export function cronProblem(expression: string): string | undefined {
  const result = cron.validateDetailed(expression);
  if (result.valid) return undefined;
  return result.errors.map((e) => `${e.field}: ${e.message}`).join("; ") || "not a cron expression";
}

/**
 * node-cron's distributed mode asks a coordinator before each scheduled slot; ours lets exactly one
 * replica claim a slot through the shared store's atomic add. A store failure skips the slot
 * (node-cron fails closed) and is logged; the next slot tries again.
 */
export function storeCoordinator(store: KeyValueStore): RunCoordinator {
  return {
    shouldRun: (key, ttlMs) => store.add("cron-slots", key, { at: Date.now() }, ttlMs),
  };
}

export function startScheduler(jobs: Job[], deps: { store: KeyValueStore; logger: Logger }): Scheduler {
  const runCoordinator = storeCoordinator(deps.store);
  const tasks: ScheduledTask[] = jobs.map((job) => {
    const log = deps.logger.child({ job: job.name });
    const task = cron.createTask(
      job.cron,
      async () => {
        try {
          await job.run();
        } catch (error) {
          log.error("scheduled job failed", { error });
        }
      },
      {
        name: job.name,
        timezone: job.timezone ?? "UTC",
        noOverlap: true,
        distributed: true,
        runCoordinator,
        logger: {
          info: (message) => log.debug(message),
          warn: (message) => log.warn(message),
          error: (message, err) => log.error(String(message), { error: err }),
          debug: (message) => log.debug(String(message)),
        },
      },
    );
    task.on("execution:overlap", () => log.warn("previous run still busy; this slot is skipped"));
    // In an outage every slot meets it (each second for the outbox): one warning, then a count that is
    // reported once a slot is decided again.
    let skipped = 0;
    const decided = () => {
      if (skipped === 0) return;
      log.info("the store answers again; slots were skipped meanwhile", { skipped });
      skipped = 0;
    };
    task.on("execution:skipped", (context) => {
      if (context.reason !== "coordinator-error") return decided();
      if (skipped++ === 0)
        log.warn("slot skipped: the store did not answer; later ones are counted until it does");
    });
    task.on("execution:started", decided);
    task.start();
    return task;
  });
  return {
    async stop() {
      await Promise.all(tasks.map(async (task) => task.destroy()));
    },
  };
}
