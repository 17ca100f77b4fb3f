import type { Clock, KeyValueStore, Logger } from "../ports.js";

const POLL_CLAIMS = "poll";

/**
 * Poll claims between replicas: before a watch is worked on, its poll slot (scanId:nextPollAt) is
 * claimed in the store, first writer wins, so two replicas never poll the same scan at once.
 */
export class PollClaims {
  constructor(
    private readonly store: KeyValueStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly instanceId: string,
    private readonly ttlMs: number,
  ) {}

  /**
   * Claims one poll slot. The claim also carries its expiry on the watcher's clock: a claim left by
   * a dead process is taken over once expired, through a second key (again first writer wins, so two
   * instances cannot both take it over). Returns the key held, undefined when another holds it.
   */
  async claim(key: string): Promise<string | undefined> {
    const { store, clock } = this;
    const ttl = this.ttlMs;
    const value = () => ({ by: this.instanceId, until: clock.now() + ttl });
    if (await store.add(POLL_CLAIMS, key, value(), ttl)) return key;
    const holder = await store.get<{ by?: string; until?: number }>(POLL_CLAIMS, key);
    if (!holder || holder.until === undefined || holder.until > clock.now()) return undefined;
    const takeover = `${key}:takeover`;
    if (!(await store.add(POLL_CLAIMS, takeover, value(), ttl))) return undefined;
    this.log.warn("poll claim of a stopped instance expired; taken over", { claim: key, holder: holder.by });
    return takeover;
  }

  async release(key: string): Promise<void> {
    await this.store.delete(POLL_CLAIMS, key).catch((error: unknown) => {
      this.log.warn("poll claim could not be released; it expires on its own", { claim: key, error });
    });
  }
}
