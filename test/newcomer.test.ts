import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import YAML from "yaml";
import { SlackEmulator } from "../dev/slack-emulator/index.js";
import { readme, readmeFastSettings, readmeSession } from "./support/readme.js";
import { sharedFile } from "./support/shared.js";

/**
 * A newcomer's first minutes, from the README only, in a fresh checkout (the project's files linked into
 * an empty directory, so `data/` and `.env` are the newcomer's own): the README's console session through
 * `npm start`, a second `npm start` that creates and scans again, HTTP mode from `.env`, and a production
 * start with nothing set.
 */

const root = new URL("..", import.meta.url).pathname;

async function freshCheckout(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "newcomer-"));
  for (const name of ["package.json", "tsconfig.json", "node_modules", "src", "dev", ".env.example"]) {
    await symlink(path.join(root, name), path.join(dir, name));
  }
  return dir;
}

/** `npm start` in the checkout, as a person runs it: only PATH and HOME from outside, plus `env`. */
function npmStart(cwd: string, env: Record<string, string> = {}) {
  const child = spawn("npm", ["start"], {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
  });
  child.stderr.on("data", (chunk) => {
    out += chunk;
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, exited, out: () => out };
}

/** Ends what `npm start` started (npm and the bot under it) if a check failed half-way. */
function stopGroup(child: ChildProcess): void {
  if (child.exitCode === null && child.pid !== undefined) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}

async function consoleSession(cwd: string, lines: string[], env: Record<string, string> = {}) {
  const run = npmStart(cwd, env);
  try {
    run.child.stdin?.end(lines.map((line) => `${line}\n`).join(""));
    const code = await run.exited;
    assert.equal(code, 0, run.out());
    return run.out();
  } finally {
    stopGroup(run.child);
  }
}

test("a newcomer's session from the README: console twice, HTTP mode from .env, production with nothing set", async (t) => {
  const dir = await freshCheckout();
  t.after(() => rm(dir, { recursive: true, force: true }));

  await t.test("the README's console session, through npm start", async () => {
    const session = readmeSession();
    const out = await consoleSession(
      dir,
      session.map(({ line }) => line),
      readmeFastSettings(),
    );
    for (const { prompt, line } of session) assert.ok(out.includes(`${prompt}${line}\n`), `${prompt}${line}`);
    assert.match(out, /Store: +sqlite:\/\/data\/console\.sqlite/);
    assert.match(out, /scan 390 of \*web-shop\* finished/);
    assert.doesNotMatch(out, /There is no|Cannot press|Unknown/);
  });

  await t.test("quit, then a second npm start creates and scans again", async () => {
    const out = await consoleSession(dir, [
      "/crashtest project create blog https://blog.example.com",
      "/crashtest scan start blog",
      "as @bob",
      "press 1",
      "quit",
    ]);
    assert.match(out, /Project \*blog\* created \(ID `102`\)/);
    assert.match(out, /\*Scan 391\* · \*blog\*/);
    assert.doesNotMatch(out, /does not know|already running|already registered/);
  });

  await t.test("HTTP mode from .env", async (t) => {
    const start = [
      JSON.parse(await readFile(path.join(root, "package.json"), "utf8")).scripts.start,
      await readFile(path.join(root, "dev/start.ts"), "utf8"),
      await readFile(path.join(root, "src/main.ts"), "utf8"),
    ].join("\n");
    // Until npm start loads .env (Node's --env-file-if-exists or process.loadEnvFile), this part waits.
    if (!/env-file|loadEnvFile/.test(start)) {
      t.skip("npm start does not load .env yet");
      return;
    }
    const emulator = await SlackEmulator.start();
    t.after(() => emulator.close());
    const port = 30_000 + Math.floor(Math.random() * 20_000);
    await writeFile(
      path.join(dir, ".env"),
      [
        `SLACK_BOT_TOKEN=${emulator.botToken}`,
        `SLACK_SIGNING_SECRET=${emulator.signingSecret}`,
        `SLACK_API_URL=${emulator.apiUrl}`,
        `PORT=${port}`,
        "ADMIN_USERS=U0ALICE",
        "OPERATOR_USERS=U0ALICE",
        "",
      ].join("\n"),
    );
    const run = npmStart(dir);
    try {
      const deadline = Date.now() + 60_000;
      while (!/bot ready/.test(run.out())) {
        if (Date.now() > deadline || run.child.exitCode !== null) assert.fail(`no bot ready:\n${run.out()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      emulator.requestUrl = `http://127.0.0.1:${port}/slack/events`;
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      const sent = await emulator.slashCommand({ user: "U0ALICE", channel: "C0GENERAL", text: "help" });
      assert.equal(sent.status, 200, "a signed slash command is accepted in HTTP mode");
      run.child.kill("SIGTERM");
      await run.exited;
    } finally {
      stopGroup(run.child);
      await rm(path.join(dir, ".env"), { force: true });
    }
  });

  await t.test("production with nothing set names every missing setting in one run", async () => {
    const run = npmStart(dir, { NODE_ENV: "production" });
    try {
      run.child.stdin?.end();
      const code = await run.exited;
      assert.notEqual(code, 0);
      const out = run.out();
      assert.match(out, /SLACK_BOT_TOKEN/);
      assert.match(out, /SLACK_APP_TOKEN|SLACK_SIGNING_SECRET/);
      assert.match(out, /CRASHTEST_API_KEY|SCANNER/);
      assert.doesNotMatch(out, /LOCAL ONLY/, "no console in production");
    } finally {
      stopGroup(run.child);
    }
  });
});

/** Objects merge key by key, arrays element by element: the README's snippet names only what changes. */
function merge(base: unknown, change: unknown): unknown {
  if (Array.isArray(base) && Array.isArray(change)) {
    return base.map((item, i) => (i < change.length ? merge(item, change[i]) : item));
  }
  if (base && change && typeof base === "object" && typeof change === "object") {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [key, value] of Object.entries(change)) out[key] = merge(out[key], value);
    return out;
  }
  return change;
}

test("the README's HTTP-mode manifest change is valid against Slack's schema and points every URL at the bot", async (t) => {
  const section = readme.slice(readme.indexOf("HTTP mode instead"));
  const snippet = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(snippet, "README.md shows the HTTP-mode manifest keys in a yaml snippet");
  const change = YAML.parse(snippet.replace(/^ {3}/gm, ""));
  const manifest = merge(YAML.parse(await readFile(path.join(root, "manifest.yml"), "utf8")), change) as {
    features: { slash_commands: Array<{ command: string; url?: string }> };
    settings: Record<string, { request_url?: string } | boolean>;
  };
  const url = "https://chatops.example.com/slack/events";
  assert.equal(manifest.features.slash_commands[0]?.command, "/crashtest");
  assert.equal(manifest.features.slash_commands[0]?.url, url);
  assert.equal((manifest.settings.event_subscriptions as { request_url?: string }).request_url, url);
  assert.equal((manifest.settings.interactivity as { request_url?: string }).request_url, url);
  assert.equal(manifest.settings.socket_mode_enabled, false);

  const schemaFile = sharedFile(t, "specs/slack-manifest.schema.json");
  if (!schemaFile) return;
  const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const validate = ajv.compile(JSON.parse(await readFile(schemaFile, "utf8")));
  assert.equal(validate(manifest), true, JSON.stringify(validate.errors, null, 2));
});
