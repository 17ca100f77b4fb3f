import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { type TestContext, test } from "node:test";
import { fingerprint } from "../../../src/domain/findings/fingerprint.js";
import { FindingsHistory, type ScanEnded } from "../../../src/domain/findings/history.js";
import { NS } from "../../../src/domain/findings/history-records.js";
import type { FindingDecision, FindingDecisions } from "../../../src/domain/findings/types.js";
import type { FindingsSummary } from "../../../src/domain/ports.js";
import { summarizeFindingsJson } from "../../../src/scanners/findings.js";
import { sharedFile } from "../../support/shared.js";
import { ManualClock, MemoryStore } from "../memory-store.js";

const HOUR = 3600_000;
const DAY = 24 * HOUR;

type Report = {
  data: {
    findings: Record<string, Array<{ finding_description_slug: string; information?: string }> | null>;
    descriptions: unknown[];
  };
};

/** Decisions as the decisions module answers them: in force until they expire. */
class Decisions implements FindingDecisions {
  readonly all = new Map<string, FindingDecision>();
  async inForce(_projectId: string, now: number) {
    return new Map([...this.all].filter(([, d]) => d.expiresAt === undefined || d.expiresAt > now));
  }
  decide(kind: FindingDecision["kind"], print: string, expiresAt?: number) {
    this.all.set(print, {
      kind,
      fingerprint: print,
      reason: "test",
      requestedBy: "U1",
      approvedBy: "U2",
      decidedAt: 0,
      ...(expiresAt === undefined ? {} : { expiresAt }),
    });
  }
}

function rig() {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const store = new MemoryStore(clock);
  const decisions = new Decisions();
  const history = new FindingsHistory({ store, clock, decisions });
  let n = 0;
  const scan = async (summary: FindingsSummary, durationMs = 2 * HOUR) => {
    n += 1;
    clock.advance(DAY);
    const ended: ScanEnded = {
      scanId: `s${n}`,
      projectId: "p1",
      scanner: "crashtest",
      outcome: "finished",
      startedAt: clock.now() - durationMs,
      endedAt: clock.now(),
      summary,
    };
    return { ...(await history.record(ended)), ended };
  };
  return { clock, store, decisions, history, scan };
}

function fixture(t: TestContext): Report | undefined {
  const file = sharedFile(t, "fixtures/crashtest/findings-full.json");
  return file ? (JSON.parse(readFileSync(file, "utf8")) as Report) : undefined;
}

const summaryOf = (report: Report) => summarizeFindingsJson(JSON.stringify(report));

/** The report without the findings of one slug, and with one more XSS on another parameter. */
function variant(report: Report, drop: string, addXss?: string): Report {
  const next = structuredClone(report);
  for (const [key, list] of Object.entries(next.data.findings)) {
    next.data.findings[key] = (list ?? []).filter((f) => f.finding_description_slug !== drop);
  }
  if (addXss) {
    next.data.findings.xss?.push({
      finding_description_slug: "xss",
      information: `Found possible XSS vulnerability on site dvwa.dev.crashtest.cloud/search/. The parameter '${addXss}' seems vulnerable for payload '<svg>'`,
    });
  }
  return next;
}

const printOf = (summary: FindingsSummary, slug: string) => {
  const finding = summary.findings.find((f) => f.slug === slug);
  assert.ok(finding, slug);
  return fingerprint("crashtest", finding);
};

test("first scan: nothing to compare, every finding open; recording again changes nothing", async (t) => {
  const report = fixture(t);
  if (!report) return;
  const { store, history, scan } = rig();
  const summary = summaryOf(report);
  const first = await scan(summary);
  assert.equal(first.result.diff.first, true);
  assert.deepEqual(first.result.diff.new, { critical: 0, high: 0, medium: 0, low: 0, info: 0 });
  assert.deepEqual(first.result.diff.open, { critical: 5, high: 9, medium: 33, low: 4, info: 2 });
  assert.deepEqual(first.result.counts, summary.counts);
  assert.equal(first.result.durationMs, 2 * HOUR);
  assert.deepEqual(first.fresh, []);
  assert.equal(first.result.suspect, undefined);

  const before =
    JSON.stringify(await store.entries(NS.scans)) + JSON.stringify(await store.entries(NS.projects));
  const again = await history.record({ ...first.ended, endedAt: first.ended.endedAt + 1 });
  assert.deepEqual(again.result, first.result);
  assert.equal(
    JSON.stringify(await store.entries(NS.scans)) + JSON.stringify(await store.entries(NS.projects)),
    before,
  );
  assert.deepEqual(await history.result("s1"), first.result);
});

test("a sequence of scans: new, fixed, still open, and a finding that comes back is new again", async (t) => {
  const report = fixture(t);
  if (!report) return;
  const { history, scan } = rig();
  const full = summaryOf(report);
  await scan(full);

  const second = await scan(summaryOf(variant(report, "command-injection", "q")));
  assert.equal(second.result.diff.first, false);
  assert.deepEqual(second.result.diff.fixed, { critical: 1, high: 0, medium: 0, low: 0, info: 0 });
  const xssSeverity = full.findings.find((f) => f.slug === "xss")?.severity ?? "info";
  assert.equal(second.result.diff.new[xssSeverity], 1);
  assert.equal(
    Object.values(second.result.diff.new).reduce((a, b) => a + b, 0),
    1,
  );
  assert.equal(
    Object.values(second.result.diff.open).reduce((a, b) => a + b, 0),
    52,
  );
  assert.deepEqual(
    second.fresh.map((f) => f.location?.parameter),
    ["q"],
  );

  const now = await history.current("p1");
  assert.equal(now?.scanId, "s2");
  assert.deepEqual(
    now?.findings.filter((f) => f.status === "fixed").map((f) => [f.title, f.severity]),
    [["Command Injection", "critical"]],
  );
  assert.equal(now?.findings.filter((f) => f.status === "new").length, 1);

  const third = await scan(full);
  assert.deepEqual(third.result.diff.new, { critical: 1, high: 0, medium: 0, low: 0, info: 0 }, "came back");
  assert.equal(third.result.diff.fixed[xssSeverity], 1);
  assert.equal(third.fresh[0]?.slug, "command-injection");
});

