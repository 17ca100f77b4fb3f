import type { Leases } from "../domain/ports.js";

/**
 * Claims: the one atomic operation the bot needs that keyv lacks. `claim` returns true for exactly one
 * caller per key until the claim expires or is released; each backend uses its own atomic primitive.
 * A claim may name its holder: `renew` and `release` with a holder then act only while that holder
 * still has it, so a holder that lost its claim (expired, taken over) cannot extend or drop the next
 * holder's. Without a holder, `release` is unconditional (store `add`/`delete`).
 */
export interface Claims {
  claim(key: string, ttlMs?: number, holder?: string): Promise<boolean>;
  /** Extends the claim to ttlMs from now; false when `holder` no longer has it. */
  renew(key: string, holder: string, ttlMs: number): Promise<boolean>;
  release(key: string, holder?: string): Promise<void>;
}

/**
 * Leases as claims under `prefix`, each operation through `run` (timeout, health, store errors).
 * In-process claims (memory, SQLite) cannot fail or hang, so they skip it: the watcher takes and frees
 * one per poll (npm run bench).
 */
export function leasesOf(
  claims: Claims,
  prefix: string,
  run: <T>(operation: string, fn: () => Promise<T>) => Promise<T>,
): Leases {
  const through: typeof run = claims instanceof MemoryClaims ? (_operation, fn) => fn() : run;
  return {
    acquire: (key, holder, ttlMs) => through("lease", () => claims.claim(`${prefix}${key}`, ttlMs, holder)),
    renew: (key, holder, ttlMs) =>
      through("lease renew", () => claims.renew(`${prefix}${key}`, holder, ttlMs)),
    release: (key, holder) => through("lease release", () => claims.release(`${prefix}${key}`, holder)),
  };
}

const ANY = "1";

/** In-process claims: correct for the memory store and for SQLite, which serves one bot process. */
export class MemoryClaims implements Claims {
  private readonly held = new Map<string, { holder: string; expires: number }>();
  private nextSweep = 0;

  /** Drops expired claims now and then, so short-lived claims (polls, clicks) do not pile up. */
  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + 60_000;
    for (const [key, { expires }] of this.held) if (expires <= now) this.held.delete(key);
  }

  private live(key: string, now: number): { holder: string; expires: number } | undefined {
    const claim = this.held.get(key);
    return claim && claim.expires > now ? claim : undefined;
  }

  async claim(key: string, ttlMs?: number, holder = ANY): Promise<boolean> {
    const now = Date.now();
    this.sweep(now);
    if (this.live(key, now)) return false;
    this.held.set(key, { holder, expires: ttlMs === undefined ? Number.POSITIVE_INFINITY : now + ttlMs });
    return true;
  }

  async renew(key: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const claim = this.live(key, now);
    if (claim?.holder !== holder) return false;
    claim.expires = now + ttlMs;
    return true;
  }

  async release(key: string, holder?: string): Promise<void> {
    if (holder === undefined || this.held.get(key)?.holder === holder) this.held.delete(key);
  }
}

interface RedisLike {
  set(key: string, value: string, options: object): Promise<unknown>;
  del(key: string): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

// Compare-and-act scripts: Redis runs a script atomically (https://redis.io/docs/latest/develop/use/patterns/distributed-locks/).
const RENEW = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

export class RedisClaims implements Claims {
  constructor(private readonly client: () => Promise<unknown>) {}

  private async redis(): Promise<RedisLike> {
    return (await this.client()) as RedisLike;
  }

  async claim(key: string, ttlMs?: number, holder = ANY): Promise<boolean> {
    const options =
      ttlMs === undefined
        ? { condition: "NX" }
        : { condition: "NX", expiration: { type: "PX", value: Math.max(1, Math.ceil(ttlMs)) } };
    const reply = await (await this.redis()).set(`claim:${key}`, holder, options);
    return reply === "OK";
  }

  async renew(key: string, holder: string, ttlMs: number): Promise<boolean> {
    const ttl = String(Math.max(1, Math.ceil(ttlMs)));
    const reply = await (await this.redis()).eval(RENEW, {
      keys: [`claim:${key}`],
      arguments: [holder, ttl],
    });
    return reply === 1;
  }

  async release(key: string, holder?: string): Promise<void> {
    const redis = await this.redis();
    if (holder === undefined) await redis.del(`claim:${key}`);
    else await redis.eval(RELEASE, { keys: [`claim:${key}`], arguments: [holder] });
  }
}

type Query = (sql: string, values?: unknown[]) => Promise<unknown[]>;

/**
 * IF NOT EXISTS does not make DDL safe against a concurrent twin: when several replicas start on an
 * empty database at once, PostgreSQL creates the table for one and fails the others with a unique
 * violation on its catalog (23505), a duplicate table/column (42P07, 42701) or a duplicate row type
 * (42710, "type … already exists"), after the winner
 * committed (error codes: https://www.postgresql.org/docs/current/errcodes-appendix.html).
 * The object exists then, which is all the caller wanted. @keyv/postgres treats its own table the same way.
 */
function createdByAnyone(ddl: Promise<unknown>): Promise<unknown> {
  return ddl.catch((error: unknown) => {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "23505" || code === "42P07" || code === "42701" || code === "42710") return undefined;
    throw error;
  });
}

export class PostgresClaims implements Claims {
  private ready: Promise<unknown> | undefined;

  constructor(private readonly query: Query) {}

  private table(): Promise<unknown> {
    this.ready ??= createdByAnyone(
      this.query(
        "CREATE TABLE IF NOT EXISTS chatops_claims (key TEXT PRIMARY KEY, expires_at BIGINT, holder TEXT)",
      ),
    )
      // Tables from before holders existed.
      .then(() =>
        createdByAnyone(this.query("ALTER TABLE chatops_claims ADD COLUMN IF NOT EXISTS holder TEXT")),
      )
      .catch((error) => {
        this.ready = undefined;
        throw error;
      });
    return this.ready;
  }

  async claim(key: string, ttlMs?: number, holder = ANY): Promise<boolean> {
    await this.table();
    const now = Date.now();
    // One statement: insert, or take over an expired claim; RETURNING tells whether this caller won.
    const rows = await this.query(
      `INSERT INTO chatops_claims (key, expires_at, holder) VALUES ($1, $2, $4)
       ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at, holder = EXCLUDED.holder
       WHERE chatops_claims.expires_at IS NOT NULL AND chatops_claims.expires_at <= $3
       RETURNING key`,
      [key, ttlMs === undefined ? null : now + ttlMs, now, holder],
    );
    return rows.length === 1;
  }

  async renew(key: string, holder: string, ttlMs: number): Promise<boolean> {
    await this.table();
    const now = Date.now();
    const rows = await this.query(
      `UPDATE chatops_claims SET expires_at = $3
       WHERE key = $1 AND holder = $2 AND (expires_at IS NULL OR expires_at > $4)
       RETURNING key`,
      [key, holder, now + ttlMs, now],
    );
    return rows.length === 1;
  }

  async release(key: string, holder?: string): Promise<void> {
    await this.table();
    if (holder === undefined) await this.query("DELETE FROM chatops_claims WHERE key = $1", [key]);
    else await this.query("DELETE FROM chatops_claims WHERE key = $1 AND holder = $2", [key, holder]);
  }
}
