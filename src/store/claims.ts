/**
 * Claims: the one atomic operation the bot needs that keyv lacks. `claim` returns true for exactly one
 * caller per key until the claim expires or is released; each backend uses its own atomic primitive.
 */
export interface Claims {
  claim(key: string, ttlMs?: number): Promise<boolean>;
  release(key: string): Promise<void>;
}

/** In-process claims: correct for the memory store and for SQLite, which serves one bot process. */
export class MemoryClaims implements Claims {
  private readonly held = new Map<string, number>();
  private nextSweep = 0;

  /** Drops expired claims now and then, so short-lived claims (polls, clicks) do not pile up. */
  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + 60_000;
    for (const [key, expires] of this.held) if (expires <= now) this.held.delete(key);
  }

  async claim(key: string, ttlMs?: number): Promise<boolean> {
    const now = Date.now();
    this.sweep(now);
    const expires = this.held.get(key);
    if (expires !== undefined && expires > now) return false;
    this.held.set(key, ttlMs === undefined ? Number.POSITIVE_INFINITY : now + ttlMs);
    return true;
  }

  async release(key: string): Promise<void> {
    this.held.delete(key);
  }
}

interface RedisLike {
  set(key: string, value: string, options: object): Promise<unknown>;
  del(key: string): Promise<unknown>;
}

export class RedisClaims implements Claims {
  constructor(private readonly client: () => Promise<unknown>) {}

  private async redis(): Promise<RedisLike> {
    return (await this.client()) as RedisLike;
  }

  async claim(key: string, ttlMs?: number): Promise<boolean> {
    const options =
      ttlMs === undefined
        ? { condition: "NX" }
        : { condition: "NX", expiration: { type: "PX", value: Math.max(1, Math.ceil(ttlMs)) } };
    const reply = await (await this.redis()).set(`claim:${key}`, "1", options);
    return reply === "OK";
  }

  async release(key: string): Promise<void> {
    await (await this.redis()).del(`claim:${key}`);
  }
}

type Query = (sql: string, values?: unknown[]) => Promise<unknown[]>;

export class PostgresClaims implements Claims {
  private ready: Promise<unknown> | undefined;

  constructor(private readonly query: Query) {}

  private table(): Promise<unknown> {
    this.ready ??= this.query(
      "CREATE TABLE IF NOT EXISTS chatops_claims (key TEXT PRIMARY KEY, expires_at BIGINT)",
    ).catch((error) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  async claim(key: string, ttlMs?: number): Promise<boolean> {
    await this.table();
    const now = Date.now();
    // One statement: insert, or take over an expired claim; RETURNING tells whether this caller won.
    const rows = await this.query(
      `INSERT INTO chatops_claims (key, expires_at) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
       WHERE chatops_claims.expires_at IS NOT NULL AND chatops_claims.expires_at <= $3
       RETURNING key`,
      [key, ttlMs === undefined ? null : now + ttlMs, now],
    );
    return rows.length === 1;
  }

  async release(key: string): Promise<void> {
    await this.table();
    await this.query("DELETE FROM chatops_claims WHERE key = $1", [key]);
  }
}
