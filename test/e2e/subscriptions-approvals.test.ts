import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { StoredMessage } from "../../dev/slack-emulator/index.js";
import { ACTIONS } from "../../src/slack/blocks/cards.js";
import { NOTICE_EVENT_TYPE } from "../../src/slack/subscriptions.js";
import {
  commandReply,
  eventually,
  PEOPLE,
  SURFACE_EMULATOR,
  SURFACE_ENV,
  startTestBot,
  type TestBot,
  visibleText,
} from "../support/bot.js";

/**
 * Approval notices through the real bot (its own outbox job, every second) and the Slack emulator: a
 * new request reaches the channels subscribed to `approval`, its end the requester's DM.
 */

const CHANNEL = "C0SECURITY";
const WATCHERS = "C0APPROVALS";
let now = Date.now();
const clock = { now: () => now };
let t: TestBot;

before(async () => {
  t = await startTestBot({
    env: SURFACE_ENV,
    emulator: {
      ...SURFACE_EMULATOR,
      channels: [
        { id: CHANNEL, name: "security" },
        { id: WATCHERS, name: "approvals" },
      ],
    },
    clock,
  });
});
after(() => t.close());

async function command(user: string, text: string, channel = CHANNEL) {
  return visibleText(await commandReply(t, user, channel, text));
}

const notices = (channel: string): StoredMessage[] =>
  t.emulator.channelMessages(channel).filter((m) => m.metadata?.event_type === NOTICE_EVENT_TYPE);

/** The bot's outbox keeps a second between two messages to one place (on the bot's clock). */
const nextSecond = () => {
  now += 2000;
};

const requestCard = (project: string) =>
  eventually(() =>
    t.emulator
      .channelMessages(CHANNEL)
      .filter((m) => new RegExp(`Scan request for ${project}.*pending`).test(m.text))
      .at(-1),
  );

test("a request reaches the approval channel with a link to its card; approved and denied reach the requester", async () => {
  await command(PEOPLE.admin, "project create web-shop https://shop.example.com");
  await command(PEOPLE.operator, "subscribe * events=approval", WATCHERS);
  await command(PEOPLE.operator, "scan start web-shop");
  const card = await requestCard("web-shop");
  const line = await eventually(() => notices(WATCHERS)[0]);
  assert.match(visibleText(line), /\*web-shop\*: a scan by <@U0CAROL> waits for approval/);
  assert.match(visibleText(line), new RegExp(`archives/${CHANNEL}/p${card.ts.replace(".", "")}\\|request`));

  nextSecond();
  await t.emulator.click({
    user: PEOPLE.approver,
    channel: CHANNEL,
    messageTs: card.ts,
    actionId: ACTIONS.approve,
  });
  const approved = await eventually(() => notices(PEOPLE.operator)[0]);
  assert.match(visibleText(approved), /\*web-shop\*: your scan request was approved by <@U0BOB>/);

  nextSecond();
  await command(PEOPLE.operator, "project create portal https://portal.example.com");
  await command(PEOPLE.operator, "scan start portal");
  const second = await requestCard("portal");
  nextSecond();
  await t.emulator.click({
    user: PEOPLE.approver,
    channel: CHANNEL,
    messageTs: second.ts,
    actionId: ACTIONS.deny,
  });
  const denied = await eventually(() => notices(PEOPLE.operator)[1]);
  assert.match(visibleText(denied), /\*portal\*: your scan request was denied by <@U0BOB>/);
  assert.equal(notices(WATCHERS).length >= 2, true, "the second request was announced too");
});

test("an expired request tells its requester once; a withdrawal tells nobody; notify off silences it", async () => {
  nextSecond();
  await command(PEOPLE.operator, "scan start portal");
  const card = await requestCard("portal");
  const before = notices(PEOPLE.operator).length;
  now += 25 * 3600_000;
  await t.emulator.click({
    user: PEOPLE.approver,
    channel: CHANNEL,
    messageTs: card.ts,
    actionId: ACTIONS.approve,
  });
  const expired = await eventually(() => notices(PEOPLE.operator)[before]);
  assert.match(visibleText(expired), /\*portal\*: your scan request expired before anyone approved it/);
  // Clicked again on a client that still shows the buttons: the same end, not a second DM.
  nextSecond();
  await t.emulator.click({
    user: PEOPLE.admin,
    channel: CHANNEL,
    messageTs: card.ts,
    actionId: ACTIONS.approve,
    version: 0,
  });
  await eventually(() => t.emulator.ephemerals(PEOPLE.admin).at(-1));
  nextSecond();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(notices(PEOPLE.operator).length, before + 1);

  // Withdrawn by the requester: no DM.
  await command(PEOPLE.operator, "scan start portal");
  const withdrawn = await requestCard("portal");
  await t.emulator.click({
    user: PEOPLE.operator,
    channel: CHANNEL,
    messageTs: withdrawn.ts,
    actionId: ACTIONS.deny,
  });
  await eventually(() => t.emulator.message(CHANNEL, withdrawn.ts)?.text.includes("withdrawn"));

  // notify off: a denial is not sent.
  await command(PEOPLE.operator, "notify off");
  nextSecond();
  await command(PEOPLE.operator, "scan start portal");
  const silent = await requestCard("portal");
  await t.emulator.click({
    user: PEOPLE.approver,
    channel: CHANNEL,
    messageTs: silent.ts,
    actionId: ACTIONS.deny,
  });
  await eventually(() => t.emulator.message(CHANNEL, silent.ts)?.text.includes("denied"));
  nextSecond();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(notices(PEOPLE.operator).length, before + 1);
});
