import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { SlackEmulator } from "../dev/slack-emulator/index.js";
import { emulatorSlackEnv } from "./support/bot.js";

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
      ...emulatorSlackEnv(emulator),
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
      ...emulatorSlackEnv(emulator),
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

test("SIGTERM the moment the bot says ready (its parts still loading) waits for the start and exits 0", async () => {
  const emulator = await SlackEmulator.start();
  try {
    const run = runMain({
      ...emulatorSlackEnv(emulator),
      STORE_URL: "memory://",
      PORT: "0",
    });
    const ready = new Promise<void>((resolve) => {
      run.child.stdout.on("data", () => {
        if (run.out().includes('"bot ready"')) resolve();
      });
    });
    await Promise.race([ready, run.exited.then(() => assert.fail(`bot exited: ${run.err()}`))]);
    run.child.kill("SIGTERM");
    // Before, the signal handlers came after the whole start, and this signal killed the process.
    assert.equal(await run.exited, 0, run.err());
    const msgs = run
      .out()
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    assert.ok(msgs.indexOf("shutting down") > msgs.indexOf("bot ready"), msgs.join(", "));
  } finally {
    await emulator.close();
  }
});

test("npm start without Slack credentials opens the local console; a scripted session runs help and exits 0", async () => {
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

/** Starts Node as if it were `version` (a preload redefines process.versions.node before any entry code). */
const pretendNode = (version: string) =>
  `data:text/javascript,Object.defineProperty(process.versions,"node",{value:${JSON.stringify(version)}})`;

test("an unsupported Node fails fast with one line saying what to do, in both entries, before undici loads", async () => {
  for (const entry of ["src/main.ts", "dev/start.ts"]) {
    for (const [version, have] of [
      ["20.19.0", "20.x"],
      ["22.12.0", "22.12.0"],
    ] as const) {
      const child = spawn(process.execPath, ["--import", pretendNode(version), "--import", "tsx", entry], {
        cwd: root,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let err = "";
      child.stderr.on("data", (chunk) => {
        err += chunk;
      });
      const [code] = await once(child, "exit");
      assert.equal(code, 1, `${entry} on ${version}: ${err}`);
      const need = version.startsWith("22.") ? "22.19 or later" : "22.x";
      assert.equal(err, `Node 24 (or ${need}) is required; you have ${have}; see README 'Node'.\n`);
    }
  }
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
    engines: { node: string };
  };
  assert.equal(pkg.engines.node, "^22.19.0 || >=24");
  assert.match(readFileSync(path.join(root, ".npmrc"), "utf8"), /^engine-strict=true$/m);
});

test(".env is read by npm start and the production entry when it exists; the environment wins over it", async () => {
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
    scripts: { start: string };
  };
  // exec: npm forwards SIGTERM/SIGINT to its child, so the child must be node itself, not a shell.
  assert.equal(pkg.scripts.start, "exec node --env-file-if-exists=.env --import tsx dev/start.ts");
  assert.match(
    readFileSync(path.join(root, "Dockerfile"), "utf8"),
    /CMD \["node", "--env-file-if-exists=\.env", "dist\/main\.js"\]/,
  );
  // The same flags, in a directory of its own holding a .env (the repository's own .env is never touched).
  const dir = await mkdtemp(path.join(tmpdir(), "chatops-dotenv-"));
  try {
    await symlink(path.join(root, "node_modules"), path.join(dir, "node_modules"));
    await writeFile(
      path.join(dir, ".env"),
      "NODE_ENV=production\nSCAN_POLL_INTERVAL_SECONDS=soon\nPORT=not-a-port\nSTORE_URL=memory://\n",
    );
    const child = spawn(
      process.execPath,
      ["--env-file-if-exists=.env", "--import", "tsx", path.join(root, "src/main.ts")],
      {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PORT: "3999" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let err = "";
    child.stderr.on("data", (chunk) => {
      err += chunk;
    });
    const [code] = await once(child, "exit");
    assert.equal(code, 1);
    // From the file: production (so Slack is required) and the bad interval.
    assert.match(err, /SLACK_BOT_TOKEN is not set/);
    assert.match(err, /SCAN_POLL_INTERVAL_SECONDS must be a whole number of seconds, got a non-number/);
    // PORT is set in the environment too: the environment's valid value wins over the file's.
    assert.doesNotMatch(err, /PORT/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Every process below `pid` (Linux /proc). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // pid (comm) state ppid …; comm may hold spaces or parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(name), ppid);
    } catch {
      // the process ended while we looked
    }
  }
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test("SIGTERM or SIGINT to npm start stops the bot too: no orphan process is left", {
  skip: process.platform !== "linux",
}, async () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    const dir = await mkdtemp(path.join(tmpdir(), "chatops-npm-start-"));
    try {
      const npm = spawn("npm", ["start", "--silent"], {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "",
          CONSOLE_STORE_URL: `sqlite://${dir}/console.sqlite`,
        },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let out = "";
      npm.stdout.on("data", (chunk) => {
        out += chunk;
      });
      // The console is up (and waits on stdin, which stays open) once its banner is out.
      const deadline = Date.now() + 60_000;
      while (!/local/i.test(out)) {
        if (Date.now() > deadline || npm.exitCode !== null) assert.fail(`console did not start: ${out}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const below = descendants(npm.pid ?? -1);
      assert.ok(below.length > 0, "npm runs the bot in a child process");
      const exited = once(npm, "exit").then(() => true);
      npm.kill(signal);
      const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), 20_000));
      if (!(await Promise.race([exited, timeout]))) {
        for (const pid of [npm.pid ?? -1, ...below]) if (alive(pid)) process.kill(pid, "SIGKILL");
        assert.fail(`npm start did not stop on ${signal}`);
      }
      const settle = Date.now() + 15_000;
      while (below.some(alive) && Date.now() < settle)
        await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(below.filter(alive), [], `left running after ${signal} to npm`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
});
