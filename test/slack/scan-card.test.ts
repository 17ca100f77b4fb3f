import assert from "node:assert/strict";
import { test } from "node:test";
import type { ScanRecord } from "../../src/domain/scans.js";
import { ACTIONS, type CardView, scanCard } from "../../src/slack/blocks/cards.js";
import { LIMITS } from "../../src/slack/blocks/common.js";
import { picture } from "../support/block-picture.js";

const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);
const MIN = 60_000;
const at = (minutes: number) => T0 + minutes * MIN;
const ago = (minutes: number) => {
  const ms = at(minutes);
  return `<!date^${ms / 1000}^{ago}|at 2026-12-01 ${new Date(ms).toISOString().slice(11, 16)} UTC>`;
};
const date = (minutes: number) => {
  const ms = at(minutes);
  const hhmm = new Date(ms).toISOString().slice(11, 16);
  return `<!date^${ms / 1000}^{date_short_pretty} {time}|2026-12-01 ${hhmm} UTC>`;
};

const base: ScanRecord = {
  scanId: "4711",
  projectId: "7",
  projectName: "web-shop",
  targetUrl: "https://shop.example.com",
  backend: "crashtest",
  requestedBy: "U0ALICE",
  approvedBy: "U0BOB",
  channel: "C1",
  state: "queued",
  rawCode: "100",
  startedAt: at(0),
  updatedAt: at(0),
};
const link = "https://app.example.com/projects/7/scans/4711";
const formats = ["pdf", "xml", "json"] as const;

function draw(scan: ScanRecord, view: CardView): string[] {
  const card = scanCard(scan, view);
  assert.ok(card.blocks.length <= LIMITS.blocksPerMessage);
  return picture(card.blocks);
}

const STOP = "[Stop scan]";
const ENDED = `[Report… ▾ 4711:pdf, 4711:xml, 4711:json] [Rescan] [Open in scanner → ${link}]`;

test("queued: says Queued and since when (kept current by the client); no Started yet; Stop", () => {
  assert.deepEqual(draw(base, { now: at(3), scannerUrl: link }), [
    "*Scan 4711* · *web-shop*",
    `:hourglass_flowing_sand: *Queued* · requested ${ago(0)}`,
    "*Target* https://shop.example.com",
    `*Requested* ${date(0)}`,
    "Requested by <@U0ALICE> · approved by <@U0BOB>",
    "crashtest · scan 4711 · status `100`",
    `${STOP} [Open in scanner → ${link}]`,
  ]);
});

test("running (Crashtest): started how long ago, and when it should end after the project's last scan", () => {
  const running = { ...base, state: "running" as const, rawCode: "101", runningAt: at(2) };
  assert.deepEqual(draw(running, { now: at(14), previousDurationMs: 40 * MIN }), [
    "*Scan 4711* · *web-shop*",
    `:arrows_counterclockwise: *Running* · started ${ago(2)}`,
    "*Target* https://shop.example.com",
    `*Requested* ${date(0)}`,
    `*Started* ${date(2)}`,
    `The project's last scan took 40 min: if this one is alike, it ends around ${date(42)}`,
    "Requested by <@U0ALICE> · approved by <@U0BOB>",
    "crashtest · scan 4711 · status `101`",
    STOP,
  ]);
  const first = draw(running, { now: at(14) });
  assert.ok(!first.some((l) => l.includes("ends around")), "no earlier scan: no guess");
  // The notification text is written once, so it says how long at that moment.
  assert.equal(scanCard(running, { now: at(14) }).text, "Scan 4711 of web-shop: Running for 12 min");
});

test("running (DAST Essentials): the scanner's estimate gives an ETA; the scanner's words only in details", () => {
  const running = {
    ...base,
    backend: "dast-essentials",
    state: "running" as const,
    rawCode: "RUNNING",
    rawText: "Running (analysis #3)",
    runningAt: at(0),
    estimatedDurationMs: 30 * MIN,
  };
  const lines = draw(running, { now: at(12) });
  assert.equal(lines[1], `:arrows_counterclockwise: *Running* · started ${ago(0)}`);
  assert.ok(
    lines.includes(`Expected to end around ${date(30)} (the scanner estimates 30 min)`),
    lines.join("\n"),
  );
  assert.ok(lines.includes("dast-essentials · scan 4711 · status `RUNNING` (Running (analysis #3))"));
});

test("a stop request shows on the card and the Stop button goes", () => {
  const stopping = {
    ...base,
    state: "running" as const,
    runningAt: at(0),
    stopRequestedBy: "U0CAROL",
    stopRequestedAt: at(8),
  };
  const lines = draw(stopping, { now: at(8) });
  assert.equal(lines[1], `:arrows_counterclockwise: *Running* · started ${ago(0)} · stopping`);
  assert.ok(
    lines.includes(
      `Requested by <@U0ALICE> · approved by <@U0BOB> · stop requested by <@U0CAROL> at ${date(8)}`,
    ),
  );
  assert.ok(!lines.includes(STOP));
});

