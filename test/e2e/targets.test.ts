import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ACTIONS } from "../../src/slack/blocks/cards.js";
import {
  eventually,
  PEOPLE,
  SURFACE_EMULATOR,
  SURFACE_ENV,
  startTestBot,
  type TestBot,
  visibleText,
} from "../support/bot.js";
import { FakeResolver } from "../support/dns.js";

/**
 * Targets through the whole bot (signed slash commands, real command table, domain, simulator scanner)
 * with DNS answered by the test: a name that points inside is refused at `project create`, and a name
 * that starts pointing inside after creation is refused at `scan start`.
 */
const CHANNEL = "C0SECURITY";
const dns = new FakeResolver();
let t: TestBot;

before(async () => {
  t = await startTestBot({
    env: { ...SURFACE_ENV, REQUIRE_APPROVAL: "false", SIMULATOR_QUEUE_SECONDS: "600" },
    emulator: SURFACE_EMULATOR,
    resolver: dns,
  });
});
after(() => t.close());

async function command(text: string) {
  const user = PEOPLE.operator;
  const seen = t.emulator.ephemerals(user).length;
  const sent = await t.emulator.slashCommand({ user, channel: CHANNEL, text });
  assert.equal(sent.status, 200, `ack for ${text}`);
  return visibleText(await eventually(() => t.emulator.ephemerals(user)[seen]));
}

const scanCards = () => t.emulator.channelMessages(CHANNEL).filter((m) => /^Scan \d+ of /.test(m.text));

describe("targets that point inside", () => {
  test("project create: a name whose DNS answer is private is refused, with the address", async () => {
    dns.set("wiki.example.com", ["93.184.215.14", "10.20.30.40"]);
    const refused = await command("project create wiki https://wiki.example.com");
    assert.match(
      refused,
      /wiki\.example\.com points to 10\.20\.30\.40, which is a private, loopback or internal address/,
    );
    assert.match(refused, /ALLOW_PRIVATE_TARGETS=true/);
    assert.doesNotMatch(await command("projects"), /wiki/, "nothing was created");

    dns.set("specs.example.com", ["fd00::7"]);
    const option = await command(
      "project create api https://api.example.com target_type=API api_spec_url=https://specs.example.com/openapi.json",
    );
    assert.match(option, /option api_spec_url is not valid: specs\.example\.com points to fd00::7/);

    const literal = await command("project create lab http://[::ffff:127.0.0.1]:8080");
    assert.match(literal, /private, loopback or internal/);
    const schemeless = await command("project create shop shop.example.com");
    assert.match(schemeless, /did you mean https:\/\/shop\.example\.com\?/);
  });

  test("scan start: the name is looked up again, and an answer that turned private refuses the scan", async () => {
    dns.set("blog.example.com", ["93.184.215.14"]);
    assert.match(await command("project create blog https://blog.example.com"), /Project \*blog\* created/);
    const cardsBefore = scanCards().length;
    dns.set("blog.example.com", ["169.254.169.254"]);
    const lookupsBefore = dns.lookups.length;
    const refused = await command("scan start blog");
    assert.match(
      refused,
      /blog\.example\.com points to 169\.254\.169\.254, which is a private, loopback or internal address/,
    );
    assert.equal(dns.lookups.length, lookupsBefore + 1);
    assert.equal(scanCards().length, cardsBefore, "no scan started");

    dns.set("blog.example.com", ["93.184.215.14"]);
    await command("scan start blog");
    await eventually(() => scanCards().length > cardsBefore);
  });
});

describe("targets that point inside, with four-eyes approval", () => {
  const dns4 = new FakeResolver();
  let bot: TestBot;
  before(async () => {
    bot = await startTestBot({
      env: { ...SURFACE_ENV, SIMULATOR_QUEUE_SECONDS: "600" },
      emulator: SURFACE_EMULATOR,
      resolver: dns4,
    });
  });
  after(() => bot.close());

  async function say(user: string, text: string) {
    const seen = bot.emulator.ephemerals(user).length;
    assert.equal((await bot.emulator.slashCommand({ user, channel: CHANNEL, text })).status, 200);
    return visibleText(await eventually(() => bot.emulator.ephemerals(user)[seen]));
  }
  const requestCards = () =>
    bot.emulator.channelMessages(CHANNEL).filter((m) => /Scan request for docs/.test(m.text));
  const scanCardsOf = () =>
    bot.emulator.channelMessages(CHANNEL).filter((m) => /^Scan \d+ of docs/.test(m.text));

  test("a request for a name that points inside is refused before any approver is asked; an approval after the answer changed starts nothing", async () => {
    dns4.set("docs.example.com", ["93.184.215.14"]);
    assert.match(await say(PEOPLE.operator, "project create docs https://docs.example.com"), /created/);
    dns4.set("docs.example.com", ["100.64.1.2"]);
    const refused = await say(PEOPLE.operator, "scan start docs");
    assert.match(refused, /docs\.example\.com points to 100\.64\.1\.2/);
    assert.equal(requestCards().length, 0, "no approval card was posted");

    dns4.set("docs.example.com", ["93.184.215.14"]);
    await say(PEOPLE.operator, "scan start docs");
    const card = await eventually(() => requestCards().at(-1));
    dns4.set("docs.example.com", ["fd00::1"]);
    const seen = bot.emulator.ephemerals(PEOPLE.approver).length;
    await bot.emulator.click({
      user: PEOPLE.approver,
      channel: CHANNEL,
      messageTs: card.ts,
      actionId: ACTIONS.approve,
    });
    await eventually(() => {
      const latest = visibleText(bot.emulator.message(CHANNEL, card.ts));
      const told = bot.emulator.ephemerals(PEOPLE.approver).slice(seen).map(visibleText).join("\n");
      return /points to fd00::1/.test(`${latest}\n${told}`);
    });
    assert.equal(scanCardsOf().length, 0, "no scan started");
  });
});
