import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  commandReply,
  PEOPLE,
  scanToHistory,
  startQuickScanBot,
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
  t = await startQuickScanBot({ REQUIRE_APPROVAL: "false", REPORT_FORMATS: "json" });
});
after(() => t.close());

async function command(text: string) {
  return visibleText(await commandReply(t, PEOPLE.operator, CHANNEL, text, 10_000));
}

const scanToEnd = async (index: number) =>
  (await scanToHistory(t, { user: PEOPLE.operator, channel: CHANNEL, project: "shop" }, index)).text;

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
