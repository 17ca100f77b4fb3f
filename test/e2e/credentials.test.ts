import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  eventually,
  PEOPLE,
  SURFACE_EMULATOR,
  SURFACE_ENV,
  startTestBot,
  type TestBot,
  visibleText,
} from "../support/bot.js";
import { FakeVeracode, fakeKeyPair } from "../veracode/fake-veracode.js";

const ALERTS = "C0SECURITY";
const keys = fakeKeyPair();
let veracode: FakeVeracode;
let t: TestBot;

before(async () => {
  veracode = await FakeVeracode.start({ now: () => Date.now() });
  veracode.setCredential({ apiId: keys.apiId, secretHex: keys.secretHex, daysLeft: 3 });
  t = await startTestBot({
    emulator: SURFACE_EMULATOR,
    env: {
      ...SURFACE_ENV,
      VERACODE_API_KEY_ID: keys.apiKeyId,
      VERACODE_API_KEY_SECRET: keys.apiKeySecret,
      VERACODE_API_URL: veracode.url,
      VERACODE_CREDENTIALS_FILE: "/nonexistent/credentials",
      ALERT_CHANNEL: ALERTS,
    },
  });
});
after(async () => {
  await t.close();
  await veracode.close();
});

test("at start-up the guard reads the expiry (signed) and alerts the channel once, without the secret", async () => {
  const alert = await eventually(() =>
    t.emulator.channelMessages(ALERTS).find((m) => /expires|expiry/i.test(visibleText(m))),
  );
  const text = visibleText(alert);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(
    t.emulator.channelMessages(ALERTS).filter((m) => /expires|expiry/i.test(visibleText(m))).length,
    1,
    "one alert per threshold",
  );
  assert.match(text, new RegExp(keys.apiId.slice(-4)));
  assert.ok(!text.includes(keys.apiId), "only the last 4 characters of the key ID");
  assert.match(text, /revokes/);
  assert.deepEqual(veracode.rejections, [], "every request carried a valid HMAC signature");
  for (const secret of [keys.apiKeySecret, keys.apiKeyId]) {
    assert.ok(!t.logs.text().includes(secret), "no key material in logs");
    assert.ok(!JSON.stringify(t.emulator.calls().map((c) => c.args)).includes(secret), "none in Slack");
  }
});

test("/crashtest credentials and the App Home tab show the credential's state", async () => {
  const seen = t.emulator.ephemerals(PEOPLE.operator).length;
  await t.emulator.slashCommand({ user: PEOPLE.operator, channel: ALERTS, text: "credentials" });
  const reply = visibleText(await eventually(() => t.emulator.ephemerals(PEOPLE.operator)[seen]));
  assert.match(reply, new RegExp(keys.apiId.slice(-4)));
  assert.match(reply, /7-day|days? left/i);
  await t.emulator.homeOpened(PEOPLE.operator);
  const home = await eventually(() => t.emulator.views(PEOPLE.operator).find((v) => v.type === "home"));
  assert.match(JSON.stringify(home.view), new RegExp(keys.apiId.slice(-4)));
});
