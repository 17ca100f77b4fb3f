import type { KeyValueStore, Logger } from "../ports.js";
import { SCHEDULE_BUCKETS, type WatchRecord, type WatchRecords } from "./record.js";

const ADDED = "watch-added";

/**
 * scanId -> nextPollAt for every live watch, with a binary min-heap so a tick pops the due ones in
 * O(k log n) instead of loading the whole namespace. Stale heap entries are skipped lazily. The heap is
 * two parallel arrays (times as unboxed doubles, IDs) rather than an object per entry: no allocation per
 * reschedule, and a sift reads adjacent numbers instead of chasing pointers (a tick at 10,000 scans
 * reschedules about a thousand, npm run bench).
 */
export class DueIndex {
  private readonly at = new Map<string, number>();
  private heapAt: number[] = [];
  private heapId: string[] = [];

  get size(): number {
    return this.at.size;
  }

  set(id: string, at: number): void {
    if (this.at.get(id) === at) return;
    this.at.set(id, at);
    this.push(id, at);
    if (this.heapAt.length > 2 * this.at.size + 1024) this.compact();
  }

  delete(id: string): void {
    this.at.delete(id);
  }

  clear(): void {
    this.at.clear();
    this.heapAt = [];
    this.heapId = [];
  }

  /** Removes and returns the most overdue entry at or before `now`. */
  popDue(now: number): { id: string; at: number } | undefined {
    const heapAt = this.heapAt;
    const heapId = this.heapId;
    while (heapAt.length > 0) {
      const at = heapAt[0] as number;
      const id = heapId[0] as string;
      if (this.at.get(id) !== at) {
        this.pop();
        continue;
      }
      if (at > now) return undefined;
      this.pop();
      this.at.delete(id);
      return { id, at };
    }
    return undefined;
  }

  countDue(now: number): number {
    let count = 0;
    for (const at of this.at.values()) if (at <= now) count++;
    return count;
  }

  private compact(): void {
    const live = [...this.at].sort((a, b) => a[1] - b[1]);
    // A sorted array is a valid heap.
    this.heapId = live.map(([id]) => id);
    this.heapAt = live.map(([, at]) => at);
  }

  private push(id: string, at: number): void {
    const heapAt = this.heapAt;
    const heapId = this.heapId;
    let i = heapAt.length;
    heapAt.push(at);
    heapId.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heapAt[parent] as number;
      if (p <= at) break;
      heapAt[i] = p;
      heapId[i] = heapId[parent] as string;
      i = parent;
    }
    heapAt[i] = at;
    heapId[i] = id;
  }

  /** Removes the top entry. */
  private pop(): void {
    const heapAt = this.heapAt;
    const heapId = this.heapId;
    const lastAt = heapAt.pop() as number;
    const lastId = heapId.pop() as string;
    const n = heapAt.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && (heapAt[right] as number) < (heapAt[left] as number) ? right : left;
      const c = heapAt[child] as number;
      if (c >= lastAt) break;
      heapAt[i] = c;
      heapId[i] = heapId[child] as string;
      i = child;
    }
    heapAt[i] = lastAt;
    heapId[i] = lastId;
  }
}

/** Announcements are read back this many tick slots, for writers a little late or a clock a little off. */
const LOOKBACK_SLOTS = 4;

/**
 * Per store that only this process writes (KeyValueStore.exclusive): the due schedules over it. No other
 * process can hear an announcement there, so a new watch is put in the other schedules' indexes
 * directly and nothing is written (an announcement costs a claim and two keyv operations, and a memory
 * store keeps an expired one until it is read again: 10,000 of them at 10,000 scans, npm run bench).
 */
const LOCAL = new WeakMap<KeyValueStore, Set<WeakRef<DueSchedule>>>();

/**
 * The due index kept in step with the store without listing it on every tick:
 * - each live watch has a compact schedule record (record.ts, `watch-due-<bucket>`), written with every
 *   reschedule and removed when the watch ends;
 * - a new or resumed watch is announced under exact keys (`watch-added`, `<tick slot>:<n>`, first writer
 *   wins per key), which the other replicas read by key: a tick costs a few lookups plus one per new watch;
 * - as a safety net (a lost announcement), one bucket of schedule records is read back every
 *   resyncMs / 8, so the whole schedule is resynced every resyncMs, a slice at a time.
 * The full watch records are read only at start. Each popped entry is re-read before anything is done.
 * On a store only this process writes, announcements stay in the process (LOCAL).
 */
export class DueSchedule {
  readonly index = new DueIndex();
  /** Announcement slot -> next sequence number to read / to try writing. */
  private readonly readFrom = new Map<number, number>();
  private readonly writeFrom = new Map<number, number>();
  private lastSyncSlot = 0;
  private nextBucket = 0;
  private lastBucketAt = Number.NEGATIVE_INFINITY;
  private synced = false;
  /** The schedules of this process over the same exclusive store (this one included); undefined otherwise. */
  private readonly local: Set<WeakRef<DueSchedule>> | undefined;

