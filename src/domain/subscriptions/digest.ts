import type { FindingDecisions, SeverityCounts } from "../findings/types.js";
import type { Clock, KeyValueStore, Logger } from "../ports.js";
import { SEVERITIES } from "../ports.js";
import { digestPeriodMs, lastDigestSlot } from "./local-time.js";
import type { DigestProject, DigestSummary, Notice } from "./matching.js";
import type { Outbox } from "./outbox.js";
import { ALL_PROJECTS, type Subscription, type SubscriptionBook } from "./records.js";

/**
 * Digest mode: a digest subscription's notices are collected in its log instead of the outbox; at
 * each due time (in the channel's time zone) one message summarizes the period. The digest job runs
 * every minute and looks only at the latest due time, so a bot that was down sends one digest for
 * the time it missed, not one per missed slot. Exactly once: the digest is queued in the outbox
 * under its (subscription, due time) key before the run is recorded.
 */

interface LoggedNotice {
  subscriptionId: string;
  notice: Notice;
}

const LOG = "notify-digest";
const RUNS = "notify-digest-runs";
const LOG_RETENTION_MS = 15 * 86_400_000;

export class DigestLog {
  constructor(private readonly store: KeyValueStore) {}

  record(subscription: Subscription, notice: Notice): Promise<boolean> {
    const entry: LoggedNotice = { subscriptionId: subscription.id, notice };
    return this.store.add(LOG, `${subscription.id}|${notice.key}`, entry, LOG_RETENTION_MS);
  }

  async of(subscriptionId: string): Promise<Array<[string, Notice]>> {
    return (await this.store.entries<LoggedNotice>(LOG))
      .filter(([, e]) => e.subscriptionId === subscriptionId)
      .map(([key, e]) => [key, e.notice]);
  }

  async drop(keys: readonly string[]): Promise<void> {
    for (const key of keys) await this.store.delete(LOG, key);
  }
}

const zero = (): SeverityCounts => ({ critical: 0, high: 0, medium: 0, low: 0, info: 0 });

function add(into: SeverityCounts, counts: SeverityCounts | undefined): void {
  if (!counts) return;
  for (const s of SEVERITIES) into[s] += counts[s] ?? 0;
}

/** What the period's notices add up to, per project. */
export function summarize(notices: readonly Notice[], from: number, to: number): DigestSummary {
  const projects = new Map<string, DigestProject>();
  let approvals = 0;
  let decisions = 0;
  for (const n of notices) {
    if (n.kind === "approval") {
      if (n.about) decisions++;
      else approvals++;
      continue;
    }
    const p = projects.get(n.projectId) ?? {
      projectName: n.projectName,
      finished: 0,
      failed: 0,
      newCounts: zero(),
      fixedCounts: zero(),
    };
    if (n.kind === "finished" || n.kind === "new-findings") p.finished++;
    if (n.kind === "failed") p.failed++;
    add(p.newCounts, n.newCounts);
    add(p.fixedCounts, n.fixedCounts);
    projects.set(n.projectId, p);
  }
  return {
    from,
    to,
    projects: [...projects.values()],
    expiring: [],
    approvals,
    ...(decisions > 0 ? { decisions } : {}),
  };
}

export class DigestRunner {
  constructor(
    private readonly deps: {
      store: KeyValueStore;
      clock: Clock;
      book: SubscriptionBook;
      log: DigestLog;
      outbox: Outbox;
      logger: Logger;
      defaultTimezone: string;
      /** Risk acceptances in force, for the ones about to expire (findings decisions). */
      decisions?: FindingDecisions;
    },
  ) {}

  /** Queues every digest that is due; answers how many. */
  async run(): Promise<number> {
    const { store, clock, book } = this.deps;
    const now = clock.now();
    let due = 0;
    for (const subscription of await book.list()) {
      if (!subscription.digest) continue;
      const timezone = (await book.channel(subscription.channel))?.timezone ?? this.deps.defaultTimezone;
      const slot = lastDigestSlot(subscription.digest, timezone, now);
      const last = (await store.get<number>(RUNS, subscription.id)) ?? subscription.createdAt;
      if (slot <= last) continue;
      const from = Math.max(last, slot - digestPeriodMs(subscription.digest));
      await this.send(subscription, from, slot);
      await store.set(RUNS, subscription.id, slot);
      due++;
    }
    return due;
  }

  private async send(subscription: Subscription, from: number, to: number): Promise<void> {
    const logged = (await this.deps.log.of(subscription.id)).filter(([, n]) => n.at <= to);
    const summary = summarize(
      logged.map(([, n]) => n),
      from,
      to,
    );
    summary.expiring = await this.expiring(
      subscription,
      logged.map(([, n]) => n),
      to,
    );
    const notice: Notice = {
      kind: "digest",
      key: `digest:${subscription.id}:${to}`,
      at: to,
      projectId: subscription.projectId,
      projectName: subscription.projectName,
      digest: summary,
    };
    await this.deps.outbox.enqueue(subscription.channel, notice);
    await this.deps.log.drop(logged.map(([key]) => key));
    this.deps.logger.info("digest queued", { subscription: subscription.id, notices: logged.length });
  }

  /** Risk acceptances of the digest's projects that run out before the next digest. */
  private async expiring(subscription: Subscription, notices: readonly Notice[], to: number) {
    const { decisions } = this.deps;
    if (!decisions || !subscription.digest) return [];
    const until = to + digestPeriodMs(subscription.digest);
    const names = new Map(notices.map((n) => [n.projectId, n.projectName]));
    if (subscription.projectId !== ALL_PROJECTS) names.set(subscription.projectId, subscription.projectName);
    const out: DigestSummary["expiring"] = [];
    for (const [projectId, projectName] of names) {
      for (const d of (await decisions.inForce(projectId, to)).values()) {
        if (d.kind === "accepted" && d.expiresAt !== undefined && d.expiresAt <= until)
          out.push({ projectName, fingerprint: d.fingerprint, expiresAt: d.expiresAt });
      }
    }
    return out.sort((a, b) => a.expiresAt - b.expiresAt).slice(0, 20);
  }
}
