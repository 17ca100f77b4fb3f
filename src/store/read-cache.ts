import type { KeyvStoreAdapter } from "keyv";

/**
 * Reads served from memory for a store only this process writes (SQLite: one process per file, see
 * sqlite-lock.ts). Every write still goes to the backend first; the cache keeps the serialized value
 * keyv wrote or read (so each get still parses a fresh object, and keyv's own expiry check still runs on
 * it), and knowing that a key is absent is kept too. A command that reads three records then costs
 * no SQLite round trip once they are known (each is a query through node-sqlite3's thread pool).
 */

const ABSENT = Symbol("absent");
type Cached = string | typeof ABSENT;

/** Values up to this many characters (schedule records, claims' keys, small settings) are kept apart. */
const SMALL_VALUE_CHARS = 256;

/** Entries kept within a budget of characters, the oldest first to go. */
class Pool {
  readonly values = new Map<string, Cached>();
  chars = 0;

  constructor(readonly maxChars: number) {}

  clear(): void {
    this.values.clear();
    this.chars = 0;
  }

  delete(key: string): void {
    const old = this.values.get(key);
    if (old === undefined) return;
    this.values.delete(key);
    this.chars -= weight(key, old);
  }

  put(key: string, value: Cached, added: number): void {
    if (added > this.maxChars) return;
    this.values.set(key, value);
    this.chars += added;
    if (this.chars <= this.maxChars) return;
    // The oldest go, down to 90 % of the budget at once: a Map walk from its start steps over every
    // entry deleted since its last rehash, so evicting one entry per put made each put a long walk.
    const target = this.maxChars * 0.9;
    for (const [oldest, old] of this.values) {
      if (this.chars <= target) break;
      this.values.delete(oldest);
      this.chars -= weight(oldest, old);
    }
  }
}

/**
 * One per store: every namespace's adapter shares the budget. Small values have their own share of
 * it, so that the big records a burst of changes reads (watches, scans) do not push out the small ones
 * read on every poll (at 10,000 watched scans the big ones alone are more than the budget).
 */
export class ReadCache {
  private readonly large: Pool;
  private readonly small: Pool;
  /** Reads under way per key; a write in between makes their answer too old to keep. */
  private readonly reading = new Map<string, object>();

  /** Budgets in serialized characters, for values over SMALL_VALUE_CHARS and for the others. */
  constructor(maxChars = 4_000_000, smallMaxChars = 2_000_000) {
    this.large = new Pool(maxChars);
    this.small = new Pool(smallMaxChars);
  }

  get size(): number {
    return this.large.values.size + this.small.values.size;
  }

  lookup(key: string): Cached | undefined {
    return this.small.values.get(key) ?? this.large.values.get(key);
  }

  /** A read of the backend begins; pass the token to `learned` with its answer. */
  begin(key: string): object {
    const token = {};
    this.reading.set(key, token);
    return token;
  }

  /** What the backend answered a read begun with `token`, kept unless the key was written since. */
  learned(key: string, token: object, value: unknown): void {
    if (this.reading.get(key) !== token) return;
    this.reading.delete(key);
    this.put(key, typeof value === "string" ? value : ABSENT);
  }

  /** The backend has the new value (or, with undefined, none). */
  wrote(key: string, value: string | undefined): void {
    this.reading.delete(key);
    this.put(key, value ?? ABSENT);
  }

  /** Before a write: until it succeeds, nothing about the key is known. */
  forget(key: string): void {
    this.reading.delete(key);
    this.small.delete(key);
    this.large.delete(key);
  }

  clear(): void {
    this.small.clear();
    this.large.clear();
    this.reading.clear();
  }

  private put(key: string, value: Cached): void {
    this.small.delete(key);
    this.large.delete(key);
    const added = weight(key, value);
    (added - key.length <= SMALL_VALUE_CHARS ? this.small : this.large).put(key, value, added);
  }
}

function weight(key: string, value: Cached): number {
  return key.length + (value === ABSENT ? 0 : value.length);
}