  constructor(
    private readonly store: KeyValueStore,
    private readonly records: WatchRecords,
    private readonly log: Logger,
    private readonly resyncMs: number,
    private readonly tickMs: number,
  ) {
    if (!store.exclusive) return;
    this.local = LOCAL.get(store) ?? new Set();
    LOCAL.set(store, this.local);
    this.local.add(new WeakRef(this));
  }

  /**
   * Full rebuild from the watch records (start-up); schedule records missing for live watches (a store
   * written before they existed) are added. Returns the records read.
   */
  async rebuild(now: number): Promise<Array<[string, WatchRecord]>> {
    const entries = await this.records.entries();
    this.index.clear();
    const known = new Set<string>();
    for (let bucket = 0; bucket < SCHEDULE_BUCKETS; bucket++) {
      for (const [id] of await this.records.schedules(bucket)) known.add(id);
    }
    for (const [id, watch] of entries) {
      if (watch.phase === "ended") continue;
      this.index.set(id, watch.nextPollAt);
      if (!known.has(id)) await this.records.saveSchedule(watch);
    }
    this.readFrom.clear();
    this.lastSyncSlot = this.slotOf(now);
    this.lastBucketAt = now;
    this.synced = true;
    return entries;
  }

  /** Before each tick: announcements of the last slots, and one resync slice when its turn has come. */
  async sync(now: number): Promise<void> {
    if (!this.synced) {
      await this.rebuild(now);
      this.log.debug("watch index rebuilt", { active: this.index.size });
      return;
    }
    const current = this.slotOf(now);
    if (current - this.lastSyncSlot > this.announcementTtlMs() / this.tickMs / 2) {
      // This replica has not ticked for so long that announcements may have expired unread.
      await this.rebuild(now);
      this.log.debug("watch index rebuilt after a long pause", { active: this.index.size });
      return;
    }
    // Every slot since this replica's last tick (cron runs each slot on one replica only), and a few more.
    const from = Math.min(this.lastSyncSlot, current) - LOOKBACK_SLOTS;
    this.lastSyncSlot = current;
    // On a store only this process writes, announcements never reach the store (announce).
    if (!this.local) await this.readAnnouncements(from, current);
    if (now - this.lastBucketAt >= this.resyncMs / SCHEDULE_BUCKETS) {
      const bucket = this.nextBucket;
      this.nextBucket = (bucket + 1) % SCHEDULE_BUCKETS;
      this.lastBucketAt = now;
      for (const [id, at] of await this.records.schedules(bucket)) this.index.set(id, at);
    }
  }

  /** The announcements of slots from..current not read yet (other replicas' new watches). */
  private async readAnnouncements(from: number, current: number): Promise<void> {
    for (const slot of [...this.readFrom.keys()]) if (slot < from) this.readFrom.delete(slot);
    for (let slot = from; slot <= current; slot++) {
      let n = this.readFrom.get(slot) ?? 0;
      for (;;) {
        const entry = await this.store.get<[string, number]>(ADDED, `${slot}:${n}`);
        if (!entry) break;
        this.index.set(entry[0], entry[1]);
        n++;
      }
      this.readFrom.set(slot, n);
    }
  }

  /** A watch (re)scheduled at watch.nextPollAt: the local index and its schedule record. */
  async track(watch: WatchRecord): Promise<void> {
    this.index.set(watch.scanId, watch.nextPollAt);
    await this.records.saveSchedule(watch);
  }

  /** A watch that ended. */
  async untrack(scanId: string): Promise<void> {
    this.index.delete(scanId);
    await this.records.dropSchedule(scanId);
  }

  /** Tells the other replicas about a new (or resumed) watch, so they need no full reload for it. */
  async announce(watch: WatchRecord): Promise<void> {
    if (this.local) {
      for (const ref of this.local) {
        const peer = ref.deref();
        if (!peer) this.local.delete(ref);
        else if (peer !== this) peer.index.set(watch.scanId, watch.nextPollAt);
      }
      return;
    }
    const ttl = this.announcementTtlMs();
    const slot = this.slotOf(watch.updatedAt);
    for (const old of [...this.writeFrom.keys()]) if (old < slot - LOOKBACK_SLOTS) this.writeFrom.delete(old);
    try {
      // Other replicas may have taken the next numbers of this slot: move on to the first free one.
      for (let n = this.writeFrom.get(slot) ?? 0; ; n++) {
        if (await this.store.add(ADDED, `${slot}:${n}`, [watch.scanId, watch.nextPollAt], ttl)) {
          this.writeFrom.set(slot, n + 1);
          return;
        }
      }
    } catch (error) {
      this.log.warn("new watch not announced; other replicas see it at their next resync", {
        scanId: watch.scanId,
        error,
      });
    }
  }

  private announcementTtlMs(): number {
    return Math.max(2 * this.resyncMs, 10 * 60_000);
  }

  private slotOf(at: number): number {
    return Math.floor(at / this.tickMs);
  }
}
