import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../src/domain/errors.js";
import { captureLogger } from "./support/logs.js";

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
