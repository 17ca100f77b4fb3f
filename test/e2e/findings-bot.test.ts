import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  commandReply,
  eventually,
  PEOPLE,
  QUICK_SCANS_ENV,
  SURFACE_EMULATOR,
  SURFACE_ENV,
  startTestBot,
  type TestBot,
  visibleText,
} from "../support/bot.js";

/**
 * Findings history through the real bot as main.ts wires it: two scans of one project started from
 * Slack, watched to their end by the cron-driven watcher, the second card showing the diff, and the
 * `findings` command reading the same history.
 */
const CHANNEL = "C0SECURITY";
let t: TestBot;

before(async () => {
  t = await startTestBot({
    env: {
      ...SURFACE_ENV,
      REQUIRE_APPROVAL: "false",
      ...QUICK_SCANS_ENV,
      REPORT_FORMATS: "json",
    },
    emulator: SURFACE_EMULATOR,
  });
});
after(() => t.close());

async function command(text: string) {
  return visibleText(await commandReply(t, PEOPLE.operator, CHANNEL, text, 10_000));
}

const scanCards = () => t.emulator.channelMessages(CHANNEL).filter((m) => /^Scan \S+ of shop/.test(m.text));

/** Starts a scan and waits until its card shows the findings history's line. */
async function scanToEnd(index: number): Promise<string> {
  await command("scan start shop");
  const card = await eventually(() => scanCards()[index], 10_000);
  const shown = await eventually(() => {
    const text = visibleText(t.emulator.message(CHANNEL, card.ts));
    return text.includes("Since the last scan") ? text : undefined;
  }, 20_000);
  return shown;
}

test("two scans from Slack: the second card shows the diff; findings lists the project's findings", async () => {
  assert.match(await command("project create shop https://shop.example.com"), /created/);
  assert.match(await scanToEnd(0), /First scan of this project, nothing to compare/);
  const second = await scanToEnd(1);
  assert.match(second, /Since the last scan:\* New 0 · Fixed 0 · Still open \d+/);
  const listed = await command("findings shop");
  assert.match(listed, /Findings of shop\* \(open\): \*\d+\*/);
  assert.match(listed, /New 0 · Fixed 0 · Still open/);
  assert.match(listed, /Command Injection/);
});
