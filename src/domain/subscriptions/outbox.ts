import { randomUUID } from "node:crypto";
import { isAppError } from "../errors.js";
import type { Clock, KeyValueStore, Logger } from "../ports.js";
import { inQuietHours } from "./local-time.js";
import { isUrgent, type Notice } from "./matching.js";
import type { SubscriptionBook } from "./records.js";

/**
 * The per-destination outbox: notices wait in the store and are drained at most once per second per
 * channel (or DM), everything that accumulated going out as one grouped message, because Slack
 * rate-limits chat.postMessage to about one message per second per channel
 * (https://docs.slack.dev/apis/web-api/rate-limits).
 *
 * Exactly once, like the watcher's effect log: a notice is added under its event key (a second
 * routing of the same event is a no-op) and, once delivered, leaves a `sent` mark under the same key
 * (so the queue itself stays small); a batch is saved before its message is posted and the message
 * carries the batch ID as metadata, so a batch left over by a crash is first looked up in the
 * destination and posted again only when Slack does not have it.
 */

export interface NoticeOutput {
  /** One message to a channel, or to a person's DM when `destination` is a user ID. */
  deliver(destination: string, notices: readonly Notice[], batchId: string): Promise<void>;
  /** Whether the bot's message tagged with the batch ID is already there. */
  delivered(destination: string, batchId: string): Promise<boolean>;
}

interface OutboxItem {
  destination: string;
  notice: Notice;
  at: number;
}

interface Batch {
  id: string;
  destination: string;
  keys: string[];
  notices: Notice[];
  at: number;
}

const OUTBOX = "notify-outbox";
const SENT = "notify-sent";
const BATCHES = "notify-batches";
const PACE = "notify-pace";
/** When a notice was last queued, and what the last full pass found: lets an idle pass skip the listing. */
const SIGNAL = "notify-signal";
/** Replicas' clocks differ a little: a notice queued this long before a pass still makes the next pass look. */
const CLOCK_SKEW_MS = 5000;
/** Quiet hours are set to the minute: held notices are looked at again once a minute. */
const QUIET_RECHECK_MS = 60_000;

interface Drained {
  /** When the pass started. */
  checkedAt: number;
  /** When something may be due again without a new notice; 0 when nothing waits. */
  nextAt: number;
}

type Outcome = "posted" | "retry" | "quiet" | "empty";
/** How long a delivered notice is remembered, so a late repeat of its event is still a no-op. */
const SENT_RETENTION_MS = 14 * 86_400_000;
const QUEUED_RETENTION_MS = 30 * 86_400_000;
/** Notices per grouped message; the renderer fits this many lines within Block Kit limits. */
export const MAX_GROUP = 30;

export interface OutboxOptions {
  /** Least time between two messages to one destination. */
  minGapMs: number;
  leaseMs: number;
}

export class Outbox {
  private readonly options: OutboxOptions;
  private readonly holder = randomUUID();

  constructor(
    private readonly deps: {
      store: KeyValueStore;
      clock: Clock;
      book: SubscriptionBook;
      output: NoticeOutput;
      logger: Logger;
      options?: Partial<OutboxOptions>;
    },
  ) {
    this.options = { minGapMs: 1000, leaseMs: 30_000, ...deps.options };
  }

  /** Queues a notice for a destination; false when this event was queued (or delivered) there before. */
  async enqueue(destination: string, notice: Notice): Promise<boolean> {
    const { store, clock } = this.deps;
    const key = `${destination}|${notice.key}`;
    const item: OutboxItem = { destination, notice, at: clock.now() };
    if (!(await store.add(OUTBOX, key, item, QUEUED_RETENTION_MS))) return false;
    // Delivery marks `sent` before it removes the item: an add that won after the removal sees the mark.
    if ((await store.get(SENT, key)) !== undefined) {
      await store.delete(OUTBOX, key);
      return false;
    }
    await store.set(SIGNAL, "queued", clock.now());
    return true;
  }

  /**
   * Whether this pass can skip listing the outbox (a scan of the store on Redis): nothing was queued
   * since the last full pass, which left nothing due before now.
   */
  private async idle(now: number): Promise<boolean> {
    const { store } = this.deps;
    const [drained, queued] = await Promise.all([
      store.get<Drained>(SIGNAL, "drained"),
      store.get<number>(SIGNAL, "queued"),
    ]);
    if (!drained) return false;
    if ((queued ?? 0) >= drained.checkedAt - CLOCK_SKEW_MS) return false;
    return drained.nextAt === 0 || now < drained.nextAt;
  }

  /** Notices still waiting (quiet hours, pacing), per destination. */
  async waiting(): Promise<Map<string, Notice[]>> {
    const out = new Map<string, Notice[]>();
    for (const [, item] of await this.deps.store.entries<OutboxItem>(OUTBOX)) {
      out.set(item.destination, [...(out.get(item.destination) ?? []), item.notice]);
    }
    return out;
  }

