import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually, startTestBot, type TestBot } from "../support/bot.js";

let t: TestBot;
before(async () => {
  t = await startTestBot();
});
after(() => t.close());

test("/crashtest help answers ephemerally with the command list", async () => {
  const sent = await t.emulator.slashCommand({ user: "U0ALICE", channel: "C0SECURITY", text: "help" });
  assert.equal(sent.status, 200);
  assert.ok(sent.elapsedMs < 3000, `acked in ${sent.elapsedMs} ms`);
  const reply = await eventually(() => t.emulator.ephemerals("U0ALICE").find((m) => m.text.includes("help")));
  assert.match(reply.text, /\/crashtest help \[command\]/);
  assert.equal(reply.channel, "C0SECURITY");
});

test("an unknown command gets a did-you-mean answer, never silence", async () => {
  await t.emulator.slashCommand({ user: "U0BOB", channel: "C0SECURITY", text: "hlep" });
  const reply = await eventually(() =>
    t.emulator.ephemerals("U0BOB").find((m) => m.text.includes("Unknown")),
  );
  assert.match(reply.text, /Did you mean `\/crashtest help`/);
});

test("forged, stale and unsigned requests are rejected by Bolt's signature check", async () => {
  const before = t.emulator.ephemerals("U0ALICE").length;
  const command = { user: "U0ALICE", channel: "C0SECURITY", text: "help" };
  const forged = await t.emulator.slashCommand({ ...command, signature: "forged" });
  const stale = await t.emulator.slashCommand({
    ...command,
    timestampSec: Math.floor(Date.now() / 1000) - 6 * 60,
  });
  const unsigned = await t.emulator.slashCommand({ ...command, signature: "omitted" });
  for (const result of [forged, stale, unsigned]) assert.equal(result.status, 401);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(t.emulator.ephemerals("U0ALICE").length, before);
});

test("GET /healthz reports the store", async () => {
  const response = await fetch(`${t.baseUrl}/healthz`);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { ok: true, checks: { store: "ok" } });
});

test("no secret reaches the logs or Slack", async () => {
  const everything = [
    t.logs.text(),
    JSON.stringify(t.emulator.calls().map((call) => call.args)),
    JSON.stringify(t.emulator.responseUrlPosts()),
  ].join("\n");
  for (const secret of [t.emulator.botToken, t.emulator.signingSecret]) {
    assert.ok(!everything.includes(secret), "a secret leaked");
  }
  assert.deepEqual(t.emulator.unknownCalls(), []);
});
