import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { ConfigError, loadConfig } from "../src/config.js";
import { fakeKeyPair } from "./veracode/fake-veracode.js";

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

test("the default time zones (UTC) are taken without asking Intl: its first formatter costs the start 15-20 ms", (t) => {
  const real = Intl.DateTimeFormat;
  t.after(() => {
    Intl.DateTimeFormat = real;
  });
  Intl.DateTimeFormat = (() => {
    throw new Error("Intl.DateTimeFormat used");
  }) as unknown as typeof Intl.DateTimeFormat;
  const config = loadConfig({ SLACK_BOT_TOKEN: bot, SLACK_SIGNING_SECRET: signing });
  assert.equal(config.credentialCheck.timezone, "UTC");
  assert.equal(config.subscriptions.timezone, "UTC");
  Intl.DateTimeFormat = real;
  assert.equal(
    loadConfig({ CREDENTIAL_CHECK_TIMEZONE: "Europe/Berlin" }).credentialCheck.timezone,
    "Europe/Berlin",
  );
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
  assert.match(found.join("\n"), /^SLACK_BOT_TOKEN_FILE names .*, which cannot be read \(ENOENT\)/m);
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
  assert.match(problems({ SCANNER: "crashtest" }).join(), /CRASHTEST_API_KEY is required/);
  assert.match(problems({ CRASHTEST_API_KEY: key }).join(), /CRASHTEST_TEAM_ID is required/);
  assert.match(problems({ NODE_ENV: "production" }).join(), /SCANNER is not set: set CRASHTEST_API_KEY/);
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
  assert.deepEqual(config.watcher.reportFormats, ["pdf", "xml"]);
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

test("production with nothing set names every missing piece in one run, each with what to set", () => {
  const found = problems({ NODE_ENV: "production" }).join("\n");
  assert.match(found, /^SLACK_BOT_TOKEN is not set: the bot token \(xoxb-…\)/m);
  assert.match(
    found,
    /^SLACK_APP_TOKEN \(Socket Mode.*\) or SLACK_SIGNING_SECRET \(HTTP mode.*\) is not set/m,
  );
  assert.match(found, /^SCANNER is not set: set CRASHTEST_API_KEY/m);
  // DAST Essentials without Veracode credentials, and Veracode credentials without an alert channel.
  const dast = problems({ NODE_ENV: "production", SCANNER: "dast-essentials", HOME: dir }).join("\n");
  assert.match(dast, /^SLACK_BOT_TOKEN/m);
  assert.match(dast, /SCANNER=dast-essentials needs Veracode API credentials/);
  const keys = fakeKeyPair();
  const guard = problems({
    NODE_ENV: "production",
    SCANNER: "dast-essentials",
    VERACODE_API_KEY_ID: keys.apiKeyId,
    VERACODE_API_KEY_SECRET: keys.apiKeySecret,
  }).join("\n");
  assert.match(guard, /^SLACK_BOT_TOKEN/m);
  assert.match(
    guard,
    /^ALERT_CHANNEL is required when Veracode accounts are configured \(default\): set it/m,
  );
  assert.ok(!guard.includes(keys.secretHex) && !guard.includes(keys.apiId));
});

test("the bot as a service (requireSlack) reports missing Slack settings as problems outside production too", () => {
  assert.equal(loadConfig({}).slack.mode, "unconfigured");
  const found = problems({ REQUIRE_APPROVAL: "perhaps" }).join("\n");
  assert.doesNotMatch(found, /SLACK_BOT_TOKEN/);
  try {
    loadConfig({ REQUIRE_APPROVAL: "perhaps" }, { requireSlack: true });
    assert.fail("expected a ConfigError");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.match(error.problems.join("\n"), /^SLACK_BOT_TOKEN is not set/m);
    assert.match(error.problems.join("\n"), /^REQUIRE_APPROVAL must be true or false/m);
  }
});

test("numbers are explained in words, never in the schema library's terms", () => {
  assert.deepEqual(problems({ SCAN_POLL_INTERVAL_SECONDS: "soon" }), [
    "SCAN_POLL_INTERVAL_SECONDS must be a whole number of seconds, got a non-number",
  ]);
  assert.deepEqual(problems({ SCAN_POLL_INTERVAL_SECONDS: "0" }), [
    "SCAN_POLL_INTERVAL_SECONDS must be at least 1 second, got 0",
  ]);
  assert.deepEqual(problems({ SCAN_POLL_INTERVAL_SECONDS: "1.5" }), [
    "SCAN_POLL_INTERVAL_SECONDS must be a whole number of seconds, got a fraction (1.5)",
  ]);
  assert.deepEqual(problems({ PORT: "99999" }), ["PORT must be at most 65535, got 99999"]);
  assert.deepEqual(problems({ APPROVAL_TTL_HOURS: "0" }), [
    "APPROVAL_TTL_HOURS must be more than 0 hours, got 0",
  ]);
  assert.deepEqual(problems({ SCAN_WATCH_TICK_SECONDS: "7" }), [
    "SCAN_WATCH_TICK_SECONDS must divide a minute evenly: 1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30",
  ]);
  // Garbage in every plain setting: each is named, none in zod's words.
  const garbage = Object.fromEntries(
    [
      "LOG_LEVEL",
      "PORT",
      "SLACK_API_URL",
      "SCANNER",
      "DAST_API_URL",
      "DAST_STOP_ACTION",
      "CRASHTEST_API_URL",
      "CRASHTEST_TEAM_ID",
      "SIMULATOR_QUEUE_SECONDS",
      "SIMULATOR_RUN_SECONDS",
      "SIMULATOR_OUTCOME",
      "ADMIN_USERS",
      "ALLOWED_CHANNELS",
      "REQUIRE_APPROVAL",
      "APPROVAL_TTL_HOURS",
      "ALLOW_PRIVATE_TARGETS",
      "SCAN_POLL_INTERVAL_SECONDS",
      "SCANNER_MAX_REQUESTS_PER_MINUTE",
      "SCAN_WATCH_TICK_SECONDS",
      "REPORT_FORMATS",
      "ALERT_CHANNEL",
      "CREDENTIAL_CHECK_TIMEZONE",
    ].map((name) => [name, "#?"]),
  );
  const found = problems(garbage);
  for (const name of Object.keys(garbage)) {
    assert.ok(
      found.some((p) => p.startsWith(`${name} `)),
      `${name} is named: ${found.join("\n")}`,
    );
  }
  for (const problem of found) {
    assert.doesNotMatch(problem, /expected|received|Invalid|Too (small|big)|✖|NaN/, problem);
  }
});

test("simulator timing: defaults, fractions, and readable problems", () => {
  assert.deepEqual(loadConfig({}).simulator, { queueSeconds: 5, runSeconds: 30, outcome: "finished" });
  assert.deepEqual(
    loadConfig({ SIMULATOR_QUEUE_SECONDS: "0.5", SIMULATOR_RUN_SECONDS: " 2 ", SIMULATOR_OUTCOME: "failed" })
      .simulator,
    { queueSeconds: 0.5, runSeconds: 2, outcome: "failed" },
  );
  assert.equal(loadConfig({ SIMULATOR_QUEUE_SECONDS: "", SIMULATOR_OUTCOME: "" }).simulator.queueSeconds, 5);
  assert.deepEqual(
    problems({
      SIMULATOR_QUEUE_SECONDS: "soon",
      SIMULATOR_RUN_SECONDS: "999999",
      SIMULATOR_OUTCOME: "exploded",
    }),
    [
      "SIMULATOR_QUEUE_SECONDS must be a number of seconds, got a non-number",
      "SIMULATOR_RUN_SECONDS must be at most 86400 seconds, got 999999",
      "SIMULATOR_OUTCOME must be one of finished, failed, stopped",
    ],
  );
  assert.match(problems({ SIMULATOR_RUN_SECONDS: "-1" }).join(), /at least 0 seconds, got -1/);
});

test("SCHEDULE_CATCH_UP: latest by default, none on request, anything else a readable problem", () => {
  assert.equal(loadConfig({}).scheduleCatchUp, "latest");
  assert.equal(loadConfig({ SCHEDULE_CATCH_UP: "none" }).scheduleCatchUp, "none");
  assert.deepEqual(problems({ SCHEDULE_CATCH_UP: "all" }), ["SCHEDULE_CATCH_UP must be one of latest, none"]);
});

test("Veracode accounts and watched users come with the configuration; key IDs and secrets are registered by value", async () => {
  const fromEnv = fakeKeyPair("vera01e");
  const config = loadConfig({
    HOME: dir,
    VERACODE_API_KEY_ID: fromEnv.apiKeyId,
    VERACODE_API_KEY_SECRET: fromEnv.apiKeySecret,
    VERACODE_WATCH_USER_IDS: "u-1, u-2",
    ALERT_CHANNEL: "C0ALERTS",
  });
  assert.deepEqual(
    config.veracode.accounts.map((a) => [a.name, a.region]),
    [["default", "eu"]],
  );
  assert.deepEqual(config.veracode.watchUserIds, ["u-1", "u-2"]);
  for (const value of [fromEnv.apiKeyId, fromEnv.apiKeySecret, fromEnv.apiId, fromEnv.secretHex]) {
    assert.ok(config.secrets.includes(value));
  }

  const fromFiles = fakeKeyPair();
  await writeFile(path.join(dir, "vid"), fromFiles.apiKeyId);
  await writeFile(path.join(dir, "vkey"), fromFiles.apiKeySecret);
  const viaFiles = loadConfig({
    HOME: dir,
    VERACODE_API_KEY_ID_FILE: path.join(dir, "vid"),
    VERACODE_API_KEY_SECRET_FILE: path.join(dir, "vkey"),
    ALERT_CHANNEL: "C0ALERTS",
  });
  assert.ok(
    viaFiles.secrets.includes(fromFiles.apiKeyId) && viaFiles.secrets.includes(fromFiles.apiKeySecret),
  );

  const inFile = fakeKeyPair();
  const credentials = path.join(dir, "credentials.ini");
  await writeFile(
    credentials,
    `[default]\nveracode_api_key_id=${inFile.apiKeyId}\nveracode_api_key_secret=${inFile.apiKeySecret}\n`,
    { mode: 0o600 },
  );
  const viaIni = loadConfig({ VERACODE_CREDENTIALS_FILE: credentials, ALERT_CHANNEL: "C0ALERTS" });
  assert.ok(viaIni.secrets.includes(inFile.apiKeyId) && viaIni.secrets.includes(inFile.apiKeySecret));
  assert.match(problems({ VERACODE_WATCH_USER_IDS: "ok,bad/id" }).join(), /VERACODE_WATCH_USER_IDS/);
});

test("STORE_URL: the password and password-like parameters are secrets, in written and decoded form", () => {
  const password = "p@ss:w/rd#%?&=é";
  const encoded = encodeURIComponent(password);
  const config = loadConfig({
    STORE_URL: `postgres://bot:${encoded}@db.internal:5432/chatops?sslmode=require&sslpassword=k%2Fey%20pw&application_name=x`,
  });
  for (const value of [encoded, password, "k%2Fey%20pw", "k/ey pw"])
    assert.ok(config.secrets.includes(value), value);
  assert.ok(!config.secrets.includes("require") && !config.secrets.includes("x"));
  // An unencoded '@' in the password: the URL parser takes the last '@'; the decoded form is what was typed.
  const raw = loadConfig({ STORE_URL: "redis://:hunter@2@cache:6379" });
  assert.ok(raw.secrets.includes("hunter@2"));
  // A URL that cannot be parsed is a problem that quotes nothing of it.
  const found = problems({ STORE_URL: "redis://:pa ss@cache:port" }).join();
  assert.match(found, /^STORE_URL is not a valid URL; percent-encode/);
  assert.ok(!found.includes("pa ss"));
});

test("no roles configured is a start-up warning: nobody can act", () => {
  assert.match(loadConfig({}).warnings.join("\n"), /no roles are configured .*nobody can act/);
  assert.doesNotMatch(loadConfig({ OPERATOR_USERS: "U0CAROL" }).warnings.join("\n"), /no roles/);
});

test("src/config.ts is the only source file that reads the environment", () => {
  const root = new URL("../src/", import.meta.url).pathname;
  const readers: string[] = [];
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const full = path.join(folder, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (full.endsWith(".ts") && readFileSync(full, "utf8").includes("process.env")) readers.push(full);
    }
  };
  walk(root);
  assert.deepEqual(
    readers.map((file) => path.relative(root, file)),
    ["config.ts"],
  );
});

test("REPORT_MAX_BYTES: 100 MB by default, whole bytes from 1 KB, junit and xml name one format", () => {
  assert.equal(loadConfig({}).reportMaxBytes, 100 * 1024 * 1024);
  assert.equal(loadConfig({ REPORT_MAX_BYTES: "2048" }).reportMaxBytes, 2048);
  assert.match(problems({ REPORT_MAX_BYTES: "lots" }).join(), /REPORT_MAX_BYTES/);
  assert.match(problems({ REPORT_MAX_BYTES: "10" }).join(), /REPORT_MAX_BYTES/);
  assert.deepEqual(loadConfig({ REPORT_FORMATS: "xml,JUnit,pdf" }).watcher.reportFormats, ["xml", "pdf"]);
});

test("SCANNER_UI_URL: an https template with {projectId} and {scanId}; anything else is a named problem", () => {
  const base = { SLACK_BOT_TOKEN: bot, SLACK_SIGNING_SECRET: signing };
  assert.equal(loadConfig(base).scannerUiUrl, undefined, "unset: no Open in scanner button");
  const template = "https://app.crashtest.cloud/projects/{projectId}/scans/{scanId}";
  assert.equal(loadConfig({ ...base, SCANNER_UI_URL: template }).scannerUiUrl, template);
  for (const bad of [
    "http://app.example.com/{projectId}/{scanId}",
    "javascript:alert(1)//{scanId}",
    "https://app.example.com/{project}/{scanId}",
    "not a url {scanId}",
  ]) {
    assert.ok(
      problems({ ...base, SCANNER_UI_URL: bad }).some((p) => /^SCANNER_UI_URL.*https URL template/.test(p)),
      bad,
    );
  }
});

test("DAST_ESTIMATE_UNIT: seconds by default, minutes on request, nothing else", () => {
  const base = { SLACK_BOT_TOKEN: bot, SLACK_SIGNING_SECRET: signing };
  assert.equal(loadConfig(base).dast.estimateUnit, "seconds");
  assert.equal(loadConfig({ ...base, DAST_ESTIMATE_UNIT: "minutes" }).dast.estimateUnit, "minutes");
  assert.ok(
    problems({ ...base, DAST_ESTIMATE_UNIT: "hours" }).some((p) => p.startsWith("DAST_ESTIMATE_UNIT")),
  );
});

test("findings history: 180 days and the suspect thresholds by default, each settable and checked", () => {
  const base = { SLACK_BOT_TOKEN: bot, SLACK_SIGNING_SECRET: signing };
  assert.deepEqual(loadConfig(base).findings, {
    retentionDays: 180,
    suspect: { durationRatio: 1 / 3, recentScans: 5, manyFindings: 10, errorShare: 0.2 },
  });
  const set = loadConfig({
    ...base,
    FINDINGS_RETENTION_DAYS: "30",
    FINDINGS_SUSPECT_DURATION_RATIO: "0.5",
    FINDINGS_SUSPECT_RECENT_SCANS: "3",
    FINDINGS_SUSPECT_MANY_FINDINGS: "1",
    FINDINGS_SUSPECT_ERROR_SHARE: "1",
  }).findings;
  assert.deepEqual(set, {
    retentionDays: 30,
    suspect: { durationRatio: 0.5, recentScans: 3, manyFindings: 1, errorShare: 1 },
  });
  assert.throws(
    () => loadConfig({ ...base, FINDINGS_RETENTION_DAYS: "0", FINDINGS_SUSPECT_DURATION_RATIO: "2" }),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.problems.some((p) => p.startsWith("FINDINGS_RETENTION_DAYS")) &&
      error.problems.some((p) => p.startsWith("FINDINGS_SUSPECT_DURATION_RATIO")),
  );
});
