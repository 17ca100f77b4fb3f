import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DECISION_ACTIONS } from "../../src/slack/blocks/decisions.js";
import { NOTICE_EVENT_TYPE } from "../../src/slack/subscriptions.js";
import {
  clickFor,
  commandReply,
  eventually,
  openHome,
  PEOPLE,
  scanToHistory,
  startQuickScanBot,
  type TestBot,
  visibleText,
} from "../support/bot.js";

/**
 * Accept risk through the real bot as main.ts wires it: a scan from Slack watched to its end, Review
 * findings on its summary, the menu on a finding, the form, a second person's approval, and the next
 * scan's card counting the finding as accepted instead of open.
 */
const CHANNEL = "C0SECURITY";
let t: TestBot;

before(async () => {
  t = await startQuickScanBot({ REQUIRE_APPROVAL: "false", REPORT_FORMATS: "json" });
});
after(() => t.close());

async function command(text: string) {
  return visibleText(await commandReply(t, PEOPLE.operator, CHANNEL, text, 10_000));
}

const notices = (channel: string) =>
  t.emulator.channelMessages(channel).filter((m) => m.metadata?.event_type === NOTICE_EVENT_TYPE);

const scanToEnd = (index: number) =>
  scanToHistory(t, { user: PEOPLE.operator, channel: CHANNEL, project: "shop" }, index);

const click = async (user: string, messageTs: string, actionId: string, blockId?: string) =>
  (await clickFor(t, { user, channel: CHANNEL, messageTs, actionId, ...(blockId ? { blockId } : {}) })).seen;

test("accept a finding's risk from the summary; the next scan counts it as accepted", async () => {
  assert.match(await command("project create shop https://shop.example.com"), /created/);
  assert.match(await command("subscribe shop events=approval"), /Subscribed/);
  const first = await scanToEnd(0);
  const summary = await eventually(
    () => t.emulator.thread(CHANNEL, first.ts).find((m) => /^Findings of scan/.test(m.text)),
    10_000,
  );
  const seen = await click(PEOPLE.operator, summary.ts, DECISION_ACTIONS.review);
  const list = await eventually(() => t.emulator.ephemerals(PEOPLE.operator)[seen], 10_000);
  const blocks = (list.blocks ?? []) as Array<{ block_id?: string; accessory?: { action_id?: string } }>;
  const finding = blocks.find((b) => b.accessory?.action_id === DECISION_ACTIONS.menu);
  assert.ok(finding?.block_id, "an open finding with the decision menu");

  const views = t.emulator.views(PEOPLE.operator).length;
  await click(PEOPLE.operator, list.ts, DECISION_ACTIONS.menu, finding.block_id);
  const form = await eventually(() => t.emulator.views(PEOPLE.operator)[views]);
  const cards = t.emulator.channelMessages(CHANNEL).length;
  await t.emulator.submitView({
    user: PEOPLE.operator,
    viewId: form.id,
    values: { reason: { value: "Compensated by the WAF until the fix ships" }, expiry: { value: "90" } },
  });
  const request = await eventually(() =>
    t.emulator
      .channelMessages(CHANNEL)
      .slice(cards)
      .find((m) => /Risk acceptance request/.test(visibleText(m))),
  );
  await eventually(() =>
    t.emulator.ephemerals(PEOPLE.operator).some((m) => /Asked for approval/.test(visibleText(m))),
  );
  const title = /\*([^*]+)\* \((critical|high|medium|low|info)\)/.exec(visibleText(request));
  assert.ok(title, "the card names the finding as history knows it");
  // The channel subscribed to `approval` hears of the request, naming the finding.
  const asked = await eventually(() =>
    notices(CHANNEL).find((m) =>
      /a risk acceptance of \*.+\* by <@\w+> waits for approval/.test(visibleText(m)),
    ),
  );
  assert.ok(visibleText(asked).includes(title[1] ?? "?"), visibleText(asked));
  // The App Home lists the waiting decision for whoever may decide it and for whoever asked.
  for (const user of [PEOPLE.approver, PEOPLE.operator]) {
    const home = await openHome(t, user);
    assert.match(home.text, /Finding decisions waiting\* \(1\)/, user);
    assert.match(
      home.text,
      new RegExp(`risk acceptance · \\*shop\\* · .*${user === PEOPLE.operator ? "yours" : "asked by"}`),
    );
  }
  const self = await click(PEOPLE.operator, request.ts, DECISION_ACTIONS.approve);
  assert.match(
    visibleText(await eventually(() => t.emulator.ephemerals(PEOPLE.operator)[self])),
    /not allowed to approve risk acceptances/,
  );
  await click(PEOPLE.approver, request.ts, DECISION_ACTIONS.approve);
  await eventually(() => /Approved by/.test(visibleText(t.emulator.message(CHANNEL, request.ts))));
  // The requester hears the outcome in their DM.
  await eventually(() =>
    notices(PEOPLE.operator).find((m) =>
      new RegExp(`your risk acceptance request of .+ was approved by <@${PEOPLE.approver}>`).test(
        visibleText(m),
      ),
    ),
  );
  assert.match((await openHome(t, PEOPLE.approver)).text, /Finding decisions waiting\* \(0\)/);

  const second = await scanToEnd(1);
  assert.match(second.text, /Since the last scan:\* New 0 · Fixed 0 · Still open \d+ · Accepted 1/);
  const accepted = await command("findings shop accepted");
  assert.ok(accepted.includes(title[1] ?? "?"), "the accepted list has the finding");
});
