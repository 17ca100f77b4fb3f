import { randomUUID } from "node:crypto";
import type { Clock, KeyValueStore } from "./ports.js";

/** Who did what to which target, and how it ended: every command and click leaves one entry. */
export interface AuditEntry {
  at: number;
  user: string;
  action: string;
  target: string;
  outcome: "ok" | "denied" | "failed" | "refused";
  detail?: string;
}

const AUDIT = "audit";
const RETENTION_MS = 90 * 24 * 3600_000;

export class AuditTrail {
  constructor(
    private readonly store: KeyValueStore,
    private readonly clock: Clock,
  ) {}

  async record(entry: Omit<AuditEntry, "at">): Promise<AuditEntry> {
    const full: AuditEntry = { at: this.clock.now(), ...entry };
    // Time first so keys sort chronologically; the UUID keeps simultaneous entries apart.
    const key = `${String(full.at).padStart(15, "0")}-${randomUUID()}`;
    await this.store.set(AUDIT, key, full, RETENTION_MS);
    return full;
  }

  async recent(limit: number): Promise<AuditEntry[]> {
    const entries = await this.store.entries<AuditEntry>(AUDIT);
    return entries
      .sort(([a], [b]) => b.localeCompare(a))
      .slice(0, limit)
      .map(([, entry]) => entry);
  }
}
