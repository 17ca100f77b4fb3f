import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { SCHEDULE_ACTIONS } from "../../src/slack/blocks/schedules.js";
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
 * Scheduled scans through Slack: commands, the approval card, the list's buttons, and a bot that was
 * down at the scheduled time starting the missed run once when it comes back (one SQLite file, two
 * bot lifetimes, a clock the test moves).
 */

const CHANNEL = "C0SECURITY";
const dir = await mkdtemp(path.join(tmpdir(), "chatops-schedules-"));
const env = {
  ...SURFACE_ENV,
  STORE_URL: `sqlite://${path.join(dir, "bot.sqlite")}`,
  SIMULATOR_QUEUE_SECONDS: "600",
};
let now = Date.parse("2026-12-01T12:00:00Z");
const clock = { now: () => now };
let t: TestBot;
const PRIVATE = "G0REDTEAM";
const emulator = {
  ...SURFACE_EMULATOR,
  channels: [
    { id: CHANNEL, name: "security" },
    { id: PRIVATE, name: "red-team", isPrivate: true, members: [PEOPLE.admin, PEOPLE.approver] },
  ],
};

before(async () => {
  t = await startTestBot({ env, emulator, clock });
});
after(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

async function command(user: string, text: string) {
  const reply = await commandReply(t, user, CHANNEL, text);
  return { ...reply, text: visibleText(reply) };
}

async function click(user: string, messageTs: string, actionId: string) {
  const seen = t.emulator.ephemerals(user).length;
  const sent = await t.emulator.click({ user, channel: CHANNEL, messageTs, actionId });
  assert.equal(sent.status, 200);
  return visibleText(await eventually(() => t.emulator.ephemerals(user)[seen]));
}

const messages = (pattern: RegExp) =>
  t.emulator.channelMessages(CHANNEL).filter((m) => pattern.test(visibleText(m)));

let id = "";

test("a schedule is read back in words and waits for a second person's Approve", async () => {
  await command(PEOPLE.operator, "project create web-shop https://shop.example.com");
  const made = await command(PEOPLE.operator, "schedule web-shop weekly monday at 02:00 tz=Europe/Berlin");
  assert.match(made.text, /every Monday at 02:00 Europe\/Berlin/);
  assert.match(made.text, /runs once an approver other than you approves it/);
  id = /Schedule `([0-9a-f]{8})`/.exec(made.text)?.[1] ?? "";
  assert.ok(id, made.text);
  const card = await eventually(() => messages(/Scheduled scan request/).at(-1));
  assert.match(
    await click(PEOPLE.operator, card.ts, SCHEDULE_ACTIONS.approve),
    /not allowed to approve scans/,
  );
  assert.match(await click(PEOPLE.approver, card.ts, SCHEDULE_ACTIONS.approve), /approved/);
  const decided = await eventually(() => {
    const latest = t.emulator.message(CHANNEL, card.ts);
    return latest && /Approved by/.test(visibleText(latest)) ? latest : undefined;
  });
  assert.doesNotMatch(JSON.stringify(decided.blocks), /schedule_approve/);
});

test("the approver's own schedule cannot be approved by themselves", async () => {
  const made = await command(PEOPLE.approver, "schedule web-shop daily");
  const card = await eventually(() => messages(/Scheduled scan request/).at(-1));
  assert.notEqual(card.ts, undefined);
  assert.match(
    await click(PEOPLE.approver, card.ts, SCHEDULE_ACTIONS.approve),
    /cannot approve your own schedule/,
  );
  const other = /Schedule `([0-9a-f]{8})`/.exec(made.text)?.[1] ?? "";
  assert.match((await command(PEOPLE.approver, `schedule delete ${other}`)).text, /deleted/);
});

test("a private channel's schedules are listed only to its members and admins", async () => {
  const seen = t.emulator.ephemerals(PEOPLE.approver).length;
  await t.emulator.slashCommand({
    user: PEOPLE.approver,
    channel: PRIVATE,
    text: "schedule web-shop monthly 3",
  });
  assert.match(visibleText(await eventually(() => t.emulator.ephemerals(PEOPLE.approver)[seen])), /created/);
  assert.doesNotMatch((await command(PEOPLE.operator, "schedules")).text, /on the 3rd of every month/);
  assert.match((await command(PEOPLE.admin, "schedules")).text, /on the 3rd of every month/);
  const own = /`([0-9a-f]{8})`\n[^\n]*<#G0REDTEAM>/.exec((await command(PEOPLE.admin, "schedules")).text);
  assert.ok(own);
  await command(PEOPLE.admin, `schedule delete ${own[1]}`);
});

test("bad input gets the right syntax", async () => {
  const cron = await command(PEOPLE.operator, 'schedule web-shop "0 25 * * *"');
  assert.match(cron.text, /hour: 25/);
  assert.match(cron.text, /five fields in quotes/);
  const zone = await command(PEOPLE.operator, "schedule web-shop daily tz=Mars/Base");
  assert.match(zone.text, /IANA time zone/);
  const missing = await command(PEOPLE.operator, "schedule");
  assert.match(missing.text, /Usage: `\/crashtest schedule &lt;project&gt;/);
  const badId = await command(PEOPLE.operator, "schedule delete nope");
  assert.match(badId.text, /8-character ID/);
});

test("`schedules` lists next and last run with Pause/Resume/Delete; Pause and Resume work", async () => {
  const list = await command(PEOPLE.operator, "schedules");
  assert.match(list.text, /every Monday at 02:00 Europe\/Berlin/);
  assert.match(list.text, /Next run: <!date\^\d+/);
  assert.match(list.text, /Last run: never/);
  assert.match(await click(PEOPLE.operator, list.ts, SCHEDULE_ACTIONS.pause), /paused/);
  const paused = await command(PEOPLE.operator, "schedules web-shop");
  assert.match(paused.text, /Paused by <@U0CAROL>/);
  assert.match(await click(PEOPLE.operator, paused.ts, SCHEDULE_ACTIONS.resume), /resumed/);
});

test("App Home shows the next scheduled scans to those who may see them", async () => {
  const open = async (user: string) => {
    const published = t.emulator.calls("views.publish").length;
    await t.emulator.homeOpened(user);
    await eventually(() => t.emulator.calls("views.publish").length > published);
    return visibleText(t.emulator.views(user).find((v) => v.type === "home")?.view as { blocks?: unknown });
  };
  const admin = await open(PEOPLE.admin);
  assert.match(admin, /Next scheduled scans\* \(1\)/);
  assert.match(
    admin,
    new RegExp(`web-shop\\* · <!date\\^\\d+[^>]*> · every Monday at 02:00 Europe/Berlin · \`${id}\``),
  );
  assert.doesNotMatch(await open(PEOPLE.stranger), /scheduled/i);
});

test("after downtime the missed run starts once, in the schedule's channel, scheduled by and approved by", async () => {
  await t.close();
  // Down over two Mondays; back on Wednesday 2026-12-16.
  now = Date.parse("2026-12-16T09:00:00Z");
  t = await startTestBot({ env, emulator, clock });
  const card = await eventually(() => messages(/Scheduled by <@U0CAROL>/).at(-1), 10_000);
  await eventually(() => t.logs.text().includes("schedules started"));
  assert.match(visibleText(card), /approved by <@U0BOB>/);
  assert.equal(messages(/Scheduled by/).length, 1);
  // The run is recorded on the schedule right after its card is posted.
  await eventually(async () =>
    /Last run: <!date\^\d+[^>]*>, started/.test((await command(PEOPLE.operator, "schedules")).text),
  );
  // A restart the same day does not start it again.
  await t.close();
  t = await startTestBot({ env, emulator, clock });
  await eventually(() => t.logs.text().includes("schedules started"));
  assert.equal(messages(/Scheduled by/).length, 0, "the new emulator has seen no second card");
});
