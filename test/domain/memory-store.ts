import { AppError } from "../../src/domain/errors.js";
import type { Clock, KeyValueStore, Leases } from "../../src/domain/ports.js";

type Operation = "get" | "set" | "add" | "delete" | "entries";

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private current: number) {}
  now(): number {
    return this.current;
  }
  set(epochMs: number): void {
    this.current = epochMs;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

/**
 * In-memory KeyValueStore for tests, with TTLs measured on the given clock. Values are copied through
 * JSON, like a real backend, so callers cannot mutate what is stored.
 */
export class MemoryStore implements KeyValueStore {
  private readonly data = new Map<string, { json: string; expiresAt: number | undefined }>();
  private readonly failures: Array<{ operation: Operation; namespace: string | undefined }> = [];

  constructor(private readonly clock: Clock) {}

  private live(key: string): string | undefined {
    const entry = this.data.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.clock.now()) {
      this.data.delete(key);
      return undefined;
    }
    return entry.json;
  }

  /** Makes the next `operation` (in `namespace`, if given) fail, to simulate a backend outage. */
  failOnce(operation: Operation, namespace?: string): void {
    this.failures.push({ operation, namespace });
  }

  private fail(operation: Operation, namespace: string): void {
    const index = this.failures.findIndex(
      (failure) => failure.operation === operation && (failure.namespace ?? namespace) === namespace,
    );
    if (index === -1) return;
    this.failures.splice(index, 1);
    throw new AppError("store", "The store is unavailable.", {
      detail: `store ${operation} ${namespace} failed`,
    });
  }

  private write(key: string, value: unknown, ttlMs?: number): void {
    this.data.set(key, {
      json: JSON.stringify(value),
      expiresAt: ttlMs === undefined ? undefined : this.clock.now() + ttlMs,
    });
  }

  async get<T>(namespace: string, key: string): Promise<T | undefined> {
    this.fail("get", namespace);
    const json = this.live(`${namespace}\u0000${key}`);
    return json === undefined ? undefined : (JSON.parse(json) as T);
  }

  async set<T>(namespace: string, key: string, value: T, ttlMs?: number): Promise<void> {
    this.fail("set", namespace);
    this.write(`${namespace}\u0000${key}`, value, ttlMs);
  }

  async add<T>(namespace: string, key: string, value: T, ttlMs?: number): Promise<boolean> {
    this.fail("add", namespace);
    const full = `${namespace}\u0000${key}`;
    if (this.live(full) !== undefined) return false;
    this.write(full, value, ttlMs);
    return true;
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    this.fail("delete", namespace);
    const full = `${namespace}\u0000${key}`;
    const existed = this.live(full) !== undefined;
    this.data.delete(full);
    return existed;
  }

  async entries<T>(namespace: string): Promise<Array<[string, T]>> {
    this.fail("entries", namespace);
    const prefix = `${namespace}\u0000`;
    const out: Array<[string, T]> = [];
    for (const full of [...this.data.keys()]) {
      if (!full.startsWith(prefix)) continue;
      const json = this.live(full);
      if (json !== undefined) out.push([full.slice(prefix.length), JSON.parse(json) as T]);
    }
    return out;
  }

  /** Leases on the same clock, kept apart from the namespaces. */
  readonly leases: Leases = {
    acquire: async (key, holder, ttlMs) => {
      if (this.live(`\u0001${key}`) !== undefined) return false;
      this.write(`\u0001${key}`, holder, ttlMs);
      return true;
    },
    renew: async (key, holder, ttlMs) => {
      if (this.live(`\u0001${key}`) !== JSON.stringify(holder)) return false;
      this.write(`\u0001${key}`, holder, ttlMs);
      return true;
    },
    release: async (key, holder) => {
      if (this.live(`\u0001${key}`) === JSON.stringify(holder)) this.data.delete(`\u0001${key}`);
    },
  };

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