  /** One pass: at most one message per destination. Answers how many messages were posted. */
  async drain(): Promise<number> {
    const { store, clock, logger } = this.deps;
    const now = clock.now();
    if (await this.idle(now)) return 0;
    const queued = new Map<string, Array<[string, OutboxItem]>>();
    for (const [key, item] of await store.entries<OutboxItem>(OUTBOX)) {
      const list = queued.get(item.destination) ?? [];
      list.push([key, item]);
      queued.set(item.destination, list);
    }
    const leftOver = (await store.entries<Batch>(BATCHES)).map(([destination]) => destination);
    let posted = 0;
    let nextAt = 0;
    const dueAt = (at: number) => {
      nextAt = nextAt === 0 ? at : Math.min(nextAt, at);
    };
    for (const destination of new Set([...queued.keys(), ...leftOver])) {
      let outcome: Outcome;
      try {
        outcome = await this.drainOne(destination, queued.get(destination) ?? []);
      } catch (error) {
        // Left in the store (queued, or as a batch): the next pass tries again.
        logger.warn("notification delivery failed; retried on the next pass", { destination, error });
        outcome = "retry";
      }
      if (outcome === "posted") posted++;
      // Posted (more may wait), paced or failed: the next pass looks again; quiet: in a minute.
      if (outcome === "posted" || outcome === "retry") dueAt(now);
      else if (outcome === "quiet") dueAt(now + QUIET_RECHECK_MS);
    }
    await store.set<Drained>(SIGNAL, "drained", { checkedAt: now, nextAt });
    return posted;
  }

  private async drainOne(destination: string, items: Array<[string, OutboxItem]>): Promise<Outcome> {
    const { store, clock } = this.deps;
    const lease = `notify-outbox:${destination}`;
    if (!(await store.leases.acquire(lease, this.holder, this.options.leaseMs))) return "retry";
    try {
      const now = clock.now();
      const last = await store.get<number>(PACE, destination);
      if (last !== undefined && now - last < this.options.minGapMs) return "retry";
      // Read under the lease, also when this pass saw none: a replica that died after saving one left it.
      const batch = await store.get<Batch>(BATCHES, destination);
      if (batch) {
        await this.post(batch, true);
        await this.finish(batch);
        return "posted";
      }
      const { eligible, held } = await this.eligible(destination, items, now);
      if (eligible.length === 0) return held ? "quiet" : "empty";
      const taken = eligible.sort((a, b) => a[1].at - b[1].at).slice(0, MAX_GROUP);
      const fresh: Batch = {
        id: randomUUID(),
        destination,
        keys: taken.map(([key]) => key),
        notices: taken.map(([, item]) => item.notice),
        at: now,
      };
      await store.set(BATCHES, destination, fresh);
      await this.post(fresh);
      await this.finish(fresh);
      return "posted";
    } finally {
      await store.leases.release(lease, this.holder).catch(() => {});
    }
  }

  /** Queued notices that may go now (during the channel's quiet hours only urgent ones), and whether some are held. */
  private async eligible(
    destination: string,
    items: Array<[string, OutboxItem]>,
    now: number,
  ): Promise<{ eligible: Array<[string, OutboxItem]>; held: boolean }> {
    const current: Array<[string, OutboxItem]> = [];
    for (const [key] of items) {
      const item = await this.deps.store.get<OutboxItem>(OUTBOX, key);
      if (item) current.push([key, item]);
    }
    const settings = await this.deps.book.channel(destination);
    if (!settings?.quiet || !inQuietHours(settings.quiet, settings.timezone, now))
      return { eligible: current, held: false };
    const eligible = current.filter(([, item]) => isUrgent(item.notice, settings));
    return { eligible, held: eligible.length < current.length };
  }

  /**
   * Posts a batch. A destination Slack refuses for good (channel_not_found, is_archived, a person who
   * left) would hold its queue forever: that batch is logged as an error and dropped; anything that
   * may pass later is thrown and retried on the next pass. A batch left over by an interruption is
   * looked up in the destination first (`lookUp`).
   */
  private async post(batch: Batch, lookUp = false): Promise<void> {
    const { output } = this.deps;
    try {
      if (lookUp && (await output.delivered(batch.destination, batch.id))) return;
      await output.deliver(batch.destination, batch.notices, batch.id);
    } catch (error) {
      if (!isAppError(error) || error.retryable || error.kind === "store") throw error;
      this.deps.logger.error("notification refused for good; dropped", {
        destination: batch.destination,
        notices: batch.notices.length,
        error,
      });
    }
  }

  private async finish(batch: Batch): Promise<void> {
    const { store, clock } = this.deps;
    for (const key of batch.keys) {
      await store.set(SENT, key, batch.at, SENT_RETENTION_MS);
      await store.delete(OUTBOX, key);
    }
    await store.set(PACE, batch.destination, clock.now(), 60_000);
    await store.delete(BATCHES, batch.destination);
  }
}
