import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { ConfigError, loadConfig } from "../src/config.js";

const dir = await mkdtemp(path.join(tmpdir(), "chatops-config-"));
after(() => rm(dir, { recursive: true, force: true }));

const bot = "xoxb-123-456-abcdefabcdef";
const app = "xapp-1-A123-456-abcdef";
const signing = "8f742231b10e8888abcd99yyyzzz85a5";

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail("expected a ConfigError");
}

test("defaults: HTTP mode on 3000, embedded SQLite store, simulator without scanner credentials", () => {
  const config = loadConfig({ SLACK_BOT_TOKEN: bot, SLACK_SIGNING_SECRET: signing });
  assert.equal(config.slack.mode, "http");
  assert.equal(config.port, 3000);
  assert.equal(config.storeUrl, "sqlite://data/chatops.sqlite");
  assert.equal(config.scanner, "simulator");
  assert.equal(config.slack.apiUrl, "https://slack.com/api/");
  assert.equal(config.logLevel, "info");
});

test("Socket Mode when SLACK_APP_TOKEN is set; SLACK_API_URL applies and gains a trailing slash", () => {
  const config = loadConfig({
    SLACK_BOT_TOKEN: bot,
    SLACK_APP_TOKEN: app,
    SLACK_API_URL: "http://127.0.0.1:9/api",
  });
  assert.equal(config.slack.mode, "socket");
  assert.equal(config.slack.apiUrl, "http://127.0.0.1:9/api/");
});

test("missing Slack credentials are reported by name, not thrown, so the caller can choose the console", () => {
  const config = loadConfig({});
  assert.equal(config.slack.mode, "unconfigured");
  assert.ok(config.slack.mode === "unconfigured" && config.slack.missing.includes("SLACK_BOT_TOKEN"));
});

test("every problem is listed at once, by variable name, never by value", () => {
  const secretLooking = "xoxp-not-a-bot-token-999";
  const found = problems({
    SLACK_BOT_TOKEN: secretLooking,
    PORT: "99999",
    LOG_LEVEL: "loud",
    STORE_URL: "mongodb://u:hunter2@db/x",
    SLACK_API_URL: "ftp://x",
  });
  const text = found.join("\n");
  for (const name of ["SLACK_BOT_TOKEN", "PORT", "LOG_LEVEL", "STORE_URL", "SLACK_API_URL"]) {
    assert.match(text, new RegExp(`^${name}`, "m"), name);
  }
  assert.ok(!text.includes(secretLooking));
  assert.ok(!text.includes("hunter2"));
  const message = new ConfigError(found).message;
  assert.match(message, /README\.md/);
});

test("secrets may come from NAME_FILE; an unreadable file is a named problem", async () => {
  const file = path.join(dir, "bot-token");
  await writeFile(file, `${bot}\n`);
  const config = loadConfig({ SLACK_BOT_TOKEN_FILE: file, SLACK_SIGNING_SECRET: signing });
  assert.equal(config.slack.mode === "http" && config.slack.botToken, bot);
  assert.ok(config.secrets.includes(bot));
  const found = problems({ SLACK_BOT_TOKEN_FILE: path.join(dir, "missing"), SLACK_SIGNING_SECRET: signing });
  assert.match(found.join("\n"), /^SLACK_BOT_TOKEN_FILE: cannot read .*ENOENT/m);
});

test("the variable wins over its _FILE twin", async () => {
  const file = path.join(dir, "other");
  await writeFile(file, "xoxb-from-file-000000");
  const config = loadConfig({
    SLACK_BOT_TOKEN: bot,
    SLACK_BOT_TOKEN_FILE: file,
    SLACK_SIGNING_SECRET: signing,
  });
  assert.equal(config.slack.mode === "http" && config.slack.botToken, bot);
});

test("scanner choice: the simulator never stands in silently for real credentials", () => {
  const key = "ct-live-key-123456";
  const real = loadConfig({ CRASHTEST_API_KEY: key, CRASHTEST_TEAM_ID: "42" });
  assert.equal(real.scanner, "crashtest");
  assert.ok(real.secrets.includes(key));
  assert.match(problems({ SCANNER: "simulator", CRASHTEST_API_KEY: key }).join(), /SCANNER/);
  assert.match(problems({ SCANNER: "crashtest" }).join(), /CRASHTEST_API_KEY: required/);
  assert.match(problems({ CRASHTEST_API_KEY: key }).join(), /CRASHTEST_TEAM_ID: required/);
  assert.match(problems({ NODE_ENV: "production" }).join(), /SCANNER: set CRASHTEST_API_KEY/);
});

test("a store password is registered for redaction", () => {
  const config = loadConfig({ STORE_URL: "redis://:s3cr3t-pass@cache:6379" });
  assert.ok(config.secrets.includes("s3cr3t-pass"));
});

test("roles, approvals, watcher and alert settings are parsed and checked", () => {
  const config = loadConfig({
    ADMIN_USERS: "U01ADMIN, S0SECTEAM",
    APPROVER_USERS: "U02APPR",
    ALLOWED_CHANNELS: "C0SEC",
    REQUIRE_APPROVAL: "false",
    APPROVAL_TTL_HOURS: "2",
    SCAN_POLL_INTERVAL_SECONDS: "30",
    REPORT_FORMATS: "PDF, junit",
    ALERT_CHANNEL: "C0ALERTS",
  });
  assert.deepEqual(config.roles, {
    admins: ["U01ADMIN", "S0SECTEAM"],
    approvers: ["U02APPR"],
    operators: [],
    allowedChannels: ["C0SEC"],
  });
  assert.deepEqual(config.approvals, { required: false, ttlMs: 2 * 3600_000 });
  assert.deepEqual(config.watcher.reportFormats, ["pdf", "junit"]);
  assert.match(config.warnings.join(), /below the 120 s/);
  assert.equal(config.credentialCheck.alertChannel, "C0ALERTS");
  assert.equal(config.credentialCheck.cron, "0 9 * * *");
  assert.equal(loadConfig({}).approvals.required, true);

  const found = problems({
    ADMIN_USERS: "alice",
    REQUIRE_APPROVAL: "maybe",
    REPORT_FORMATS: "docx",
    CREDENTIAL_CHECK_CRON: "every morning",
    CREDENTIAL_CHECK_TIMEZONE: "Mars/Olympus",
  }).join("\n");
  for (const name of [
    "ADMIN_USERS",
    "REQUIRE_APPROVAL",
    "REPORT_FORMATS",
    "CREDENTIAL_CHECK_CRON",
    "CREDENTIAL_CHECK_TIMEZONE",
  ]) {
    assert.match(found, new RegExp(`^${name}`, "m"), name);
  }
});

test("webhook-only Crashtest projects select the real scanner and their secrets are redacted", () => {
  const secret = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
  const config = loadConfig({ CRASHTEST_WEBHOOKS: JSON.stringify({ shop: secret }) });
  assert.equal(config.scanner, "crashtest");
  assert.equal(config.crashtest.webhooks[0]?.name, "shop");
  assert.ok(config.secrets.includes(secret));
  const bad = problems({ CRASHTEST_WEBHOOKS: "{not json", CRASHTEST_ROUTES: '{"nope":"GET /x"}' }).join("\n");
  assert.ok(!bad.includes(secret));
  assert.match(bad, /CRASHTEST_WEBHOOKS/);
  assert.match(bad, /CRASHTEST_ROUTES/);
});
