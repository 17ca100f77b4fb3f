import assert from "node:assert/strict";
import { test } from "node:test";
import { webApi } from "@slack/bolt";
import { SlackEmulator } from "../dev/slack-emulator/index.js";
import { loadConfig } from "../src/config.js";
import { startBot } from "../src/main.js";
import { emulatorSlackEnv, eventually, visibleText } from "./support/bot.js";
import { FakeResolver } from "./support/dns.js";
import { captureLogger } from "./support/logs.js";
import { FakeVeracode, fakeKeyPair } from "./veracode/fake-veracode.js";

const ALERTS = "C0SECURITY";

test("start-up catch-up work (here the credential check) begins once the receiver listens, not while it waits", async (t) => {
  const keys = fakeKeyPair();
  const veracode = await FakeVeracode.start({ now: () => Date.now() });
  t.after(() => veracode.close());
  veracode.setCredential({ apiId: keys.apiId, secretHex: keys.secretHex, daysLeft: 3 });
  const emulator = await SlackEmulator.start();
  t.after(() => emulator.close());
  // The installation check waits for this answer before the receiver starts.
  emulator.injectFault("bots.info", { kind: "delay", ms: 400 });
  const config = loadConfig({
    ...emulatorSlackEnv(emulator),
    PORT: "0",
    STORE_URL: "memory://",
    ADMIN_USERS: "U0ALICE",
    VERACODE_API_KEY_ID: keys.apiKeyId,
    VERACODE_API_KEY_SECRET: keys.apiKeySecret,
    VERACODE_API_URL: veracode.url,
    VERACODE_CREDENTIALS_FILE: "/nonexistent/credentials",
    ALERT_CHANNEL: ALERTS,
  });
  if (config.slack.mode === "unconfigured") throw new Error("needs Slack settings");
  const bot = await startBot(config, config.slack, {
    logger: captureLogger(config.secrets).logger,
    clientOptions: { retryConfig: webApi.retryPolicies.rapidRetryPolicy },
    resolver: new FakeResolver(),
  });
  t.after(() => bot.stop());
  assert.equal(veracode.requests.length, 0, "no credential check ran during the 400 ms wait for Slack");
  // It still runs at start-up, and alerts as before.
  await eventually(() =>
    emulator.channelMessages(ALERTS).find((m) => /expires|expiry/i.test(visibleText(m))),
  );
});
