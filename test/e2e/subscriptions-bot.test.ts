import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { NOTICE_EVENT_TYPE } from "../../src/slack/subscriptions.js";
import {
  commandReply,
  eventually,
  PEOPLE,
  SURFACE_EMULATOR,
  startQuickScanBot,
  type TestBot,
  visibleText,
} from "../support/bot.js";

/**
 * The whole bot on its own jobs and clock: a scan started by command, watched by the watcher job,
 * summarized into findings history, routed from the effect log and posted by the outbox job into the
 * subscribed channel and the requester's DM, with the counts history recorded.
 */

const CHANNEL = "C0SECURITY";
const SUBSCRIBED = "C0APPSEC";
let t: TestBot;

before(async () => {
  t = await startQuickScanBot(
    { REQUIRE_APPROVAL: "false", REPORT_FORMATS: "json" },
    {
      ...SURFACE_EMULATOR,
      channels: [
        { id: CHANNEL, name: "security" },
        { id: SUBSCRIBED, name: "appsec" },
      ],
    },
  );
});
after(() => t.close());

async function command(user: string, text: string, channel = CHANNEL) {
  return visibleText(await commandReply(t, user, channel, text));
}

const notices = (channel: string) =>
  t.emulator.channelMessages(channel).filter((m) => m.metadata?.event_type === NOTICE_EVENT_TYPE);

test("started and finished reach the subscribed channel, with history's counts and a link; the requester gets a DM", async () => {
  await command(PEOPLE.admin, "project create web-shop https://shop.example.com");
  assert.match(
    await command(PEOPLE.operator, "subscribe web-shop events=started,finished", SUBSCRIBED),
    /Subscribed/,
  );
  await command(PEOPLE.operator, "scan start web-shop");
  const lines = await eventually(() => {
    const text = notices(SUBSCRIBED).map(visibleText).join("\n");
    return /finished/.test(text) ? text : undefined;
  }, 20_000);
  assert.match(lines, /\*web-shop\*: scan \S+ started by <@U0CAROL>/);
  assert.match(lines, /\*web-shop\*: scan \S+ finished · findings: \d+ \w+/, "counts from findings history");
  assert.match(lines, /archives\/C0SECURITY\/p\d+\|thread/);
  const dm = await eventually(() => notices(PEOPLE.operator)[0], 10_000);
  assert.match(visibleText(dm), /\*web-shop\*: scan \S+ finished/);
  // The card and its thread stay in the channel where the scan was started.
  assert.equal(t.emulator.channelMessages(SUBSCRIBED).length, notices(SUBSCRIBED).length);
  assert.doesNotMatch(t.logs.text(), /scheduled job failed|notification delivery failed|not routed/);
});
