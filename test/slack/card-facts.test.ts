import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { webApi } from "@slack/bolt";
import { SlackEmulator } from "../../dev/slack-emulator/index.js";
import type { ScanResult } from "../../src/domain/findings/types.js";
import type { ScanRecord } from "../../src/domain/scans.js";
import type { WatchRecord } from "../../src/domain/watch/index.js";
import { scanCard } from "../../src/slack/blocks/cards.js";
import { CardFacts, previousDuration, refusedFormats, scannerLink } from "../../src/slack/card-facts.js";
import { SlackGateway } from "../../src/slack/gateway.js";
import { SlackNotifier } from "../../src/slack/notifier.js";
import { picture } from "../support/block-picture.js";
import { captureLogger } from "../support/logs.js";
import { emulatorClient } from "../support/parts.js";

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 1, 9);
const CHANNEL = "C0SECURITY";

const record = (id: string, overrides: Partial<ScanRecord> = {}): ScanRecord => ({
  scanId: id,
  projectId: "7",
  projectName: "web-shop",
  targetUrl: "https://shop.example.com",
  backend: "crashtest",
  requestedBy: "U0ALICE",
  channel: CHANNEL,
  state: "finished",
  startedAt: T0,
  updatedAt: T0,
  ...overrides,
});

test("previous duration: the project's latest finished scan with times, not this one, not other projects", () => {
  const now = record("3", { state: "running", runningAt: T0 + 100 * MIN });
  const scans = [
    record("1", { runningAt: T0, endedAt: T0 + 30 * MIN }),
    record("2", { runningAt: T0 + 40 * MIN, endedAt: T0 + 80 * MIN }),
    record("9", { projectId: "8", runningAt: T0, endedAt: T0 + 99 * MIN }),
    record("4", { state: "stopped", runningAt: T0 + 81 * MIN, endedAt: T0 + 90 * MIN }),
    // Stored before the times existed: skipped, not guessed.
    record("0"),
    now,
  ];
  assert.equal(previousDuration(scans, now), 40 * MIN);
  assert.equal(previousDuration([now], now), undefined);
});

test("scanner link: the IDs are encoded into the template", () => {
  const template = "https://app.example.com/projects/{projectId}/scans/{scanId}?tab=findings";
  assert.equal(
    scannerLink(template, { projectId: "a b/../c", scanId: "42" }),
    "https://app.example.com/projects/a%20b%2F..%2Fc/scans/42?tab=findings",
  );
});

test("view: formats and findings only once ended; a failing history read still draws the card", async () => {
  const logs = captureLogger();
  const result = { counts: { critical: 1, high: 0, medium: 0, low: 0, info: 0 }, total: 1 } as ScanResult;
  let fail = false;
  const facts = new CardFacts({
    clock: { now: () => T0 + 5 * MIN },
    logger: logs.logger,
    scans: { getScan: async () => undefined, listScans: async () => [] },
    reportFormats: ["pdf", "json"],
    scannerUiUrl: "https://app.example.com/{projectId}/{scanId}",
    lookup: {
      result: async () => {
        if (fail) throw new Error("store down");
        return result;
      },
    },
  });
  const running = await facts.view(record("5", { state: "running" }));
  assert.equal(running.reportFormats, undefined);
  assert.equal(running.findings, undefined);
  assert.equal(running.scannerUrl, "https://app.example.com/7/5");
  const ended = await facts.view(record("5"));
  assert.deepEqual(ended.findings, { counts: result.counts, total: 1 });
  assert.deepEqual(ended.reportFormats, ["pdf", "json"]);
  fail = true;
  const degraded = await facts.view(record("5"));
  assert.equal(degraded.findings, undefined);
  assert.ok(logs.lines.some((l) => l.includes("scan card drawn without the findings history")));
});

test("refused formats come from the watch's refused file effects", () => {
  const watch = {
    effects: [
      { id: "file:pdf", kind: "file", status: "refused", format: "pdf" },
      { id: "file:json", kind: "file", status: "done", format: "json" },
    ],
  } as unknown as WatchRecord;
  assert.deepEqual(refusedFormats(watch), ["pdf"]);
  assert.deepEqual(refusedFormats(undefined), []);
});

let emulator: SlackEmulator;
let client: webApi.WebClient;
before(async () => {
  emulator = await SlackEmulator.start();
  client = emulatorClient(emulator);
});
after(() => emulator.close());

test("notifier: the summary's counts and a refused upload reach the card (validated by the emulator)", async () => {
  const logs = captureLogger();
  const scan = record("77", { runningAt: T0, endedAt: T0 + 20 * MIN, rawCode: "102" });
  const first = scanCard(scan);
  const posted = await client.chat.postMessage({ channel: CHANNEL, text: first.text, blocks: first.blocks });
  const card = { channel: CHANNEL, ts: String(posted.ts) };
  const facts = new CardFacts({
    clock: { now: () => T0 + 21 * MIN },
    logger: logs.logger,
    scans: { getScan: async () => ({ ...scan, card }), listScans: async () => [] },
    reportFormats: ["pdf", "json"],
  });
  const notifier = new SlackNotifier({ slack: new SlackGateway(client), logger: logs.logger, facts });
  const subject = { scanId: "77", projectId: "7", projectName: "web-shop" };
  const counts = { critical: 0, high: 1, medium: 2, low: 0, info: 0 };
  await notifier.post(
    card,
    subject,
    { kind: "summary", summary: { counts, total: 3, findings: [] }, format: "json" },
    "summary",
  );
  const shown = picture(emulator.message(CHANNEL, card.ts)?.blocks ?? []);
  assert.ok(
    shown.includes("*3 findings:* :red_circle: 1 high · :large_orange_circle: 2 medium"),
    shown.join("\n"),
  );
  assert.equal(shown.at(-1), "[Report… ▾ 77:pdf, 77:json] [Rescan]");
  await notifier.post(
    card,
    subject,
    { kind: "files_refused", refused: [{ format: "pdf", reason: "file uploads are off" }] },
    "files_refused",
  );
  const after = picture(emulator.message(CHANNEL, card.ts)?.blocks ?? []);
  assert.ok(
    after.some((l) => l.startsWith(":warning: Slack did not take the PDF report file")),
    after.join("\n"),
  );
});