test("accepted and false positives are counted apart, never new; an expired acceptance is open again", async (t) => {
  const report = fixture(t);
  if (!report) return;
  const { clock, decisions, history, scan } = rig();
  const full = summaryOf(report);
  const injection = printOf(full, "command-injection");
  const deserialization = printOf(full, "insecure-deserialization");
  await scan(summaryOf(variant(report, "command-injection")));

  decisions.decide("accepted", injection, clock.now() + 3 * DAY);
  decisions.decide("false_positive", deserialization);
  const second = await scan(full);
  assert.equal(second.result.diff.accepted, 1);
  assert.equal(second.result.diff.falsePositive, 1);
  assert.deepEqual(second.result.diff.new, { critical: 0, high: 0, medium: 0, low: 0, info: 0 });
  assert.deepEqual(second.fresh, []);
  const listed = await history.current("p1");
  assert.equal(listed?.findings.find((f) => f.fingerprint === injection)?.status, "accepted");
  assert.equal(listed?.findings.find((f) => f.fingerprint === deserialization)?.status, "false_positive");

  clock.advance(3 * DAY);
  const third = await scan(full);
  assert.equal(third.result.diff.accepted, 0);
  assert.equal(third.result.diff.falsePositive, 1);
  assert.equal(third.result.diff.open.critical, 5, "the expired acceptance is open again, not new");
  assert.equal(third.result.diff.new.critical, 0);
  assert.equal(
    (await history.current("p1"))?.findings.find((f) => f.fingerprint === injection)?.status,
    "open",
  );
});

test("suspect: much shorter than usual, or nothing found after many; the reasons say why", async (t) => {
  const report = fixture(t);
  if (!report) return;
  const { scan } = rig();
  const full = summaryOf(report);
  for (let i = 0; i < 5; i++) assert.equal((await scan(full, 2 * HOUR)).result.suspect, undefined);
  const empty: FindingsSummary = {
    counts: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
    total: 0,
    findings: [],
  };
  const quick = await scan(empty, 4 * 60_000);
  assert.deepEqual(quick.result.suspect?.reasons, [
    "0 findings, but the scan ran 4 min against a usual 2 h: the login or the target may have failed",
    "0 findings, but the last 5 scans found 53 as a rule: the login, the target or the scope may have changed",
  ]);
  assert.equal(quick.result.diff.fixed.critical, 5);
  // Forty minutes is a third of two hours: not under it.
  assert.equal((await scan(full, 40 * 60_000)).result.suspect, undefined);
  const partial = await scan({ ...full, scannerErrors: { count: 30, checks: 100 } });
  assert.deepEqual(partial.result.suspect?.reasons, [
    "the scanner reported 30 of 100 checks as errors: the result is partial",
  ]);
});

test("a scan the bot never saw running has no duration to judge, now or as an earlier scan", async (t) => {
  const report = fixture(t);
  if (!report) return;
  const { history, scan } = rig();
  const full = summaryOf(report);
  for (let i = 0; i < 3; i++) await scan(full, 2 * HOUR);
  const ended = (scanId: string, durationKnown: boolean) => ({
    scanId,
    projectId: "p1",
    scanner: "crashtest",
    outcome: "finished" as const,
    startedAt: Date.UTC(2026, 6, 1),
    endedAt: Date.UTC(2026, 6, 1) + 1000,
    durationKnown,
    summary: full,
  });
  // Attached after its end: a second between first sight and end says nothing about how long it ran.
  assert.equal((await history.record(ended("attached", false))).result.suspect, undefined);
  const quick = await history.record({
    ...ended("quick", true),
    startedAt: Date.UTC(2026, 6, 2),
    endedAt: Date.UTC(2026, 6, 2) + 60_000,
  });
  assert.deepEqual(quick.result.suspect?.reasons, [
    "53 findings, but the scan ran 1 min against a usual 2 h: the login or the target may have failed",
  ]);
});

test("records expire after the retention; the project's index keeps only scans within it", async (t) => {
  const report = fixture(t);
  if (!report) return;
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const store = new MemoryStore(clock);
  const history = new FindingsHistory({
    store,
    clock,
    decisions: new Decisions(),
    options: { retentionDays: 10 },
  });
  const summary = summaryOf(report);
  const base = { projectId: "p1", scanner: "crashtest", outcome: "finished" as const, summary };
  await history.record({ ...base, scanId: "old", startedAt: clock.now() - HOUR, endedAt: clock.now() });
  clock.advance(11 * DAY);
  assert.equal(await history.result("old"), undefined);
  const next = await history.record({
    ...base,
    scanId: "new",
    startedAt: clock.now() - HOUR,
    endedAt: clock.now(),
  });
  assert.equal(next.result.diff.first, true, "the expired scan is not compared with");
  assert.equal(await history.finding("p1", printOf(summary, "xss")).then((f) => f?.lastSeenScanId), "new");
  assert.equal(await history.finding("p1", "0".repeat(20)), undefined);
});
