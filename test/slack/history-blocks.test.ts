import assert from "node:assert/strict";
import { test } from "node:test";
import type { ScanResult } from "../../src/domain/findings/types.js";
import type { Finding, FindingsSummary } from "../../src/domain/ports.js";
import { scanCard } from "../../src/slack/blocks/cards.js";
import { findingsSummaryMessage } from "../../src/slack/blocks/findings.js";
import { diffLine, historyCardBlocks, suspectText } from "../../src/slack/blocks/history.js";

const zero = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
const result = (over: Partial<ScanResult["diff"]> = {}, suspect?: string[]): ScanResult => ({
  scanId: "42",
  projectId: "p1",
  outcome: "finished",
  startedAt: 0,
  endedAt: 1,
  durationMs: 1,
  counts: zero,
  total: 0,
  diff: { first: false, new: zero, fixed: zero, open: zero, accepted: 0, falsePositive: 0, ...over },
  ...(suspect ? { suspect: { reasons: suspect } } : {}),
});

test("the diff line: new by severity, fixed, still open, accepted and false positives when any", () => {
  assert.equal(
    diffLine(
      result({
        new: { ...zero, high: 2, medium: 1 },
        fixed: { ...zero, low: 3 },
        open: { ...zero, info: 40 },
        accepted: 1,
      }),
    ),
    "New 2 high, 1 medium · Fixed 3 · Still open 40 · Accepted 1",
  );
  assert.equal(diffLine(result({ falsePositive: 2 })), "New 0 · Fixed 0 · Still open 0 · False positive 2");
  assert.equal(diffLine(result({ first: true })), "First scan of this project, nothing to compare.");
});

test("the suspect warning quotes the reasons, escaped", () => {
  assert.equal(suspectText(result()), undefined);
  const text = suspectText(
    result({}, ["0 findings, but the scan ran 4 min against a usual 2 h", "<!channel>"]),
  );
  assert.match(
    text ?? "",
    /^:warning: \*This result may not be trustworthy:\* 0 findings, but the scan ran 4 min/,
  );
  assert.ok(!text?.includes("<!channel>"));
  assert.ok(text?.includes("&lt;!channel&gt;"));
});

test("the final card carries the diff and the warning; without a result it is unchanged", () => {
  const scan = {
    scanId: "42",
    projectId: "p1",
    projectName: "shop",
    targetUrl: "https://shop.example",
    backend: "crashtest",
    requestedBy: "U1",
    channel: "C1",
    state: "finished" as const,
    startedAt: 0,
    updatedAt: 0,
  };
  assert.deepEqual(scanCard(scan, { result: undefined }), scanCard(scan));
  const card = JSON.stringify(scanCard(scan, { result: result({ first: true }, ["ran 4 min"]) }).blocks);
  assert.match(card, /Since the last scan:\* First scan of this project/);
  assert.match(card, /may not be trustworthy/);
  assert.equal(historyCardBlocks(undefined).length, 0);
});

test("the summary shows the diff under the counts and lists new findings first, marked", () => {
  const finding = (title: string, severity: Finding["severity"]): Finding => ({
    title,
    severity,
    category: "x",
  });
  const critical = finding("SQL Injection", "critical");
  const fresh = finding("Open Port", "low");
  const summary: FindingsSummary = {
    counts: { ...zero, critical: 1, low: 1 },
    total: 2,
    findings: [critical, fresh],
  };
  const message = findingsSummaryMessage({ scanId: "42", projectName: "shop" }, summary, {
    result: result({ new: { ...zero, low: 1 }, open: { ...zero, critical: 1 } }),
    fresh: [fresh],
  });
  const texts = message.blocks.map((b) => JSON.stringify(b));
  assert.match(texts[1] ?? "", /Since the last scan:\* New 1 low · Fixed 0 · Still open 1/);
  const listed = texts.filter((t) => t.includes("Open Port") || t.includes("SQL Injection"));
  assert.match(listed[0] ?? "", /\*New\* · .*Open Port/);
  assert.doesNotMatch(listed[1] ?? "", /\*New\*/);
  // Nothing found: the warning still shows.
  const empty = findingsSummaryMessage(
    { scanId: "42", projectName: "shop" },
    { counts: zero, total: 0, findings: [] },
    { result: result({}, ["0 findings, but the scan ran 4 min against a usual 2 h"]) },
  );
  assert.match(JSON.stringify(empty.blocks), /may not be trustworthy/);
});

test("a summary asked for many findings stays within 50 blocks with the history lines", () => {
  const findings: Finding[] = Array.from({ length: 80 }, (_, i) => ({
    title: `Finding ${i}`,
    severity: "low",
    category: "x",
    slug: `check-${i}`,
  }));
  const summary: FindingsSummary = { counts: { ...zero, low: 80 }, total: 80, findings };
  const message = findingsSummaryMessage({ scanId: "42", projectName: "shop" }, summary, {
    top: 100,
    result: result({}, ["ran 4 min"]),
    fresh: findings.slice(0, 3),
  });
  assert.ok(message.blocks.length <= 50, String(message.blocks.length));
});
