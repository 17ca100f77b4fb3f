import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { Agent } from "undici";
import { AppError } from "../../src/domain/errors.js";
import {
  parseExpirationTs,
  parseWatchUserIds,
  VeracodeAccount,
  VeracodeIdentityClient,
  veracodeCredentialChecks,
} from "../../src/veracode/index.js";
import { ManualClock } from "../domain/memory-store.js";
import { FakeVeracode, fakeKeyPair, rawCaptureLogger } from "./fake-veracode.js";

const DAY = 86_400_000;
const NOW = Date.UTC(2025, 8, 24, 9, 30);

describe("parseExpirationTs", () => {
  const noon = Date.UTC(2025, 9, 1, 12, 0, 0);
  const valid: Array<[string, number]> = [
    ["2025-10-01T12:00:00Z", noon],
    ["2025-10-01T12:00:00+0000", noon],
    ["2025-10-01T12:00:00+00:00", noon],
    ["2025-10-01T12:00:00.000+0000", noon],
    ["2025-10-01T12:00:00.1+00:00", noon + 100],
    ["2025-10-01T12:00:00.123Z", noon + 123],
    ["2025-10-01T12:00:00.123456789+0000", noon + 123],
    ["2025-10-01T14:00:00.000+0200", noon],
    ["2025-10-01T07:30:00-04:30", noon],
  ];
  for (const [input, expected] of valid) {
    test(`reads ${input}`, () => assert.equal(parseExpirationTs(input), expected));
  }
  const invalid = [
    "",
    "2025-10-01",
    "2025-10-01T12:00:00",
    "2025-10-01 12:00:00Z",
    "2025-10-01T12:00:00.1234567890Z",
    "2025-10-01T12:00:00.Z",
    "2025-02-30T12:00:00Z",
    "2025-10-01T24:00:00Z",
    "2025-10-01T12:00:00+2400",
    "2025-10-01T12:00:00 +0000",
    "1759320000000",
    "Wed, 01 Oct 2025 12:00:00 GMT",
  ];
  for (const input of invalid) {
    test(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => parseExpirationTs(input), AppError);
    });
  }
});

