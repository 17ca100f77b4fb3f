import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../src/config.js";
import { AppError } from "../src/domain/errors.js";
import { Redactor } from "../src/logger.js";
import { describeStoreUrl } from "../src/store/url.js";
import { captureLogger } from "./support/logs.js";
import { fakeKeyPair } from "./veracode/fake-veracode.js";

const botToken = "xoxb-1111-2222-abcdefghijklmnop";
const apiKey = "ct-key-0123456789abcdef";

test("redacts secret fields, secret values and secret shapes in every log line", () => {
  const log = captureLogger([apiKey]);
  log.logger.info("calling scanner", {
    headers: { Authorization: "VERACODE-HMAC-SHA-256 id=abc,ts=1,nonce=2,sig=3", API_KEY: apiKey },
    url: `https://api.example.test/scans?api_key=${apiKey}&x=1`,
    note: `token was ${botToken}`,
  });
  log.logger.error("failed", { error: new AppError("auth", "check key", { detail: `bad key ${apiKey}` }) });
  const text = log.text();
  assert.ok(!text.includes(apiKey), text);
  assert.ok(!text.includes(botToken), text);
  assert.ok(!text.includes("sig=3"), text);
  assert.match(text, /api_key=\[REDACTED\]&x=1/);
  assert.equal(log.records().length, 2);
  assert.equal(log.records()[1]?.level, "error");
});

test("drops lines below the configured level", () => {
  const log = captureLogger([], "warn");
  log.logger.info("quiet");
  log.logger.child({ component: "x" }).warn("loud");
  assert.equal(log.lines.length, 1);
  assert.equal(log.records()[0]?.component, "x");
});

test("user:password@ in any URL in a log line is redacted, the rest of the URL kept", () => {
  const log = captureLogger();
  log.logger.warn("request failed", {
    input: "project create x https://bob:hunter2@shop.example.com/a",
    error: new Error("connect redis://:s3cr3t@db.internal:6379 refused"),
  });
  const text = log.text();
  for (const secret of ["hunter2", "bob:", "s3cr3t"]) assert.ok(!text.includes(secret), text);
  assert.match(text, /https:\/\/\[REDACTED\]@shop\.example\.com\/a/);
});

test("Socket Mode tickets, password-like query parameters and URL passwords are redacted wherever they appear", () => {
  const log = captureLogger();
  const ticket = "3f1c9a52-7b7e-4a57-9a1e-0c6f1b2d9e11";
  log.logger.debug(`Connecting to wss://wss-primary.slack.com/link/?ticket=${ticket}&app_id=A0123`);
  log.logger.error("store failed", {
    error: new Error(
      "connect to postgres://bot:pa55-word@db:5432/x?sslmode=require&sslpassword=k3y-pass failed",
    ),
    url: "redis://:hunter2-really@cache:6379/0",
    note: "retrying with ?password=s3cr3t-pw;pwd=other-one",
  });
  const text = log.text();
  for (const secret of [ticket, "pa55-word", "k3y-pass", "hunter2-really", "s3cr3t-pw", "other-one"]) {
    assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  }
  assert.match(text, /ticket=\[REDACTED\]&app_id=A0123/);
  assert.match(text, /sslmode=require/);
  assert.match(text, /postgres:\/\/\[REDACTED\]@db:5432/);
  // A URL already masked for display keeps its mask.
  assert.equal(new Redactor([]).text("at redis://:***@cache:6379"), "at redis://:***@cache:6379");
});

test("secrets registered by value are redacted in every form config registers: STORE_URL passwords encoded and decoded, Veracode keys with and without prefix", () => {
  const password = "p@ss/w:rd#ü";
  const keys = fakeKeyPair("vera01e");
  const config = loadConfig({
    STORE_URL: `redis://:${encodeURIComponent(password)}@cache:6379`,
    VERACODE_API_KEY_ID: keys.apiKeyId,
    VERACODE_API_KEY_SECRET: keys.apiKeySecret,
    VERACODE_CREDENTIALS_FILE: "/nonexistent/credentials",
    ALERT_CHANNEL: "C0ALERTS",
  });
  const log = captureLogger(config.secrets);
  log.logger.warn(`auth failed for ${password} / ${encodeURIComponent(password)}`);
  log.logger.warn(`signing with id=${keys.apiId} secret ${keys.secretHex}`, { detail: keys.apiKeyId });
  const text = log.text();
  for (const secret of [password, encodeURIComponent(password), keys.apiId, keys.secretHex]) {
    assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  }
  assert.equal(
    describeStoreUrl(`redis://:${encodeURIComponent(password)}@cache:6379`),
    "redis://:***@cache:6379",
  );
  assert.equal(
    describeStoreUrl("postgres://u:pw@db/x?sslmode=require&sslpassword=abc&password=def"),
    "postgres://u:***@db/x?sslmode=require&sslpassword=***&password=***",
  );
});

test("redaction patterns stay linear on long hostile text", () => {
  const redactor = new Redactor([]);
  for (const text of [
    "a.".repeat(500_000),
    "?x".repeat(500_000),
    `${"a".repeat(1_000_000)}://`,
    ":".repeat(1_000_000),
  ]) {
    const started = performance.now();
    redactor.text(text);
    assert.ok(performance.now() - started < 1000, `took ${performance.now() - started} ms`);
  }
});
