import type { Clock, KeyValueStore, Logger } from "../ports.js";

const META = "watch-meta";
const BUDGET = "budget";

/**
 * Sliding 60-second window over scanner requests, counted per second (a request counts for the
 * second it was made in and the 59 after, so the window is never undercounted). Its buckets are saved
 * in the store after each tick and loaded before the next, so the budget holds across replicas.
 */
export class RequestBudget {
  /** Per-second counts, oldest first (Map keeps insertion order; load() re-sorts). */
  private buckets = new Map<number, number>();
  private sum = 0;
  private last = Number.NEGATIVE_INFINITY;

  constructor(readonly perMinute: number) {}

  used(now: number): number {
    const oldest = Math.floor(now / 1000) - 59;
    for (const [second, count] of this.buckets) {
      if (second >= oldest) break;
      this.buckets.delete(second);
      this.sum -= count;
    }
    return this.sum;
  }

  tryTake(now: number): boolean {
    if (this.used(now) >= this.perMinute) return false;
    const second = Math.floor(now / 1000);
    if (second < this.last) {
      // A clock that went back: keep the order.
      this.load([[second, (this.buckets.get(second) ?? 0) + 1]]);
      return true;
    }
    this.buckets.set(second, (this.buckets.get(second) ?? 0) + 1);
    this.sum++;
    this.last = second;
    return true;
  }

  /** Merges a stored snapshot (per-second maximum, so nothing is counted twice or lost). */
  load(snapshot: ReadonlyArray<readonly [number, number]>): void {
    const merged = new Map(this.buckets);
    for (const [second, count] of snapshot) merged.set(second, Math.max(count, merged.get(second) ?? 0));
    this.buckets = new Map([...merged].sort((a, b) => a[0] - b[0]));
    this.sum = [...this.buckets.values()].reduce((a, b) => a + b, 0);
    this.last = Math.max(this.last, ...this.buckets.keys());
  }

  snapshot(now: number): Array<[number, number]> {
    this.used(now);
    return [...this.buckets];
  }
}

/** The budget shared by the replicas through the store: loaded before a tick, saved after it. */
export class BudgetLedger {
  constructor(
    private readonly store: KeyValueStore,
    private readonly log: Logger,
  ) {}

  async load(budget: RequestBudget): Promise<void> {
    try {
      const stored = await this.store.get<Array<[number, number]>>(META, BUDGET);
      if (stored) budget.load(stored);
    } catch (error) {
      this.log.warn("request budget ledger could not be read; using this instance's own", { error });
    }
  }

  async save(budget: RequestBudget, now: number): Promise<void> {
    try {
      await this.store.set(META, BUDGET, budget.snapshot(now), 5 * 60_000);
    } catch (error) {
      this.log.warn("request budget ledger could not be saved", { error });
    }
  }
}

/**
 * One tick's share of the minute budget: ceil(perMinute × tick / 60 s) requests, and none once the
 * sliding window is full. Once refused, the rest of the tick is refused too (exhausted).
 */
export class TickAllowance {
  private share: number;
  exhausted = false;

  constructor(
    private readonly budget: RequestBudget,
    private readonly clock: Clock,
    tickMs: number,
  ) {
    this.share = Math.max(1, Math.ceil((budget.perMinute * tickMs) / 60_000));
  }

  take(): boolean {
    if (this.exhausted) return false;
    if (this.share <= 0 || !this.budget.tryTake(this.clock.now())) {
      this.exhausted = true;
      return false;
    }
    this.share--;
    return true;
  }
}
