import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ACTIONS } from "../../src/slack/blocks/cards.js";
import { picture } from "../support/block-picture.js";
import {
  clickFor,
  commandReply,
  eventually,
  PEOPLE,
  slackQuiet,
  startQuickScanBot,
  type TestBot,
  visibleText,
} from "../support/bot.js";

/**
 * The ended scan card's controls through the real bot and the emulator's signed clicks: Report posts
 * the chosen report into the card's thread, Rescan goes through roles and four-eyes approval like
 * `/crashtest scan start`, Open in scanner links to SCANNER_UI_URL.
 */
const CHANNEL = "C0SECURITY";
let t: TestBot;

before(async () => {
  t = await startQuickScanBot({
    REPORT_FORMATS: "pdf",
    SCANNER_UI_URL: "https://scanner.example.com/projects/{projectId}/scans/{scanId}",
  });
});
after(() => t.close());

async function command(user: string, text: string) {
  return visibleText(await commandReply(t, user, CHANNEL, text));
}

async function click(user: string, messageTs: string, actionId: string, value?: string) {
  const { answer } = await clickFor(t, {
    user,
    channel: CHANNEL,
    messageTs,
    actionId,
    ...(value ? { value } : {}),
  });
  return () => answer(10_000);
}

const requestCards = () =>
  t.emulator.channelMessages(CHANNEL).filter((m) => /^Scan request for shop/.test(m.text));
const scanCards = () => t.emulator.channelMessages(CHANNEL).filter((m) => /^Scan \d+ of shop/.test(m.text));

/** Requests a scan as the operator, approves it as the approver, and waits for its card to end. */
async function approvedScan(requestCount: number) {
  const request = await eventually(() => requestCards()[requestCount]);
  await click(PEOPLE.approver, request.ts, ACTIONS.approve);
  const card = await eventually(() => scanCards()[requestCount]);
  const ended = await eventually(() => {
    const shown = t.emulator.message(CHANNEL, card.ts);
    return shown && JSON.stringify(shown.blocks).includes(ACTIONS.rescan) ? shown : undefined;
  }, 15_000);
  return { ts: card.ts, scanId: /^Scan (\d+)/.exec(card.text)?.[1] ?? "", blocks: ended.blocks };
}

test("an ended card: Report posts into its thread, Rescan goes through approvals, Open in scanner links", async () => {
  assert.match(await command(PEOPLE.operator, "project create shop https://shop.example.com"), /created/);
  assert.match(await command(PEOPLE.operator, "scan start shop"), /approver other than you/);
  const card = await approvedScan(0);
  const lines = picture(card.blocks as unknown[]);
  assert.match(lines[1] ?? "", /^:white_check_mark: \*Finished in under 1 min\*$/);
  assert.ok(
    lines.some((l) => l.startsWith("Requested by <@U0CAROL> · approved by <@U0BOB>")),
    lines.join("\n"),
  );
  const projectId = (await t.bot.store.entries<{ projectId: string }>("scans"))[0]?.[1].projectId;
  assert.equal(
    lines.at(-1),
    `[Report… ▾ ${card.scanId}:json, ${card.scanId}:pdf, ${card.scanId}:xml] [Rescan] [Open in scanner → https://scanner.example.com/projects/${projectId}/scans/${card.scanId}]`,
  );
  // The summary's counts reach the card once the summary is in the thread.
  await eventually(() => {
    const shown = picture((t.emulator.message(CHANNEL, card.ts)?.blocks ?? []) as unknown[]);
    return shown.some((l) => /^\*\d+ findings?:\*/.test(l));
  }, 10_000);

  // Report: the JSON report (not among REPORT_FORMATS) lands in the card's thread.
  const files = () => t.emulator.filesIn(CHANNEL, card.ts).map((f) => f.name);
  await eventually(() => files().some((n) => n.endsWith(".pdf")), 10_000);
  const reported = await click(PEOPLE.operator, card.ts, ACTIONS.report, `${card.scanId}:json`);
  assert.match(await reported(), /JSON report of scan \d+ uploaded in the .*thread/);
  assert.ok(
    files().some((n) => n.endsWith(".json")),
    files().join(", "),
  );
  // A forged menu value is refused, and someone without the right gets no report.
  const forged = await click(PEOPLE.operator, card.ts, ACTIONS.report, `${card.scanId}:exe`);
  assert.match(await forged(), /not valid any more/);
  const stranger = await click(PEOPLE.stranger, card.ts, ACTIONS.report, `${card.scanId}:pdf`);
  assert.match(await stranger(), /not allowed/i);
  assert.equal(files().filter((n) => n.endsWith(".pdf")).length, 1);

  // Rescan: a stranger is refused; the operator's click opens a request an approver must decide.
  const refused = await click(PEOPLE.stranger, card.ts, ACTIONS.rescan);
  assert.match(await refused(), /not allowed/i);
  assert.equal(requestCards().length, 1);
  const rescan = await click(PEOPLE.operator, card.ts, ACTIONS.rescan);
  assert.match(await rescan(), /Scan of \*shop\* requested.*An approver other than you has to approve it/s);
  const request = await eventually(() => requestCards()[1]);
  assert.match(visibleText(request), /Requested by <@U0CAROL>/);
  assert.equal(scanCards().length, 1, "nothing starts before the approval");
  const self = await click(PEOPLE.operator, request.ts, ACTIONS.approve);
  assert.match(await self(), /not allowed to approve/);
  const second = await approvedScan(1);
  assert.notEqual(second.scanId, card.scanId);

  // Open in scanner: Slack opens the link; the click is acknowledged and changes nothing.
  await slackQuiet(t.emulator);
  const before = t.emulator.calls().length;
  const open = await t.emulator.click({
    user: PEOPLE.stranger,
    channel: CHANNEL,
    messageTs: card.ts,
    actionId: ACTIONS.openScanner,
  });
  assert.equal(open.status, 200);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(
    t.emulator
      .calls()
      .slice(before)
      .map((c) => c.method),
    [],
    "no Slack call for a link click",
  );
});