describe("VeracodeIdentityClient against the fake Veracode", () => {
  let clock: ManualClock;
  let fake: FakeVeracode;
  let sleeps: number[];
  let log: ReturnType<typeof rawCaptureLogger>;
  let client: VeracodeIdentityClient;
  const keys = fakeKeyPair("vera01e");
  let account: VeracodeAccount;

  beforeEach(async () => {
    clock = new ManualClock(NOW);
    fake = await FakeVeracode.start(clock);
    fake.setCredential({ apiId: keys.apiId, secretHex: keys.secretHex, daysLeft: 7 });
    sleeps = [];
    log = rawCaptureLogger();
    client = new VeracodeIdentityClient({
      logger: log.logger,
      baseDelayMs: 100,
      random: () => 0.5,
      timeoutMs: 300,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    account = new VeracodeAccount({ name: "eu-service", ...keys, baseUrl: fake.url });
  });

  afterEach(async () => {
    await client.close();
    await fake.close();
    // Whatever happened, the secret and full key ID never reach a log line.
    assert.ok(!log.text().includes(keys.secretHex));
    assert.ok(!log.text().includes(keys.apiId));
    assert.ok(!log.text().includes("VERACODE-HMAC"));
  });

  test("reads the account's own credentials, signed for the EU key", async () => {
    const info = await client.getOwnCredentials(account);
    assert.deepEqual(info, {
      apiId: keys.apiId,
      expirationTs: new Date(NOW + 7 * DAY).toISOString().replace("Z", "+0000"),
      expiresAt: NOW + 7 * DAY,
    });
    assert.deepEqual(fake.rejections, []);
    assert.equal(fake.requests.length, 1);
  });

  test("accepts other expiration_ts layouts from the server", async () => {
    fake.setCredential({
      apiId: keys.apiId,
      secretHex: keys.secretHex,
      daysLeft: 3,
      format: (ms) => new Date(ms).toISOString().replace(".000Z", ".000000+00:00"),
    });
    assert.equal((await client.getOwnCredentials(account)).expiresAt, NOW + 3 * DAY);
  });

  test("an unreadable expiration_ts fails loudly, without retrying", async () => {
    fake.setCredential({
      apiId: keys.apiId,
      secretHex: keys.secretHex,
      daysLeft: 3,
      format: () => "10/01/2025",
    });
    await assert.rejects(client.getOwnCredentials(account), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.kind, "unavailable");
      assert.match(error.message, /10\/01\/2025/);
      return true;
    });
    assert.equal(fake.requests.length, 1);
  });

  test("401: auth error naming the likely causes, logged with the conversation ID, no retry", async () => {
    const wrong = fakeKeyPair("vera01e");
    const stranger = new VeracodeAccount({
      name: "eu-service",
      apiKeyId: keys.apiKeyId,
      apiKeySecret: wrong.apiKeySecret,
      baseUrl: fake.url,
    });
    await assert.rejects(client.getOwnCredentials(stranger), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.kind, "auth");
      assert.match(error.userMessage, /credentials wrong, revoked or wrong region/);
      assert.match(error.userMessage, new RegExp(`…${keys.apiId.slice(-4)}`));
      const text = `${error.message} ${error.userMessage} ${error.stack}`;
      assert.ok(!text.includes(wrong.secretHex) && !text.includes(keys.apiId));
      return true;
    });
    assert.deepEqual(fake.rejections, ["signature mismatch"]);
    assert.equal(fake.requests.length, 1);
    const warning = log.records().find((record) => record.msg === "Veracode Identity API call failed");
    assert.equal(warning?.conversationId, "conv-1");
    assert.equal(warning?.status, 401);
    assert.equal(log.text().includes(wrong.secretHex), false);
  });

  test("429: waits Retry-After, then retries with a fresh signature", async () => {
    fake.enqueue({ status: 429, headers: { "retry-after": "3" } });
    const info = await client.getOwnCredentials(account);
    assert.equal(info.apiId, keys.apiId);
    assert.deepEqual(sleeps, [3000]);
    assert.equal(fake.requests.length, 2);
    assert.notEqual(fake.requests[0]?.nonce, fake.requests[1]?.nonce);
    assert.deepEqual(fake.rejections, []);
    assert.equal(log.records().find((record) => record.status === 429)?.conversationId, "conv-1");
  });

  test("429 asking for a longer wait than allowed fails at once as rate_limited", async () => {
    fake.enqueue({ status: 429, headers: { "retry-after": "3600" } });
    await assert.rejects(client.getOwnCredentials(account), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.kind, "rate_limited");
      assert.equal(error.retryAfterMs, 3_600_000);
      return true;
    });
    assert.deepEqual(sleeps, []);
  });

  test("5xx, dropped connections and timeouts are retried with growing backoff, each signed afresh", async () => {
    fake.enqueue({ status: 503 }, { drop: true }, { hang: true }, { status: 500 });
    const info = await client.getOwnCredentials(account);
    assert.equal(info.expiresAt, NOW + 7 * DAY);
    // random() = 0.5 puts each delay at 3/4 of the cap: 100, 200, 400, 800 ms caps.
    assert.deepEqual(sleeps, [75, 150, 300, 600]);
    assert.equal(fake.requests.length, 5);
    assert.equal(new Set(fake.requests.map((request) => request.nonce)).size, 5);
    assert.deepEqual(fake.rejections, []);
  });

  test("gives up after 5 retries", async () => {
    fake.enqueue(...Array.from({ length: 10 }, () => ({ status: 502 })));
    await assert.rejects(client.getOwnCredentials(account), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.kind, "unavailable");
      assert.equal(error.retryable, true);
      return true;
    });
    assert.equal(fake.requests.length, 6);
    assert.equal(sleeps.length, 5);
  });

  test("does not follow redirects", async () => {
    fake.enqueue({ status: 302, headers: { location: "https://evil.example/steal" } });
    await assert.rejects(
      client.getOwnCredentials(account),
      (error: unknown) => error instanceof AppError && /redirect/.test(error.userMessage),
    );
    assert.equal(fake.requests.length, 1);
  });

  test("rejects responses that do not match the schema or are not JSON", async () => {
    fake.enqueue({
      status: 200,
      body: JSON.stringify({ api_id: 42, expiration_ts: "2025-10-01T12:00:00Z" }),
    });
    await assert.rejects(client.getOwnCredentials(account), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.match(error.message, /api_id/);
      return true;
    });
    fake.enqueue({ status: 200, body: "<html>" });
    await assert.rejects(client.getOwnCredentials(account), /not JSON/);
    assert.equal(fake.requests.length, 2);
  });

  test("an admin account reads watched users' credentials; others get permission errors", async () => {
    const user = fakeKeyPair();
    fake.setCredential({ apiId: user.apiId, secretHex: user.secretHex, daysLeft: -1, revokedAt: NOW - DAY });
    fake.setUser("11111111-2222-3333-4444-555555555555", user.apiId);
    await assert.rejects(
      client.getUserCredentials(account, "11111111-2222-3333-4444-555555555555"),
      (error) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.kind, "permission");
        return true;
      },
    );
    const adminKeys = fakeKeyPair();
    fake.setCredential({
      apiId: adminKeys.apiId,
      secretHex: adminKeys.secretHex,
      daysLeft: 100,
      admin: true,
    });
    const admin = new VeracodeAccount({ name: "admin", ...adminKeys, baseUrl: fake.url });
    const info = await client.getUserCredentials(admin, "11111111-2222-3333-4444-555555555555");
    assert.deepEqual(info, {
      apiId: user.apiId,
      expirationTs: new Date(NOW - DAY).toISOString().replace("Z", "+0000"),
      expiresAt: NOW - DAY,
      revokedAt: NOW - DAY,
    });
    await assert.rejects(client.getUserCredentials(admin, "nobody"), (error) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.kind, "not_found");
      return true;
    });
    await assert.rejects(client.getUserCredentials(admin, "../x"), AppError);
    assert.deepEqual(fake.rejections, []);
  });

  test("uses an injected dispatcher and leaves it open on close()", async () => {
    const agent = new Agent({ headersTimeout: 1000 });
    let dispatched = 0;
    const counting = agent.compose((dispatch) => (options, handler) => {
      dispatched += 1;
      return dispatch(options, handler);
    });
    const injected = new VeracodeIdentityClient({ logger: log.logger, dispatcher: counting });
    await injected.getOwnCredentials(account);
    await injected.close();
    assert.equal(dispatched, 1);
    await injected.getOwnCredentials(account);
    assert.equal(dispatched, 2);
    await agent.close();
  });

  test("veracodeCredentialChecks watches every account and the admin's watched users", async () => {
    const adminKeys = fakeKeyPair();
    const user = fakeKeyPair();
    fake.setCredential({
      apiId: adminKeys.apiId,
      secretHex: adminKeys.secretHex,
      daysLeft: 100,
      admin: true,
    });
    fake.setCredential({ apiId: user.apiId, secretHex: user.secretHex, daysLeft: 2 });
    fake.setUser("u-1", user.apiId);
    const admin = new VeracodeAccount({ name: "admin", ...adminKeys, baseUrl: fake.url });
    const checks = veracodeCredentialChecks([admin, account], client, parseWatchUserIds(" u-1 ,"));
    assert.deepEqual(
      checks.targets.map((target) => target.label),
      ["admin", "eu-service", "user u-1 (via admin)"],
    );
    const results = await Promise.all(checks.targets.map((target) => checks.fetchCredentials(target)));
    assert.deepEqual(
      results.map((result) => result.expiresAt),
      [NOW + 100 * DAY, NOW + 7 * DAY, NOW + 2 * DAY],
    );
    assert.throws(() => parseWatchUserIds("ok,bad/id"), AppError);
  });
});
