import { randomUUID } from "node:crypto";
import type { Clock, KeyValueStore, Logger } from "./ports.js";

export type AuditOutcome = "ok" | "denied" | "failed" | "refused";

/** Who did what to which target, and how it ended: every command and click leaves one entry. */
export interface AuditEntry {
  at: number;
  user: string;
  action: string;
  target: string;
  outcome: AuditOutcome;
  detail?: string;
  /** Refusals aggregated into this entry (one per user, action and outcome per window); absent means 1. */
  count?: number;
  /** When the last aggregated refusal happened. */
  lastAt?: number;
}

export interface AuditQuery {
  user?: string;
  /** An action or its prefix: `scan` matches `scan.start`, `scan.approve`, …. */
  action?: string;
  outcome?: AuditOutcome;
  limit: number;
  offset?: number;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** How many entries match the filters, over every page. */
  total: number;
}

export interface AuditOptions {
  /** How long entries wait to be written together (one store write per batch). */
  batchMs: number;
  /** Repeated refusals of one user, action and outcome within this window become one entry. */
  aggregateMs: number;
  logger?: Logger;
}

const AUDIT = "audit";
const RETENTION_MS = 90 * 24 * 3600_000;
const FIELD_MAX = 300;
const DEFAULTS: AuditOptions = { batchMs: 200, aggregateMs: 60_000 };

/**
 * Userinfo (`user:password@`) in any URL inside free text is removed before it is stored: refused input
 * is recorded, and a URL with credentials is exactly what gets refused. Linear: one pass, no nesting.
 */
export function stripUserinfo(text: string): string {
  return text.replace(/:\/\/[^\s/?#@"'<>]*@/g, "://");
}

const clean = (text: string) => stripUserinfo(text.slice(0, FIELD_MAX * 4)).slice(0, FIELD_MAX);

const isRefusal = (outcome: AuditOutcome) => outcome === "denied" || outcome === "refused";

/** Successful actions that change state: each gets one info log line (the per-command line is debug). */
const STATE_CHANGES = new Set([
  "scan.request",
  "scan.approve",
  "scan.deny",
  "scan.start",
  "scan.stop",
  "project.create",
  "project.delete",
  "project.link",
  ...["accepted", "false_positive"].flatMap((kind) =>
    ["request", "approve", "deny", "withdraw"].map((step) => `finding.${kind}.${step}`),
  ),
  "finding.accepted.expire",
  "schedule.create",
  "schedule.change",
  "schedule.approve",
  "schedule.deny",
  "schedule.withdraw",
  "schedule.pause",
  "schedule.resume",
  "schedule.delete",
]);

interface Aggregate {
  key: string;
  entry: AuditEntry;
  dirty: boolean;
}

/**
 * The audit trail. Entries are batched for a short window and written as one store record (the answer
 * never waits for the write); `flush()` writes what is pending and runs at shutdown. Repeated refusals
 * from one user are aggregated so that a flood of refused clicks cannot drown real actions.
 */
export class AuditTrail {
  private readonly options: AuditOptions;
  private pending: AuditEntry[] = [];
  private readonly aggregates = new Map<string, Aggregate>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: KeyValueStore,
    private readonly clock: Clock,
    options: Partial<AuditOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Queues an entry; it is durable after the next flush (at most `batchMs` later). */
  async record(input: Omit<AuditEntry, "at" | "count" | "lastAt">): Promise<AuditEntry> {
    const at = this.clock.now();
    const entry: AuditEntry = {
      at,
      user: input.user.slice(0, 64),
      action: clean(input.action),
      target: clean(input.target),
      outcome: input.outcome,
      ...(input.detail !== undefined ? { detail: clean(input.detail) } : {}),
    };
    if (isRefusal(entry.outcome)) {
      const group = `${entry.user}|${entry.action}|${entry.outcome}`;
      const open = this.aggregates.get(group);
      if (open && at - open.entry.at < this.options.aggregateMs) {
        open.entry = { ...open.entry, count: (open.entry.count ?? 1) + 1, lastAt: at, target: entry.target };
        open.dirty = true;
        this.schedule();
        return open.entry;
      }
      this.dropClosedAggregates(at);
      this.aggregates.set(group, { key: this.newKey(at), entry, dirty: true });
      this.schedule();
      return entry;
    }
    if (entry.outcome === "ok" && STATE_CHANGES.has(entry.action)) {
      this.options.logger?.info(entry.action, { user: entry.user, target: entry.target });
    }
    this.pending.push(entry);
    this.schedule();
    return entry;
  }

  private newKey(at: number): string {
    // Time first so keys sort chronologically; the UUID keeps simultaneous writes apart.
    return `${String(at).padStart(15, "0")}-${randomUUID()}`;
  }

  private dropClosedAggregates(now: number): void {
    for (const [group, open] of this.aggregates) {
      if (!open.dirty && now - open.entry.at >= this.options.aggregateMs) this.aggregates.delete(group);
    }
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch((error: unknown) => this.options.logger?.error("audit write failed", { error }));
    }, this.options.batchMs);
    // A pending batch must not keep a stopping process alive; shutdown calls flush() itself.
    this.timer.unref();
  }

  /**
   * Writes every pending entry: the batch as one record, each changed aggregate under its own key
   * (rewritten as its count grows). Entries whose write fails are kept for the next flush.
   */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const run = async () => {
      const batch = this.pending;
      this.pending = [];
      const changed = [...this.aggregates.values()].filter((a) => a.dirty);
      for (const aggregate of changed) aggregate.dirty = false;
      try {
        if (batch.length > 0) {
          const first = batch[0] as AuditEntry;
          await this.store.set(AUDIT, this.newKey(first.at), batch, RETENTION_MS);
        }
        for (const aggregate of changed) {
          await this.store.set(AUDIT, aggregate.key, aggregate.entry, RETENTION_MS);
        }
      } catch (error) {
        this.pending = [...batch, ...this.pending];
        for (const aggregate of changed) aggregate.dirty = true;
        throw error;
      }
    };
    this.writing = this.writing.then(run, run);
    return this.writing;
  }

  /** Newest first, filtered, one page; pending entries are flushed first so reads see every entry. */
  async query(query: AuditQuery): Promise<AuditPage> {
    await this.flush();
    const all = (await this.store.entries<AuditEntry | AuditEntry[]>(AUDIT))
      .flatMap(([, value]) => (Array.isArray(value) ? value : [value]))
      .filter((entry) => matches(entry, query))
      .sort((a, b) => (b.lastAt ?? b.at) - (a.lastAt ?? a.at));
    const offset = query.offset ?? 0;
    return { entries: all.slice(offset, offset + query.limit), total: all.length };
  }

  async recent(limit: number): Promise<AuditEntry[]> {
    return (await this.query({ limit })).entries;
  }
}

function matches(entry: AuditEntry, query: AuditQuery): boolean {
  if (query.user !== undefined && entry.user !== query.user) return false;
  if (query.outcome !== undefined && entry.outcome !== query.outcome) return false;
  if (query.action !== undefined) {
    const action = query.action.toLowerCase();
    if (entry.action !== action && !entry.action.startsWith(`${action}.`)) return false;
  }
  return true;
}
