/**
 * End to end: loaded accounts → Identity client → fake Veracode (verifying every signature) → guard →
 * Slack messages, with the expiry driven by a test clock.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { DAY_MS, readCredentialStatuses, runCredentialCheck } from "../../src/domain/credential-guard.js";
import type { SlackMessage } from "../../src/slack/blocks/common.js";
import { credentialAlertMessage, credentialStatusMessage } from "../../src/slack/blocks/credentials.js";
import {
  VeracodeAccount,
  VeracodeIdentityClient,
  veracodeCredentialChecks,
} from "../../src/veracode/index.js";
import { ManualClock, MemoryStore } from "../domain/memory-store.js";
import { FakeVeracode, fakeKeyPair, rawCaptureLogger } from "./fake-veracode.js";

const START = Date.UTC(2025, 2, 10, 8, 0);
const prodKeys = fakeKeyPair("vera01e");
const adminKeys = fakeKeyPair();
const userKeys = fakeKeyPair();
const SECRETS = [prodKeys.secretHex, adminKeys.secretHex, userKeys.secretHex];
const KEY_IDS = [prodKeys.apiId, adminKeys.apiId, userKeys.apiId];

let clock: ManualClock;
let store: MemoryStore;
let fake: FakeVeracode;
let log: ReturnType<typeof rawCaptureLogger>;
let sleeps: number[];
let posted: SlackMessage[];

beforeEach(async () => {
  clock = new ManualClock(START);
  store = new MemoryStore(clock);
  fake = await FakeVeracode.start(clock);
  log = rawCaptureLogger();
  sleeps = [];
  posted = [];
});

afterEach(async () => {
  await fake.close();
  const everything = [log.text(), JSON.stringify(posted)].join("\n");
  for (const secret of [...SECRETS, ...KEY_IDS])
    assert.ok(!everything.includes(secret), "secret or key ID leaked");
  assert.ok(!everything.includes("VERACODE-HMAC"));
});

/** One bot process: a fresh client each run, the same store (restarts keep no memory but the store). */
async function runBot(accounts: VeracodeAccount[], watchUserIds: string[] = []) {
  const client = new VeracodeIdentityClient({
    logger: log.logger,
    baseDelayMs: 10,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  try {
    const checks = veracodeCredentialChecks(accounts, client, watchUserIds);
    return await runCredentialCheck({
      ...checks,
      notify: async (alert) => {
        posted.push(credentialAlertMessage(alert));
      },
      store,
      clock,
      logger: log.logger,
    });
  } finally {
    await client.close();
  }
}

const titles = () => posted.map((message) => message.text.split(":")[0]);

test("own credentials counting down 8, 7, 2, 1, 0, -1 days, with a restart before every run", async () => {
  fake.setCredential({ apiId: prodKeys.apiId, secretHex: prodKeys.secretHex, daysLeft: 8 });
  const prod = new VeracodeAccount({ name: "prod-eu", ...prodKeys, baseUrl: fake.url });
  const expiresAt = START + 8 * DAY_MS;
  const states: string[] = [];
  for (const daysLeft of [8, 7, 2, 1, 0, -1]) {
    clock.set(expiresAt - daysLeft * DAY_MS);
    const result = await runBot([prod]);
    states.push(result.statuses[0]?.state ?? "none");
  }
  // At 0 and -1 days Veracode itself answers 401 (expired); the guard knows the expiry from earlier runs.
  assert.deepEqual(titles(), [
    "Veracode API credentials expire within 7 days",
    "Veracode API credentials expire within 1 day",
    "Veracode API credentials have expired",
  ]);
  assert.deepEqual(states, ["ok", "7d", "7d", "1d", "expired", "expired"]);
  assert.deepEqual(fake.rejections, ["credentials expired", "credentials expired"]);
  assert.match(posted[0]?.text ?? "", /prod-eu \(key …[0-9a-f]{4}\), .* UTC \(7 days left\)/);
});

test("two runs a day, a 429 on the way, and renewed credentials starting fresh", async () => {
  fake.setCredential({ apiId: prodKeys.apiId, secretHex: prodKeys.secretHex, daysLeft: 7.25 });
  const prod = new VeracodeAccount({ name: "prod-eu", ...prodKeys, baseUrl: fake.url });
  await runBot([prod]);
  fake.enqueue({ status: 429, headers: { "retry-after": "2" } });
  clock.advance(DAY_MS / 2);
  await runBot([prod]);
  assert.deepEqual(sleeps, [2000]);
  assert.deepEqual(titles(), ["Veracode API credentials expire within 7 days"]);

  // Someone rotates the key (same API ID, new expiry); no alerts until the new one nears expiry.
  fake.setCredential({ apiId: prodKeys.apiId, secretHex: prodKeys.secretHex, daysLeft: 365 });
  clock.advance(DAY_MS / 2);
  await runBot([prod]);
  clock.advance(358 * DAY_MS);
  await runBot([prod]);
  assert.equal(posted.length, 2);
  assert.match(posted[1]?.text ?? "", /expire within 7 days/);
  assert.deepEqual(fake.rejections, []);
});

test("several accounts: a 401 alerts once a day while the others keep working", async () => {
  fake.setCredential({ apiId: prodKeys.apiId, secretHex: prodKeys.secretHex, daysLeft: 30 });
  fake.setCredential({ apiId: adminKeys.apiId, secretHex: adminKeys.secretHex, daysLeft: 1, admin: true });
  const wrongSecret = fakeKeyPair("vera01e").apiKeySecret;
  const prod = new VeracodeAccount({
    name: "prod-eu",
    apiKeyId: prodKeys.apiKeyId,
    apiKeySecret: wrongSecret,
    baseUrl: fake.url,
  });
  const admin = new VeracodeAccount({ name: "admin", ...adminKeys, baseUrl: fake.url });
  await runBot([admin, prod]);
  clock.advance(6 * 3_600_000);
  await runBot([admin, prod]);
  assert.deepEqual(titles(), [
    "Veracode API credentials expire within 1 day",
    "Veracode credential check failing for prod-eu",
  ]);
  assert.match(posted[1]?.text ?? "", /credentials wrong, revoked or wrong region/);
  const failure = log.records().find((record) => record.status === 401);
  assert.match(String(failure?.conversationId), /^conv-\d+$/);

  clock.advance(DAY_MS);
  await runBot([admin, prod]);
  assert.equal(posted.filter((message) => /check failing/.test(message.text)).length, 2);
  assert.ok(!log.text().includes(wrongSecret));

  const statuses = await readCredentialStatuses(store, clock.now());
  const shown = credentialStatusMessage(statuses, clock.now());
  assert.match(shown.text, /1 🚨 Expired, 1 ❗ Check failing/);
});

test("an admin watching a user whose credentials already expired: first run sends only 'expired'", async () => {
  fake.setCredential({ apiId: adminKeys.apiId, secretHex: adminKeys.secretHex, daysLeft: 200, admin: true });
  fake.setCredential({ apiId: userKeys.apiId, secretHex: userKeys.secretHex, daysLeft: -0.5 });
  fake.setUser("7b3c0a4e-0000-4000-8000-000000000001", userKeys.apiId);
  const admin = new VeracodeAccount({ name: "admin", ...adminKeys, baseUrl: fake.url });
  await runBot([admin], ["7b3c0a4e-0000-4000-8000-000000000001"]);
  clock.advance(DAY_MS);
  await runBot([admin], ["7b3c0a4e-0000-4000-8000-000000000001"]);
  assert.deepEqual(titles(), ["Veracode API credentials have expired"]);
  assert.match(posted[0]?.text ?? "", /user 7b3c0a4e-0000-4000-8000-000000000001 \(via admin\)/);
  assert.deepEqual(fake.rejections, []);
});