test("finished with findings: duration, counts in one line, Report menu, Rescan, Open in scanner", () => {
  const finished = { ...base, state: "finished" as const, rawCode: "102", runningAt: at(1), endedAt: at(65) };
  const view: CardView = {
    now: at(66),
    findings: { counts: { critical: 0, high: 2, medium: 3, low: 1, info: 4 }, total: 10 },
    reportFormats: formats,
    scannerUrl: link,
  };
  assert.deepEqual(draw(finished, view), [
    "*Scan 4711* · *web-shop*",
    ":white_check_mark: *Finished in 1 h 04 min*",
    "*10 findings:* :red_circle: 2 high · :large_orange_circle: 3 medium · :large_yellow_circle: 1 low · :large_blue_circle: 4 info",
    "*Target* https://shop.example.com",
    `*Requested* ${date(0)}`,
    `*Started* ${date(1)}`,
    `*Ended* ${date(65)}`,
    "Requested by <@U0ALICE> · approved by <@U0BOB>",
    "crashtest · scan 4711 · status `102`",
    ENDED,
  ]);
  assert.equal(scanCard(finished, view).text, "Scan 4711 of web-shop: Finished in 1 h 04 min");
});

test("finished without findings says so plainly", () => {
  const finished = { ...base, state: "finished" as const, rawCode: "102", runningAt: at(1), endedAt: at(9) };
  const lines = draw(finished, {
    now: at(9),
    findings: { counts: { critical: 0, high: 0, medium: 0, low: 0, info: 0 }, total: 0 },
    reportFormats: formats,
  });
  assert.deepEqual(lines.slice(1, 3), [":white_check_mark: *Finished in 8 min*", "*No findings.*"]);
  assert.equal(
    lines.at(-1),
    "[Report… ▾ 4711:pdf, 4711:xml, 4711:json] [Rescan]",
    "no link without SCANNER_UI_URL",
  );
});

test("stopped: by whom and after how long; who asked stays on the card", () => {
  const stopped = {
    ...base,
    state: "stopped" as const,
    rawCode: "103",
    runningAt: at(0),
    stopRequestedBy: "U0CAROL",
    stopRequestedAt: at(7),
    endedAt: at(8),
  };
  const lines = draw(stopped, { now: at(8), reportFormats: formats, scannerUrl: link });
  assert.deepEqual(lines, [
    "*Scan 4711* · *web-shop*",
    ":octagonal_sign: *Stopped by <@U0CAROL> after 8 min*",
    "*Target* https://shop.example.com",
    `*Requested* ${date(0)}`,
    `*Started* ${date(0)}`,
    `*Ended* ${date(8)}`,
    `Requested by <@U0ALICE> · approved by <@U0BOB> · stop requested by <@U0CAROL> at ${date(7)}`,
    "crashtest · scan 4711 · status `103`",
    ENDED,
  ]);
  const atScanner = draw(
    { ...stopped, stopRequestedBy: undefined, stopRequestedAt: undefined } as ScanRecord,
    {},
  );
  assert.equal(atScanner[1], ":octagonal_sign: *Stopped after 8 min*");
});

test("failed: the scanner's reason in the headline (escaped), the raw code only in details", () => {
  const failed = {
    ...base,
    state: "failed" as const,
    rawCode: "104",
    rawText: "Target <https://evil.example|unreachable> <!channel>",
    runningAt: at(0),
    endedAt: at(3),
  };
  const lines = draw(failed, { now: at(3), reportFormats: formats });
  assert.equal(
    lines[1],
    ":x: *Failed after 3 min:* Target &lt;https://evil.example|unreachable&gt; &lt;!channel&gt;",
  );
  assert.equal(lines.filter((l) => l.includes("104")).length, 1);
  assert.ok(lines.includes("crashtest · scan 4711 · status `104`"));
  const silent = draw({ ...failed, rawText: undefined } as ScanRecord, {});
  assert.equal(silent[1], ":x: *Failed after 3 min:* the scanner gave no reason");
});

test("ended with the upload refused: the card points at the Report menu", () => {
  const finished = { ...base, state: "finished" as const, rawCode: "102", runningAt: at(1), endedAt: at(9) };
  const lines = draw(finished, { now: at(10), reportFormats: formats, filesRefused: ["pdf"] });
  assert.ok(
    lines.includes(
      ":warning: Slack did not take the PDF report file into the thread: choose it in *Report* to try again.",
    ),
    lines.join("\n"),
  );
  assert.equal(lines.at(-1), "[Report… ▾ 4711:pdf, 4711:xml, 4711:json] [Rescan]");
});

test("records stored before the card's times: no Started or duration invented", () => {
  const old = { ...base, state: "finished" as const, rawCode: "102" };
  const lines = draw(old, {});
  assert.equal(lines[1], ":white_check_mark: *Finished*");
  assert.ok(!lines.some((l) => l.startsWith("*Started*") || l.startsWith("*Ended*")));
});

test("button values carry IDs only", () => {
  const finished = { ...base, state: "finished" as const, endedAt: at(9) };
  const card = scanCard(finished, { reportFormats: formats, scannerUrl: link });
  const json = JSON.stringify(card.blocks);
  const values = [...json.matchAll(/"value":"([^"]*)"/g)].map((m) => m[1]);
  assert.deepEqual(values, ["4711:pdf", "4711:xml", "4711:json", "4711", "4711"]);
  assert.ok(json.includes(`"action_id":"${ACTIONS.openScanner}"`));
});
