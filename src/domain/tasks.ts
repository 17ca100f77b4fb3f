import type { Logger } from "./ports.js";

/**
 * Work that continues after Slack has been acknowledged. Tracked so that shutdown can wait for it
 * instead of cutting a scanner call or a reply in half.
 */
export class BackgroundTasks {
  private readonly running = new Set<Promise<void>>();
  private accepting = true;

  constructor(private readonly logger: Logger) {}

  get size(): number {
    return this.running.size;
  }

  /** Starts `work` now; failures are logged with `label` (callers report user-facing errors themselves). */
  run(label: string, work: () => Promise<void>): boolean {
    if (!this.accepting) {
      this.logger.warn("refused background work during shutdown", { task: label });
      return false;
    }
    const task = work()
      .catch((error: unknown) => this.logger.error("background task failed", { task: label, error }))
      .finally(() => this.running.delete(task));
    this.running.add(task);
    return true;
  }

  /** Stops accepting work and waits for what runs, at most `timeoutMs`; returns how many were unfinished. */
  async drain(timeoutMs: number): Promise<number> {
    this.accepting = false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.allSettled([...this.running]), timeout]);
    clearTimeout(timer);
    return this.running.size;
  }
}
