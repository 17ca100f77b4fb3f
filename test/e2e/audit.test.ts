import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  commandReply,
  PEOPLE,
  SURFACE_EMULATOR,
  SURFACE_ENV,
  startTestBot,
  type TestBot,
  visibleText,
} from "../support/bot.js";

/** `audit` through signed commands: filters, paging, aggregated refusals, Slack's size budget, no credentials. */
const CHANNEL = "C0SECURITY";
let t: TestBot;

before(async () => {
  t = await startTestBot({ env: SURFACE_ENV, emulator: SURFACE_EMULATOR });
});
after(() => t.close());

async function command(user: string, text: string) {
  const reply = await commandReply(t, user, CHANNEL, text);
  return { blocks: (reply.blocks ?? []) as Array<Record<string, unknown>>, text: visibleText(reply) };
}

/** Characters of text in a message's blocks, what Slack's whole-message limit counts. */
function blockText(blocks: unknown): number {
  let n = 0;
  JSON.stringify(blocks, (key, value) => {
    if (key === "text" && typeof value === "string") n += value.length;
    return value;
  });
  return n;
}

describe("audit", () => {
  before(async () => {
    await command(PEOPLE.operator, "project create shop https://shop.example.com");
    // A flood of refusals from one person.
    for (let i = 0; i < 25; i++) await command(PEOPLE.stranger, "projects");
  });

  test("repeated refusals are one entry with a count; real actions stay on the first page", async () => {
    const trail = await command(PEOPLE.admin, "audit 5");
    assert.match(trail.text, /<@U0MALLORY> · `projects` · .* \*denied\*.*×25/);
    assert.match(trail.text, /project\.create/);
    assert.equal((trail.text.match(/U0MALLORY/g) ?? []).length, 1);
  });

  test("filters by person, action prefix and outcome, with the next page named", async () => {
    const mallory = await command(PEOPLE.admin, "audit 10 user:<@U0MALLORY|mallory> outcome:denied");
    assert.match(mallory.text, /1 matching/);
    assert.doesNotMatch(mallory.text, /project\.create/);
    const projects = await command(PEOPLE.admin, "audit action:project");
    assert.match(projects.text, /project\.create/);
    assert.doesNotMatch(projects.text, /`projects`/, "action:project does not match the projects command");
    const none = await command(PEOPLE.admin, "audit outcome:failed user:U0BOB");
    assert.match(none.text, /Nothing recorded matches/);
    const first = await command(PEOPLE.admin, "audit 1");
    assert.match(first.text, /page 1 of \d+/);
    assert.match(first.text, /Next page: `\/crashtest audit 1 page:2`/);
    const second = await command(PEOPLE.admin, "audit 1 page:2");
    assert.match(second.text, /page 2 of/);
    assert.notEqual(first.text.split("\n")[1], second.text.split("\n")[1]);
  });

  test("bad filters get the usage", async () => {
    for (const args of [
      "audit 0",
      "audit 51",
      "audit outcome:maybe",
      "audit user:nobody",
      "audit colour:red",
    ]) {
      const reply = await command(PEOPLE.admin, args);
      assert.match(reply.text, /Usage: `\/crashtest audit \[n\]/, args);
    }
  });

  test("projects takes a page and refuses anything else with the usage", async () => {
    assert.match((await command(PEOPLE.operator, "projects page:1")).text, /shop/);
    assert.match((await command(PEOPLE.operator, "projects page:9")).text, /There is no page 9/);
    assert.match(
      (await command(PEOPLE.operator, "projects everything")).text,
      /Usage: `\/crashtest projects \[page:2\]`/,
    );
  });

  test("the longest page stays inside Slack's message budget", async () => {
    // Distinct failed commands with long arguments (each a separate entry).
    for (let i = 0; i < 50; i++) {
      await command(
        PEOPLE.operator,
        `scan status ${"9".repeat(60)}${String(i).padStart(4, "0")} ${"x".repeat(120)}`,
      );
    }
    const trail = await command(PEOPLE.admin, "audit 50");
    assert.ok(trail.blocks.length <= 50, `${trail.blocks.length} blocks`);
    assert.ok(blockText(trail.blocks) <= 12_000, `${blockText(trail.blocks)} characters of block text`);
    assert.match(trail.text, /did not fit one message; use a smaller n/);
  });

  test("a refused target URL with credentials is recorded without them (audit, logs, store)", async () => {
    const reply = await command(PEOPLE.operator, "project create leaky https://bob:hunter2@shop.example.com");
    assert.match(reply.text, /credentials|user name|password/i);
    const trail = await command(PEOPLE.admin, "audit 5 action:project");
    assert.match(trail.text, /`project\.create` · leaky/, "failed commands use the domain's spelling");
    assert.doesNotMatch(trail.text, /project create/);
    assert.match(trail.text, /https:\/\/shop\.example\.com/);
    const everything = [
      trail.text,
      t.logs.text(),
      JSON.stringify(await t.bot.store.entries("audit")),
      JSON.stringify(await t.bot.store.entries("projects")),
    ].join("\n");
    assert.ok(!everything.includes("hunter2"), "the password is nowhere");
    assert.ok(!everything.includes("bob:"), "nor the user name");
  });
});
