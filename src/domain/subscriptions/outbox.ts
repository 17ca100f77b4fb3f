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
    if ((await store.get(SENT, key)) === undefined) return true;
    await store.delete(OUTBOX, key);
    return false;
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
    const { store, logger } = this.deps;
    const queued = new Map<string, Array<[string, OutboxItem]>>();
    for (const [key, item] of await store.entries<OutboxItem>(OUTBOX)) {
      const list = queued.get(item.destination) ?? [];
      list.push([key, item]);
      queued.set(item.destination, list);
    }
    const leftOver = (await store.entries<Batch>(BATCHES)).map(([destination]) => destination);
    let posted = 0;
    for (const destination of new Set([...queued.keys(), ...leftOver])) {
      try {
        if (await this.drainOne(destination, queued.get(destination) ?? [])) posted++;
      } catch (error) {
        // Left in the store (queued, or as a batch): the next pass tries again.
        logger.warn("notification delivery failed; retried on the next pass", { destination, error });
      }
    }
    return posted;
  }

  private async drainOne(destination: string, items: Array<[string, OutboxItem]>): Promise<boolean> {
    const { store, clock } = this.deps;
    const lease = `notify-outbox:${destination}`;
    if (!(await store.leases.acquire(lease, this.holder, this.options.leaseMs))) return false;
    try {
      const now = clock.now();
      const last = await store.get<number>(PACE, destination);
      if (last !== undefined && now - last < this.options.minGapMs) return false;
      // Read under the lease, also when this pass saw none: a replica that died after saving one left it.
      const batch = await store.get<Batch>(BATCHES, destination);
      if (batch) {
        await this.post(batch, true);
        await this.finish(batch);
        return true;
      }
      const eligible = await this.eligible(destination, items, now);
      if (eligible.length === 0) return false;
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
      return true;
    } finally {
      await store.leases.release(lease, this.holder).catch(() => {});
    }
  }

  /** Queued notices that may go now: during the channel's quiet hours only urgent ones. */
  private async eligible(
    destination: string,
    items: Array<[string, OutboxItem]>,
    now: number,
  ): Promise<Array<[string, OutboxItem]>> {
    const current: Array<[string, OutboxItem]> = [];
    for (const [key] of items) {
      const item = await this.deps.store.get<OutboxItem>(OUTBOX, key);
      if (item) current.push([key, item]);
    }
    const settings = await this.deps.book.channel(destination);
    if (!settings?.quiet || !inQuietHours(settings.quiet, settings.timezone, now)) return current;
    return current.filter(([, item]) => isUrgent(item.notice, settings));
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
