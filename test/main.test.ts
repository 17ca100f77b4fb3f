import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { test } from "node:test";
import { SlackEmulator } from "../dev/slack-emulator/index.js";

const root = new URL("..", import.meta.url).pathname;

function runMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, exited, out: () => stdout, err: () => stderr };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

test("in production, missing Slack credentials stop start-up before anything starts, naming every variable and the README", async () => {
  const run = runMain({ NODE_ENV: "production", STORE_URL: "memory://" });
  const code = await run.exited;
  assert.notEqual(code, 0);
  // Nothing was started (no store, no Slack app): configuration fails before the first log line.
  assert.equal(run.out(), "");
  assert.match(run.err(), /SLACK_BOT_TOKEN is not set/);
  assert.match(run.err(), /SLACK_SIGNING_SECRET \(HTTP mode/);
  assert.match(run.err(), /SCANNER is not set/);
  assert.match(run.err(), /README\.md/);
});

test("an unreachable store stops start-up with a message naming STORE_URL", async () => {
  const emulator = await SlackEmulator.start();
  try {
    const run = runMain({
      SLACK_BOT_TOKEN: emulator.botToken,
      SLACK_SIGNING_SECRET: emulator.signingSecret,
      SLACK_API_URL: emulator.apiUrl,
      STORE_URL: "redis://:pw-hidden@127.0.0.1:1",
      ADMIN_USERS: "U0ADMIN",
      PORT: "0",
    });
    assert.notEqual(await run.exited, 0);
    assert.match(
      run.err(),
      /STORE_URL: cannot reach the store at redis:\/\/:\*\*\*@127\.0\.0\.1:1 \(connect ECONNREFUSED/,
    );
    assert.ok(!`${run.out()}${run.err()}`.includes("pw-hidden"));
    // One clear line: no backend retry warnings or stack traces before it.
    assert.equal(run.err().trim().split("\n").length, 1, run.err());
    assert.doesNotMatch(run.out(), /store backend error|at .*\.ts:\d+/);
  } finally {
    await emulator.close();
  }
});

test("SIGTERM: the bot stops serving, closes the store and exits 0", async () => {
  const emulator = await SlackEmulator.start();
  try {
    const port = await freePort();
    const run = runMain({
      SLACK_BOT_TOKEN: emulator.botToken,
      SLACK_SIGNING_SECRET: emulator.signingSecret,
      SLACK_API_URL: emulator.apiUrl,
      STORE_URL: "memory://",
      PORT: String(port),
    });
    const deadline = Date.now() + 15_000;
    while (!run.out().includes('"bot ready"')) {
      if (Date.now() > deadline) assert.fail(`bot did not start: ${run.err()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    const stopAt = Date.now();
    run.child.kill("SIGTERM");
    assert.equal(await run.exited, 0);
    assert.ok(Date.now() - stopAt < 10_000);
    // The shutdown message is a JSON log line like every other; nothing goes to stderr.
    const lines = run.out().trim().split("\n");
    const records = lines.map((line) => JSON.parse(line) as { msg: string; signal?: string });
    assert.ok(
      records.some((r) => r.msg === "shutting down" && r.signal === "SIGTERM"),
      run.out(),
    );
    assert.equal(run.err(), "");
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
  } finally {
    await emulator.close();
  }
});

test("npm start without Slack credentials opens the local console; a scripted session runs help and exits 0", async () => {
  const { mkdtemp, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const dir = await mkdtemp(`${tmpdir()}/chatops-console-`);
  try {
    const child = spawn(process.execPath, ["--import", "tsx", "dev/start.ts"], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        CONSOLE_STORE_URL: `sqlite://${dir}/console.sqlite`,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.stdin.end("/crashtest help\n");
    const [code] = await once(child, "exit");
    assert.equal(code, 0, out);
    assert.match(out, /local/i);
    assert.match(out, /\/crashtest scan start/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
