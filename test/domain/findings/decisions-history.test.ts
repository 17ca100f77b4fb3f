import assert from "node:assert/strict";
import { test } from "node:test";
import { AuditTrail } from "../../../src/domain/audit.js";
import { Authorizer } from "../../../src/domain/authz.js";
import { FindingDecisionService } from "../../../src/domain/findings/decisions.js";
import { fingerprint } from "../../../src/domain/findings/fingerprint.js";
import { FindingsHistory } from "../../../src/domain/findings/history.js";
import type { Finding, FindingsSummary } from "../../../src/domain/ports.js";
import { ProjectRegistry } from "../../../src/domain/projects.js";
import { ManualClock, MemoryStore } from "../memory-store.js";

/**
 * The decisions as findings history sees them, both real and over one store: accepted and false
 * positives are counted apart and never new; an acceptance that ran out is open again at the next scan.
 */

const DAY = 86_400_000;
const sqli: Finding = {
  title: "SQL injection",
  severity: "high",
  category: "sqli",
  slug: "sqli",
  location: { path: "/login", parameter: "user", method: "POST" },
};
const xss: Finding = {
  title: "Reflected XSS",
  severity: "medium",
  category: "xss",
  slug: "xss",
  location: { path: "/search", parameter: "q", method: "GET" },
};
const summary = (findings: Finding[]): FindingsSummary => ({
  counts: {
    critical: 0,
    high: findings.filter((f) => f.severity === "high").length,
    medium: findings.filter((f) => f.severity === "medium").length,
    low: 0,
    info: 0,
  },
  total: findings.length,
  findings,
});

test("accept, then expire; a false positive stays: across a sequence of scans", async () => {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const store = new MemoryStore(clock);
  const registry = new ProjectRegistry(store, clock);
  await registry.save(
    { id: "p1", name: "web-shop", url: "https://shop.example" },
    { backend: "crashtest", createdBy: "UOPS", linked: false, reserved: false },
  );
  const history: FindingsHistory = new FindingsHistory({ store, clock, decisions: lazy() });
  const decisions = new FindingDecisionService({
    store,
    clock,
    authz: new Authorizer(
      { admins: [], approvers: ["UBOB"], operators: ["UOPS"], allowedChannels: [] },
      async () => [],
    ),
    projects: registry,
    audit: new AuditTrail(store, clock),
    audience: { approverCanSee: async () => true },
    policy: { approvalTtlMs: DAY },
    lookup: history,
  });
  function lazy() {
    return { inForce: (projectId: string, now: number) => decisions.inForce(projectId, now) };
  }
  let n = 0;
  const scan = async (findings: Finding[]) => {
    n += 1;
    clock.advance(DAY);
    const { result } = await history.record({
      scanId: `s${n}`,
      projectId: "p1",
      scanner: "crashtest",
      outcome: "finished",
      startedAt: clock.now() - 3600_000,
      endedAt: clock.now(),
      summary: summary(findings),
    });
    return result.diff;
  };
  const decide = async (finding: Finding, kind: "accepted" | "false_positive") => {
    const request = await decisions.open("UOPS", "CSEC", {
      projectId: "p1",
      fingerprint: fingerprint("crashtest", finding),
      kind,
      reason: "Reviewed with the team on the call",
      ...(kind === "accepted" ? { days: 30 as const } : {}),
    });
    assert.equal(request.finding?.title, finding.title, "the card shows what history knows");
    await decisions.decide(request.id, "UBOB", "approve", "CSEC");
  };

  const first = await scan([sqli, xss]);
  assert.equal(first.first, true);
  await decide(sqli, "accepted");
  await decide(xss, "false_positive");
  const second = await scan([sqli, xss]);
  assert.equal(second.accepted, 1);
  assert.equal(second.falsePositive, 1);
  assert.equal(second.open.high + second.new.high, 0, "an accepted risk is neither new nor open");
  clock.advance(30 * DAY);
  const third = await scan([sqli, xss]);
  assert.equal(third.accepted, 0, "the acceptance ran out");
  assert.equal(third.open.high, 1, "the finding is open again, not new");
  assert.equal(third.new.high, 0);
  assert.equal(third.falsePositive, 1, "a false positive does not expire");
});
