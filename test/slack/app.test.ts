import assert from "node:assert/strict";
import { test } from "node:test";
import { SlackEmulator } from "../../dev/slack-emulator/index.js";
import { createSlackApp } from "../../src/slack/app.js";
import { eventually } from "../support/bot.js";
import { captureLogger } from "../support/logs.js";

const health = async () => ({ ok: true, checks: {} });

/** The Slack app in HTTP mode against the emulator, on a free port. */
const httpApp = (emulator: SlackEmulator, more: { listeners?: Promise<unknown> } = {}) =>
  createSlackApp({
    slack: {
      mode: "http",
      botToken: emulator.botToken,
      signingSecret: emulator.signingSecret,
      apiUrl: emulator.apiUrl,
    },
    port: 0,
    logger: captureLogger().logger,
    logLevel: "error",
    health,
    ...more,
  });

test("the installation is asked for while the bot is built; start() waits for that answer and asks no more", async (t) => {
  const emulator = await SlackEmulator.start();
  t.after(() => emulator.close());
  const slackApp = httpApp(emulator);
  t.after(() => slackApp.stop());
  // Only the installation check asks bots.info (Bolt's own start-up asks auth.test alone).
  await eventually(() => emulator.calls("bots.info").length > 0);
  const port = await slackApp.start();
  assert.ok(port > 0);
  assert.equal(emulator.calls("bots.info").length, 1);
});

test("a failed installation check still fails start(), and is no unhandled rejection before it", async (t) => {
  const emulator = await SlackEmulator.start();
  t.after(() => emulator.close());
  emulator.injectFault("bots.info", { kind: "slack_error", error: "missing_scope" });
  const slackApp = httpApp(emulator);
  await eventually(() => emulator.calls("bots.info").length > 0);
  // The refusal settles before start() is called: nothing awaits it yet.
  await new Promise((resolve) => setTimeout(resolve, 50));
  await assert.rejects(slackApp.start(), /could not learn the app ID with bots.info/);
});

test("a request that comes before the listeners are built waits for them and is answered", async (t) => {
  const emulator = await SlackEmulator.start();
  t.after(() => emulator.close());
  let built: () => void = () => {};
  const listeners = new Promise<void>((resolve) => {
    built = resolve;
  });
  const slackApp = httpApp(emulator, { listeners });
  t.after(() => slackApp.stop());
  const port = await slackApp.start();
  emulator.requestUrl = `http://127.0.0.1:${port}/slack/events`;
  const sent = emulator.slashCommand({ user: "U0ALICE", channel: "C0GENERAL", text: "help" });
  // Without the wait, Bolt would find no listener for it.
  await new Promise((resolve) => setTimeout(resolve, 100));
  slackApp.app.command("/crashtest", async ({ ack }) => {
    await ack({ response_type: "ephemeral", text: "built" });
  });
  built();
  const result = await sent;
  assert.equal(result.status, 200);
  assert.equal((result.json as { text?: string }).text, "built");
});
