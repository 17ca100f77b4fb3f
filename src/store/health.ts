import type { KeyValueStore } from "../domain/ports.js";

/**
 * Whether the store answers, as a replica sees it: one "unreachable" when it stops answering and one
 * "back" when it answers again, however many operations and backend error events happen in between
 * (a Redis client emits an error per namespace and per reconnect attempt).
 */

export type StoreHealthChange = { state: "unreachable"; error: unknown } | { state: "back"; downMs: number };

/**
 * Rejects after `ms` with a plain Error; the operation itself goes on and its result is dropped. The
 * rejection waits for the event loop's next check phase (setImmediate), after its I/O: when the process
 * itself stalled past `ms` (a busy CPU, a module compiled on first use), an answer that arrived during
 * the stall still wins over the timer that fired with it.
 */
export async function within<T>(ms: number | undefined, operation: string, work: Promise<T>): Promise<T> {
  if (ms === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => setImmediate(() => reject(new Error(`no answer within ${ms} ms (${operation})`))),
      ms,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class StoreHealth {
  private downSince: number | undefined;
  private confirming = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    /** A cheap round trip to the backend, bounded in time; it must not go through `succeeded`/`failed`. */
    private readonly probe: () => Promise<void>,
    private readonly report: (change: StoreHealthChange) => void,
    private readonly probeEveryMs = 2000,
  ) {}

  get down(): boolean {
    return this.downSince !== undefined;
  }

  /** An operation answered: the store is there. */
  succeeded(): void {
    if (this.downSince === undefined) return;
    const downMs = Date.now() - this.downSince;
    this.downSince = undefined;
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    if (!this.closed) this.report({ state: "back", downMs });
  }

  /**
   * An operation failed or the backend reported an error. A failure alone may be the operation's own
   * (a bad value); the store counts as unreachable once a probe fails too.
   */
  failed(error: unknown): void {
    if (this.down || this.confirming || this.closed) return;
    this.confirming = true;
    this.probe().then(
      () => {
        this.confirming = false;
      },
      () => {
        this.confirming = false;
        if (this.down || this.closed) return;
        this.downSince = Date.now();
        this.report({ state: "unreachable", error });
        this.scheduleProbe();
      },
    );
  }

  /** While down, probe on a timer so "back" is said even when nothing else uses the store. */
  private scheduleProbe(): void {
    this.probeTimer = setTimeout(() => {
      if (!this.down || this.closed) return;
      this.probe().then(
        () => this.succeeded(),
        () => this.scheduleProbe(),
      );
    }, this.probeEveryMs);
    this.probeTimer.unref();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.probeTimer);
  }
}

/**
 * The health check of a store (GET /healthz): a store that hangs (network cut) still gives a prompt
 * answer, "timeout", instead of a hanging check.
 */
export function storeHealth(store: Pick<KeyValueStore, "ping">, timeoutMs = 2000) {
  return async (): Promise<{ ok: boolean; checks: { store: "ok" | "timeout" | "unreachable" } }> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    try {
      const state = await Promise.race([store.ping().then(() => "ok" as const), timeout]);
      return { ok: state === "ok", checks: { store: state } };
    } catch {
      return { ok: false, checks: { store: "unreachable" } };
    } finally {
      clearTimeout(timer);
    }
  };
}
