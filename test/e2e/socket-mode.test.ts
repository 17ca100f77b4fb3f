import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { webApi } from "@slack/bolt";
import { CONNECTIONS_OPEN, SlackEmulator } from "../../dev/slack-emulator/index.js";
import { loadConfig } from "../../src/config.js";
import { startBot } from "../../src/main.js";
import { createSlackApp } from "../../src/slack/app.js";
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
import { captureLogger } from "../support/logs.js";

/**
 * The real bot (startBot) in Socket Mode: SLACK_BOT_TOKEN + SLACK_APP_TOKEN and SLACK_API_URL at the
 * emulator, no signing secret and no request URL. Everything reaches it as Socket Mode envelopes.
 */
const CHANNEL = "C0SECURITY";
let t: TestBot;
let botStopped = false;

before(async () => {
  t = await startTestBot({
    mode: "socket",
    env: { ...SURFACE_ENV, REQUIRE_APPROVAL: "true", SIMULATOR_QUEUE_SECONDS: "600" },
    emulator: SURFACE_EMULATOR,
  });
});
after(async () => {
  if (!botStopped) await t.bot.stop();
  await t.emulator.close();
});

async function command(user: string, text: string) {
  const seen = t.emulator.ephemerals(user).length;
  const sent = await t.emulator.slashCommand({ user, channel: CHANNEL, text });
  assert.equal(sent.status, 200, `ack for ${text}`);
  assert.equal(sent.transport, "socket");
  const reply = await eventually(() => t.emulator.ephemerals(user)[seen]);
  return { ...reply, text: visibleText(reply) };
}

