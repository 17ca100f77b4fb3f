import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { SUBSCRIPTION_ACTIONS } from "../../src/slack/blocks/subscriptions.js";
import {
  eventually,
  PEOPLE,
  SURFACE_EMULATOR,
  SURFACE_ENV,
  startTestBot,
  type TestBot,
  visibleText,
} from "../support/bot.js";

/** The subscription commands through the real bot and the Slack emulator: who may, where, and what is kept. */

const CHANNEL = "C0SECURITY";
const PRIVATE = "G0HIDDEN";
let t: TestBot;

before(async () => {
  t = await startTestBot({
    env: { ...SURFACE_ENV, SUBSCRIPTIONS_TIMEZONE: "Europe/Berlin" },
    emulator: {
      ...SURFACE_EMULATOR,
      channels: [
        { id: CHANNEL, name: "security" },
        { id: "C0OPS", name: "ops" },
        { id: PRIVATE, name: "hidden", isPrivate: true, botIsMember: false, members: [PEOPLE.operator] },
      ],
    },
  });
});
after(() => t.close());

async function command(user: string, text: string, channel = CHANNEL) {
  const seen = t.emulator.ephemerals(user).length;
  const sent = await t.emulator.slashCommand({ user, channel, text });
  assert.equal(sent.status, 200, `ack for ${text}`);
  const reply = await eventually(() => t.emulator.ephemerals(user)[seen]);
  return { ...reply, text: visibleText(reply) };
}

test("an operator subscribes a channel; the list shows it with a Remove button that removes it", async () => {
  await command(PEOPLE.admin, "project create web-shop https://shop.example.com");
  const created = await command(
    PEOPLE.operator,
    "subscribe web-shop severity>=high events=finished,new-findings tz=America/New_York quiet=22:00-07:00",
  );
  assert.match(
    created.text,
    /Subscribed this channel: \*web-shop\*: finished, new-findings · severity ≥ high/,
  );
  assert.match(created.text, /Time zone America\/New_York · quiet hours 22:00-07:00/);
  const all = await command(PEOPLE.operator, "subscribe * digest=weekly@mon 09:00");
  assert.match(
    all.text,
    /every project: finished, failed · any severity · as a digest weekly on Mon at 09:00/,
  );
  const again = await command(PEOPLE.operator, "subscribe web-shop events=failed");
  assert.match(
    again.text,
    /Updated the subscription of this channel: \*web-shop\*: failed · severity ≥ high/,
  );

  const list = await command(PEOPLE.stranger, "subscriptions");
  assert.match(list.text, /permission|not allowed/i, "listing needs the view role");
  const shown = await command(PEOPLE.approver, "subscriptions");
  assert.match(shown.text, /Subscriptions of this channel\* · 2/);
  assert.match(shown.text, /\*web-shop\* · events: failed · severity ≥ high/);
  assert.match(
    shown.text,
    /every project · events: finished, failed · any severity · digest weekly on Mon at 09:00/,
  );
  assert.match(shown.text, /Time zone America\/New_York · quiet 22:00-07:00/);
  const buttons = JSON.stringify(shown.blocks).match(/"value":"([^"]+)"/g) ?? [];
  assert.equal(buttons.length, 2);
  const value = /"value":"([^"]+)"/.exec(JSON.stringify(shown.blocks))?.[1] as string;

  // The list is ephemeral: only the person who asked sees (and clicks) it; the role is checked again.
  await t.emulator.click({
    user: PEOPLE.approver,
    channel: CHANNEL,
    messageTs: shown.ts,
    actionId: SUBSCRIPTION_ACTIONS.remove,
    value,
  });
  await eventually(async () => {
    const rows = await t.bot.store.entries<{ channel: string }>("subscriptions");
    return rows.length === 1;
  });
  const after = await command(PEOPLE.operator, "subscriptions");
  assert.match(after.text, /Subscriptions of this channel\* · 1/);
});

test("unsubscribe drops named events, then the subscription; unknown projects are named", async () => {
  await command(PEOPLE.operator, "subscribe web-shop events=started,finished,failed", "C0OPS");
  const some = await command(PEOPLE.operator, "unsubscribe web-shop events=started", "C0OPS");
  assert.match(some.text, /Still subscribed: \*web-shop\*: finished, failed/);
  const gone = await command(PEOPLE.operator, "unsubscribe web-shop", "C0OPS");
  assert.match(gone.text, /Unsubscribed this channel from \*web-shop\*/);
  const none = await command(PEOPLE.operator, "unsubscribe web-shop", "C0OPS");
  assert.match(none.text, /no subscription to "web-shop"/);
  const typo = await command(PEOPLE.operator, "subscribe web-shp", "C0OPS");
  assert.match(typo.text, /No project "web-shp"\. Did you mean `web-shop`\?/);
  const bad = await command(PEOPLE.operator, "subscribe web-shop digest=hourly", "C0OPS");
  assert.match(bad.text, /Digest "hourly": a digest is daily@HH:MM/);
  assert.match(bad.text, /Usage: `\/crashtest subscribe/);
});

test("who may subscribe where: operators only, channels the bot is in", async () => {
  const stranger = await command(PEOPLE.stranger, "subscribe *");
  assert.match(stranger.text, /not allowed to manage this channel's subscriptions/);
  const hidden = await command(PEOPLE.operator, "subscribe *", PRIVATE);
  assert.match(hidden.text, /not a member of this private channel.*`\/invite @crashtest`/s);
  assert.equal((await t.bot.store.entries("subscriptions")).filter(([k]) => k.startsWith(PRIVATE)).length, 0);
});

test("notify off|on is each person's own choice, and audited", async () => {
  const off = await command(PEOPLE.stranger, "notify off");
  assert.match(off.text, /No more DMs/);
  assert.deepEqual((await t.bot.store.get<{ dm: boolean }>("notify-prefs", PEOPLE.stranger))?.dm, false);
  const on = await command(PEOPLE.stranger, "notify on");
  assert.match(on.text, /You will get a DM/);
  const trail = await eventually(async () => {
    const reply = await command(PEOPLE.admin, "audit 20 action:subscription");
    return /subscription\.remove/.test(reply.text) ? reply : undefined;
  });
  assert.match(trail.text, /subscription\.add/);
  assert.match(trail.text, /subscription\.update/);
  const notifyTrail = await command(PEOPLE.admin, "audit action:notify");
  assert.match(notifyTrail.text, /notify\.off/);
  assert.match(notifyTrail.text, /notify\.on/);
});