/** Listings kept only for small namespaces; the large ones (audit, watches) are listed rarely. */
const LISTING_MAX_ROWS = 1000;
const LISTING_MAX_CHARS = 1_000_000;

/**
 * One namespace's keyv storage adapter over `inner`, which every namespace may share (keyv prefixes
 * each key with its namespace, and a listing here names its own), with reads answered from `cache`
 * when it knows the key. Only the single-key operations are offered, so keyv runs its many-key ones
 * through them.
 */
export class CachedReads implements KeyvStoreAdapter {
  /** Set by keyv to its namespace. */
  namespace: string | undefined;
  /** The namespace's last whole listing (raw rows), while no write has come since. */
  private listing: Array<[string, unknown]> | undefined;
  /** Moves on each write's start and end: a listing that saw one under way is not kept. */
  private writes = 0;

  constructor(
    private readonly inner: KeyvStoreAdapter,
    private readonly cache: ReadCache,
  ) {}

  // keyv reads its adapter's options (to know it can be iterated).
  get opts(): unknown {
    return this.inner.opts;
  }

  // The store listens to the shared backend's errors once; a namespace adds nothing.
  on(_event: string, _listener: (...args: unknown[]) => void): this {
    return this;
  }

  // biome-ignore lint/suspicious/noExplicitAny: keyv's own adapter signature.
  async get(key: string): Promise<any> {
    const known = this.cache.lookup(key);
    if (known !== undefined) return known === ABSENT ? undefined : known;
    const token = this.cache.begin(key);
    const value = await this.inner.get(key);
    this.cache.learned(key, token, value);
    return value;
  }

  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  async set(key: string, value: unknown, ttl?: number): Promise<unknown> {
    this.cache.forget(key);
    this.written();
    try {
      const result = await this.inner.set(key, value, ttl);
      this.cache.wrote(key, typeof value === "string" ? value : undefined);
      return result;
    } finally {
      this.written();
    }
  }

  async delete(key: string): Promise<boolean> {
    this.cache.forget(key);
    this.written();
    try {
      const existed = await this.inner.delete(key);
      this.cache.wrote(key, undefined);
      return existed;
    } finally {
      this.written();
    }
  }

  private written(): void {
    this.writes++;
    this.listing = undefined;
  }

  /** This namespace's keys only (the backend's own clear would empty every namespace it holds). */
  async clear(): Promise<void> {
    const keys: string[] = [];
    for await (const [key] of this.iterator()) if (typeof key === "string") keys.push(key);
    // The backend lists its own (namespaced) keys.
    for (const key of keys) await this.delete(key);
  }

  /**
   * A listing reads the backend, which has every write; a small namespace's (projects, subscriptions,
   * schedules: `projects` lists it on every command) is kept until its next write. keyv still checks
   * each row's expiry as it reads it, and deletes what ran out, which drops the kept listing.
   */
  async *iterator<Value>(
    namespace = this.namespace,
  ): AsyncGenerator<Array<string | Awaited<Value> | undefined>, void> {
    if (!this.inner.iterator) throw new Error("the adapter cannot list");
    const kept = namespace === this.namespace ? this.listing : undefined;
    if (kept) {
      for (const row of kept) yield row as Array<string | Awaited<Value> | undefined>;
      return;
    }
    const since = this.writes;
    const rows: Array<[string, unknown]> = [];
    let chars = 0;
    let small = namespace === this.namespace;
    for await (const row of this.inner.iterator<Value>(namespace)) {
      const [key, raw] = row;
      if (small && typeof key === "string" && typeof raw === "string") {
        chars += key.length + raw.length;
        rows.push([key, raw]);
        small = rows.length <= LISTING_MAX_ROWS && chars <= LISTING_MAX_CHARS;
      } else small = false;
      yield row;
    }
    if (small && since === this.writes) this.listing = rows;
  }

  async disconnect(): Promise<void> {
    await this.inner.disconnect?.();
  }
}
