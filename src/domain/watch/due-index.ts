import type { KeyValueStore, Logger } from "../ports.js";
import type { WatchRecord, WatchRecords } from "./record.js";

const ADDED = "watch-added";

/**
 * scanId -> nextPollAt for every live watch, with a binary min-heap so a tick pops the due ones in
 * O(k log n) instead of loading the whole namespace. Stale heap entries are skipped lazily.
 */
export class DueIndex {
  private readonly at = new Map<string, number>();
  private heap: Array<{ at: number; id: string }> = [];

  get size(): number {
    return this.at.size;
  }

  set(id: string, at: number): void {
    if (this.at.get(id) === at) return;
    this.at.set(id, at);
    this.push({ at, id });
    if (this.heap.length > 2 * this.at.size + 1024) this.compact();
  }

  delete(id: string): void {
    this.at.delete(id);
  }

  clear(): void {
    this.at.clear();
    this.heap = [];
  }

  /** Removes and returns the most overdue entry at or before `now`. */
  popDue(now: number): { id: string; at: number } | undefined {
    for (;;) {
      const top = this.heap[0];
      if (!top) return undefined;
      if (this.at.get(top.id) !== top.at) {
        this.pop();
        continue;
      }
      if (top.at > now) return undefined;
      this.pop();
      this.at.delete(top.id);
      return top;
    }
  }

  countDue(now: number): number {
    let count = 0;
    for (const at of this.at.values()) if (at <= now) count++;
    return count;
  }

  private compact(): void {
    this.heap = [...this.at].map(([id, at]) => ({ id, at })).sort((a, b) => a.at - b.at);
  }

  private push(item: { at: number; id: string }): void {
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as { at: number; id: string };
      if (p.at <= item.at) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = item;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (!last || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const l = heap[left] as { at: number; id: string };
      const r = heap[right];
      const child = r && r.at < l.at ? right : left;
      const c = heap[child] as { at: number; id: string };
      if (c.at >= last.at) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
  }
}

/**
 * The due index kept in step with the store. It is a cache: rebuilt from the store at start and
 * every resyncMs, and fed in between with the watches other replicas add (`watch-added`, one
 * short-lived key per watch created or resumed); each popped entry is re-read from the store before
 * anything is done.
 */
export class DueSchedule {
  readonly index = new DueIndex();
  /** `watch-added` entries already applied to the index. */
  private readonly seenAdded = new Map<string, number>();
  private lastResync = Number.NEGATIVE_INFINITY;
  private synced = false;

  constructor(
    private readonly store: KeyValueStore,
    private readonly records: WatchRecords,
    private readonly log: Logger,
    private readonly resyncMs: number,
  ) {}

  /** Full rebuild; returns the records read (start-up counts their pending effects). */
  async rebuild(now: number): Promise<Array<[string, WatchRecord]>> {
    // Announcements first: their records were written before them, so the full read has them.
    const added = await this.store.entries<number>(ADDED);
    const entries = await this.records.entries();
    this.load(entries, now, added);
    return entries;
  }

  /**
   * Without loading the whole namespace each tick: a full rebuild at start and every resyncMs; in
   * between, only the small `watch-added` namespace.
   */
  async sync(now: number): Promise<void> {
    if (!this.synced || now - this.lastResync >= this.resyncMs) {
      await this.rebuild(now);
      this.log.debug("watch index rebuilt", { active: this.index.size });
      return;
    }
    const added = await this.store.entries<number>(ADDED);
    const current = new Set<string>();
    for (const [id, at] of added) {
      current.add(id);
      if (this.seenAdded.get(id) === at) continue;
      this.seenAdded.set(id, at);
      this.index.set(id, at);
    }
    for (const id of this.seenAdded.keys()) if (!current.has(id)) this.seenAdded.delete(id);
  }

  /** Tells the other replicas about a new (or resumed) watch, so they need no full reload for it. */
  async announce(watch: WatchRecord): Promise<void> {
    const ttl = Math.max(2 * this.resyncMs, 10 * 60_000);
    try {
      await this.store.set(ADDED, watch.scanId, watch.nextPollAt, ttl);
      this.seenAdded.set(watch.scanId, watch.nextPollAt);
    } catch (error) {
      this.log.warn("new watch not announced; other replicas see it at their next full resync", {
        scanId: watch.scanId,
        error,
      });
    }
  }

  private load(
    entries: ReadonlyArray<[string, WatchRecord]>,
    now: number,
    added: ReadonlyArray<[string, number]>,
  ): void {
    this.index.clear();
    for (const [id, watch] of entries) {
      if (watch.phase !== "ended") this.index.set(id, watch.nextPollAt);
    }
    this.seenAdded.clear();
    for (const [id, at] of added) this.seenAdded.set(id, at);
    this.lastResync = now;
    this.synced = true;
  }
}
