import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { SlackEmulator } from "../../dev/slack-emulator/index.js";
import { FindingsHistory } from "../../src/domain/findings/history.js";
import type { Clock, FindingsSummary } from "../../src/domain/ports.js";
import { ScanBook } from "../../src/domain/scan-record.js";
import type { ScanRecord } from "../../src/domain/scans.js";
import { ScanWatcher } from "../../src/domain/watch/index.js";
import { startSimulator, summarizeReport } from "../../src/scanners/index.js";
import { scanCard } from "../../src/slack/blocks/cards.js";
import { CardFacts } from "../../src/slack/card-facts.js";
import { SlackGateway } from "../../src/slack/gateway.js";
import { SlackNotifier } from "../../src/slack/notifier.js";
import { createScanWatcher } from "../../src/slack/wiring.js";
import { openStore } from "../../src/store/index.js";
import { captureLogger } from "../support/logs.js";
import { emulatorClient, simulatorScanner } from "../support/parts.js";

/**
 * Findings history end to end: two scans of one project through the Crashtest adapter over HTTP to
 * the simulator, the watcher, the real store and the Slack notifier over a real Web client to the
 * Slack emulator. The second scan's card shows the diff against the first.
 */

const CHANNEL = "C0SECURITY";

class TestClock implements Clock {
  current = Date.UTC(2026, 0, 5, 9, 0, 0);
  now(): number {
    return this.current;
  }
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function rig() {
  const clock = new TestClock();
  const logs = captureLogger();
  const sim = await startSimulator({ clock, timing: { queueSeconds: 60, runSeconds: 300 } });
  cleanups.push(() => sim.close());
  const emulator = await SlackEmulator.start({ now: () => clock.now() });
  cleanups.push(() => emulator.close());
  const store = await openStore({ url: "memory://" });
  cleanups.push(() => store.close());
  const client = emulatorClient(emulator);
  const scanner = simulatorScanner(sim, logs.logger);
  cleanups.push(() => scanner.close());
  const scans = new ScanBook(store, clock);
  const history = new FindingsHistory({ store, clock, decisions: { inForce: async () => new Map() } });
  const project = await scanner.createProject({ name: "web-shop", url: "https://web-shop.example.test" });

  /** `scan start` without Slack's inbound side: the scan at the scanner, its card, its record. */
  const startScan = async () => {
    const started = await scanner.startScan(project.id);
    const scan: ScanRecord = {
      scanId: started.scanId,
      projectId: project.id,
      projectName: project.name,
      targetUrl: project.url,
      backend: scanner.name,
      requestedBy: "U0ALICE",
      channel: CHANNEL,
      state: "queued",
      startedAt: clock.now(),
      updatedAt: clock.now(),
    };
    const card = scanCard(scan);
    const posted = await client.chat.postMessage({ channel: CHANNEL, text: card.text, blocks: card.blocks });
    const withCard = { ...scan, card: { channel: CHANNEL, ts: String(posted.ts) } };
    await scans.started(withCard);
    return withCard;
  };
  /** Ticks every 15 s until the watch ended (bounded). */
  const runToEnd = async (
    tick: () => Promise<unknown>,
    watcher: Pick<ScanWatcher, "getWatch">,
    scanId: string,
  ) => {
    for (let i = 0; i < 100; i++) {
      clock.current += 15_000;
      await tick();
      if ((await watcher.getWatch(scanId))?.phase === "ended") return;
    }
    assert.fail("the scan did not end");
  };
  const cardText = (ts: string) => JSON.stringify(emulator.message(CHANNEL, ts)?.blocks ?? []);
  const thread = (ts: string) => emulator.thread(CHANNEL, ts);
  return { clock, logs, store, client, scanner, scans, history, startScan, runToEnd, cardText, thread };
}

test("two scans of one project: the second card and summary show what is new, fixed and still open", async () => {
  const r = await rig();
  // Variants of the simulator's report built here: the first scan misses the command injection,
  // the second no longer finds the open port.
  let drop = "Command Injection";
  const summarize = (report: Parameters<typeof summarizeReport>[0]): FindingsSummary => {
    const full = summarizeReport(report);
    const findings = full.findings.filter((f) => f.title !== drop);
    const counts = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
    for (const f of findings) counts[f.severity] += 1;
    return { counts, total: findings.length, findings };
  };
  const watcher = new ScanWatcher({
    scanner: r.scanner,
    store: r.store,
    clock: r.clock,
    logger: r.logs.logger,
    scans: r.scans,
    output: new SlackNotifier({
      slack: new SlackGateway(r.client),
      logger: r.logs.logger,
      facts: new CardFacts({
        clock: r.clock,
        logger: r.logs.logger,
        scans: r.scans,
        reportFormats: r.scanner.reportFormats,
        lookup: r.history,
      }),
    }),
    summarize,
    history: r.history,
    options: { random: () => 0, reportFormats: ["json"] },
  });

  const first = await r.startScan();
  await watcher.watch(first);
  await r.runToEnd(() => watcher.tick(), watcher, first.scanId);
  assert.match(r.cardText(first.card.ts), /First scan of this project, nothing to compare/);

  drop = "Open Port";
  const second = await r.startScan();
  await watcher.watch(second);
  await r.runToEnd(() => watcher.tick(), watcher, second.scanId);
  const card = r.cardText(second.card.ts);
  assert.match(card, /Since the last scan:\* New 1 critical · Fixed 1 · Still open 4/);
  assert.match(r.cardText(first.card.ts), /First scan/, "the first card is left as it was");

  const summary = r
    .thread(second.card.ts)
    .find((m) => (m.metadata?.event_payload as { effect?: string })?.effect === "summary");
  const blocks = JSON.stringify(summary?.blocks);
  assert.match(blocks, /New 1 critical · Fixed 1 · Still open 4/);
  // The new finding is listed first, marked.
  const listed = (summary?.blocks ?? [])
    .map((b) => JSON.stringify(b))
    .filter((b) => b.includes("Command Injection") || b.includes("TLS"));
  assert.match(listed[0] ?? "", /\*New\* · .*Command Injection/);
  assert.deepEqual((await r.history.result(second.scanId))?.diff.fixed.low, 1);
});

test("the production wiring records each scan and the second card shows the diff", async () => {
  const r = await rig();
  const wired = createScanWatcher({
    scanner: r.scanner,
    scans: r.scans,
    store: r.store,
    clock: r.clock,
    logger: r.logs.logger,
    slack: new SlackGateway(r.client),
    history: r.history,
    facts: new CardFacts({
      clock: r.clock,
      logger: r.logs.logger,
      scans: r.scans,
      reportFormats: r.scanner.reportFormats,
      lookup: r.history,
    }),
    settings: { pollIntervalSeconds: 120, maxRequestsPerMinute: 120, reportFormats: ["json"] },
    options: { random: () => 0 },
  });
  await wired.start();
  for (const expected of [/First scan of this project/, /New 0 · Fixed 0 · Still open 6/]) {
    const scan = await r.startScan();
    await wired.watching.watch(scan);
    await r.runToEnd(() => wired.watcher.tick(), wired.watcher, scan.scanId);
    assert.match(r.cardText(scan.card.ts), expected);
  }
  await wired.stop();
});