describe("Socket Mode", () => {
  test("the bot connects with the app-level token, which never shows up in its logs", () => {
    assert.equal(t.config.slack.mode, "socket");
    assert.equal(t.emulator.socketConnected, true);
    const opens = t.emulator.calls(CONNECTIONS_OPEN);
    assert.equal(opens.length, 1);
    assert.equal(opens[0]?.token, t.emulator.appToken);
    assert.equal(t.emulator.socketConnections().length, 1);
    // Web API calls use the bot token; the app token is only for apps.connections.open.
    assert.ok(
      t.emulator
        .calls()
        .filter((c) => c.method !== CONNECTIONS_OPEN)
        .every((c) => c.token === t.emulator.botToken),
    );
    assert.ok(t.logs.lines.length > 0);
    assert.ok(!t.logs.text().includes(t.emulator.appToken), "app token in the logs");
    assert.ok(!t.logs.text().includes("xapp-"), "something shaped like an app token in the logs");
  });

  test("/crashtest help is answered ephemerally over the socket", async () => {
    const reply = await command(PEOPLE.operator, "help");
    assert.match(reply.text, /\/crashtest help \[command\]/);
    assert.equal(t.emulator.channelMessages(CHANNEL).length, 0, "nothing posted to the channel");
    const ack = t.emulator.socketAcks().at(-1);
    assert.equal(ack?.type, "slash_commands");
    assert.equal(ack?.late, false);
  });

  test("buttons: a scan request approved by another person starts the scan", async () => {
    const created = await command(PEOPLE.operator, "project create web-shop https://shop.example.com");
    assert.match(created.text, /Project \*web-shop\* created/);
    const asked = await command(PEOPLE.operator, "scan start web-shop");
    assert.match(asked.text, /approve/i);
    const card = await eventually(() =>
      t.emulator.channelMessages(CHANNEL).find((m) => /Scan request for web-shop/.test(m.text)),
    );

    const click = await t.emulator.click({
      user: PEOPLE.approver,
      channel: CHANNEL,
      messageTs: card.ts,
      actionId: ACTIONS.approve,
    });
    assert.equal(click.status, 200);
    assert.equal(click.transport, "socket");
    assert.equal(click.timedOut, false);
    assert.ok(click.elapsedMs < 3000);

    const scanCard = await eventually(() =>
      t.emulator.channelMessages(CHANNEL).find((m) => /^Scan \d+ of web-shop/.test(m.text)),
    );
    assert.ok(scanCard);
    await eventually(() => t.emulator.message(CHANNEL, card.ts)?.text.includes("approved"));
    assert.match(JSON.stringify(t.emulator.message(CHANNEL, card.ts)?.blocks), /Approved.*<@U0BOB>/);
    assert.ok(t.emulator.deliveries().every((d) => d.transport === "socket" && d.status === 200));
  });

  test("GET /healthz answers on PORT, the small listener Socket Mode keeps", async () => {
    assert.notEqual(t.bot.port, 0, "the bound port, not PORT=0");
    const res = await fetch(`${t.baseUrl}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true, checks: { store: "ok" } });
    // No Events API endpoint in Socket Mode.
    const events = await fetch(`${t.baseUrl}/slack/events`, { method: "POST", body: "{}" });
    assert.equal(events.status, 404);
  });

  test("stop() closes the socket cleanly and does not reconnect", async () => {
    botStopped = true;
    await t.bot.stop();
    const code = await eventually(() => t.emulator.socketConnections()[0]?.closeCode);
    assert.equal(code, 1000, "the client sent a normal close frame");
    assert.equal(t.emulator.socketConnected, false);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(t.emulator.calls(CONNECTIONS_OPEN).length, 1, "no reconnect after stop");
    await assert.rejects(fetch(`${t.baseUrl}/healthz`), "the health listener is closed");
  });
});

/** A port that was free a moment ago (for checks that nothing is left listening on it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  assert.ok(address && typeof address === "object");
  return address.port;
}

describe("Socket Mode start-up", () => {
  test("a wrong app token fails start-up with invalid_auth and leaves nothing listening", async () => {
    const emulator = await SlackEmulator.start({ appToken: "xapp-1-A0CRASHTEST-1-the-real-one" });
    try {
      const port = await freePort();
      const env = {
        SLACK_BOT_TOKEN: emulator.botToken,
        SLACK_APP_TOKEN: "xapp-1-A0CRASHTEST-1-a-wrong-one",
        SLACK_API_URL: emulator.apiUrl,
        PORT: String(port),
        STORE_URL: "memory://",
        LOG_LEVEL: "debug",
      };
      const config = loadConfig(env);
      assert.equal(config.slack.mode, "socket");
      if (config.slack.mode !== "socket") return;
      const logs = captureLogger(config.secrets);
      await assert.rejects(
        startBot(config, config.slack, {
          logger: logs.logger,
          clientOptions: { retryConfig: webApi.retryPolicies.rapidRetryPolicy },
        }),
        /invalid_auth/,
      );
      assert.equal(emulator.calls(CONNECTIONS_OPEN)[0]?.response && true, true);
      assert.equal(emulator.socketConnections().length, 0);
      await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), "the health listener was closed");
      assert.ok(!logs.text().includes("a-wrong-one"), "the app token stays out of the logs");
    } finally {
      await emulator.close();
    }
  });

  test("the Socket Mode client's retry default (100 retries) does not leak into the bot's Web client", async () => {
    // Bolt calls auth.test as soon as the App exists, so give it a Slack to talk to.
    const emulator = await SlackEmulator.start();
    try {
      const slackApp = createSlackApp({
        slack: {
          mode: "socket",
          botToken: emulator.botToken,
          appToken: emulator.appToken,
          apiUrl: emulator.apiUrl,
        },
        port: 0,
        logger: captureLogger().logger,
        logLevel: "error",
        health: async () => ({ ok: true, checks: {} }),
      });
      const retryConfig = (slackApp.app.client as unknown as { retryConfig: unknown }).retryConfig;
      assert.deepEqual(retryConfig, webApi.retryPolicies.tenRetriesInAboutThirtyMinutes);
      await eventually(() => emulator.calls("auth.test").length > 0);
    } finally {
      await emulator.close();
    }
  });
});
