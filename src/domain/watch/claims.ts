import type { Clock, Leases, Logger } from "../ports.js";

/**
 * Poll claims between replicas: before a watch is worked on, its poll slot (scanId:nextPollAt) is
 * claimed as a store lease, first holder wins, so two replicas never poll the same scan at once.
 *
 * Leases are short (pollClaimTtlMs, default 45 s) and renewed every third of that while their holder
 * works (scanner timeouts, Slack 429 waits), so a live holder keeps them as long as it needs and a
 * dead one (kill -9, a frozen host) frees them within one lifetime: the next tick of another replica
 * after that takes the scan over. Lease lifetimes run on the store's clock (Redis PX, PostgreSQL
 * expires_at, in-process timers for memory and SQLite), not on the watcher's.
 */
export class PollClaims {
  private readonly held = new Set<string>();
  /** Scans that met a held claim: since when (watcher clock), and whether that was logged. */
  private readonly blocked = new Map<string, { since: number; warned: boolean }>();
  private renewing: Promise<void> | undefined;

  constructor(
    private readonly leases: Leases,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly holder: string,
    private readonly ttlMs: number,
    /** A due scan meeting a held claim for longer than this is logged as a warning. */
    private readonly warnAfterMs: number,
  ) {}

  /** Claims one poll slot of a scan; false when another replica holds it. */
  async claim(scanId: string, slot: number): Promise<boolean> {
    const key = `${scanId}:${slot}`;
    if (!(await this.leases.acquire(key, this.holder, this.ttlMs))) {
      this.met(scanId, key);
      return false;
    }
    this.held.add(key);
    return true;
  }

  /**
   * The claimed slot is about to be worked on. When this replica met it held before, the holder let
   * it go without finishing it (died, or failed): logged as a takeover.
   */
  takeOver(scanId: string): void {
    const blocked = this.blocked.get(scanId);
    if (!blocked) return;
    this.blocked.delete(scanId);
    this.log.warn("a poll claim another replica held is free with its poll unfinished; scan taken over", {
      scanId,
      waitedMs: this.clock.now() - blocked.since,
    });
  }

  async release(scanId: string, slot: number): Promise<void> {
    const key = `${scanId}:${slot}`;
    this.held.delete(key);
    await this.leases.release(key, this.holder).catch((error: unknown) => {
      this.log.warn("poll claim could not be released; it expires on its own", { claim: key, error });
    });
  }

  /** A scan this replica no longer has to wait for (ended, or moved on elsewhere). */
  forget(scanId: string): void {
    this.blocked.delete(scanId);
  }

  /** Runs `work` (a tick) with the held claims renewed every third of their lifetime. */
  async renewedDuring<T>(work: () => Promise<T>): Promise<T> {
    const timer = setInterval(
      () => {
        this.renewing ??= this.renewAll().finally(() => {
          this.renewing = undefined;
        });
      },
      Math.max(1, Math.floor(this.ttlMs / 3)),
    );
    timer.unref();
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  private async renewAll(): Promise<void> {
    for (const key of [...this.held]) {
      try {
        if (this.held.has(key) && !(await this.leases.renew(key, this.holder, this.ttlMs))) {
          this.log.warn("poll claim expired before it was renewed; another replica may take the scan over", {
            claim: key,
          });
        }
      } catch (error) {
        this.log.warn("poll claim could not be renewed; retried", { claim: key, error });
      }
    }
  }

  private met(scanId: string, key: string): void {
    const now = this.clock.now();
    const blocked = this.blocked.get(scanId) ?? { since: now, warned: false };
    this.blocked.set(scanId, blocked);
    if (!blocked.warned && now - blocked.since > this.warnAfterMs) {
      blocked.warned = true;
      this.log.warn("a due scan keeps meeting a poll claim another replica holds and renews", {
        scanId,
        claim: key,
        heldForMs: now - blocked.since,
      });
    }
  }
}
