import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { cp, mkdtemp, readdir, realpath, rm } from "node:fs/promises";
import { builtinModules, createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Metafile } from "esbuild";
import { BOLT_VALUES, buildBot, EXTERNAL } from "../../dev/build.js";
import { SlackEmulator } from "../../dev/slack-emulator/index.js";
import { emulatorSlackEnv } from "../support/bot.js";

/** The production build (`npm run build`) as the Docker image runs it: `node dist/main.js`, nothing else. */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
let out = path.join(root, "node_modules", ".cache", `crashtest-build-test-${process.pid}`);
let dir = "";
let metafile: Metafile;

before(async () => {
  metafile = await buildBot(out);
  // main.js runs only when argv[1] is its own URL, and node_modules may be a symlink.
  out = await realpath(out);
  dir = await mkdtemp(path.join(tmpdir(), "chatops-build-"));
});
after(async () => {
  await rm(out, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
});

function runBuilt(env: Record<string, string>, build = out) {
  const child = spawn(process.execPath, [path.join(build, "main.js")], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, exited, out: () => output };
}

async function until(what: string, done: () => boolean, out: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`${what}; the bot said:\n${out()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("the build is one bundle that loads only the store adapters (and their clients) from node_modules", () => {
  const loaded = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const { path: name, external } of output.imports) {
      if (external && !name.startsWith("node:") && !builtinModules.includes(name)) loaded.add(name);
    }
  }
  assert.deepEqual(
    [...loaded].filter((name) => !EXTERNAL.includes(name)),
    [],
  );
  assert.ok(loaded.has("@keyv/sqlite"), "the default store's adapter is loaded from node_modules");
});

test("the bundle's Bolt values are the very objects Bolt's index exports, and express is left out", () => {
  const require = createRequire(path.join(root, "package.json"));
  const index = require.resolve("@slack/bolt");
  const bolt = require(index) as Record<string, unknown>;
  const fromBolt = createRequire(index);
  for (const [name, expression] of Object.entries(BOLT_VALUES)) {
    const value = new Function("require", `return ${expression};`)(fromBolt) as unknown;
    assert.ok(value !== undefined, `${name} is defined`);
    assert.equal(value, bolt[name], `${name} is @slack/bolt's own ${name}`);
  }
  const inputs = Object.keys(metafile.inputs);
  assert.ok(!inputs.some((input) => /node_modules\/express\//.test(input)), "express is not bundled");
  assert.ok(!inputs.some((input) => input.endsWith("ExpressReceiver.js")), "ExpressReceiver is not bundled");
  assert.ok(
    inputs.some((input) => input.endsWith("receivers/HTTPReceiver.js")),
    "HTTPReceiver is bundled",
  );
});

test("zod is bundled without its 60-odd locales: src imports it as a namespace (import * as z)", () => {
  // `import { z }` makes esbuild keep zod's whole namespace object, locales and all (~540 kB more to
  // compile at every start); `import * as z` lets it drop what no schema uses.
  const locales = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const locale = /node_modules\/zod\/v4\/locales\/([\w-]+)\.js$/.exec(input)?.[1];
      if (locale && bytesInOutput > 0) locales.add(locale);
    }
  }
  assert.deepEqual([...locales], ["en"]);
});

/**
 * Each store's adapter is loaded from node_modules by the bundle. Redis and PostgreSQL run when
 * TEST_REDIS_URL / TEST_POSTGRES_URL point at servers (.ci/run starts both); elsewhere they skip visibly,
 * and under CI=true their absence fails.
 */
const runs: Array<{
  mode: "HTTP" | "Socket Mode";
  store: string;
  url: () => string | undefined;
  env?: string;
}> = [
  { mode: "HTTP", store: "SQLite", url: () => `sqlite://${dir}/http.sqlite` },
  { mode: "Socket Mode", store: "SQLite", url: () => `sqlite://${dir}/socket.sqlite` },
  { mode: "HTTP", store: "Redis", url: () => process.env.TEST_REDIS_URL, env: "TEST_REDIS_URL" },
  { mode: "HTTP", store: "PostgreSQL", url: () => process.env.TEST_POSTGRES_URL, env: "TEST_POSTGRES_URL" },
];

for (const { mode, store, url, env } of runs) {
  const name = `the built bot answers /crashtest help and a scanner lookup in ${mode} on ${store}, and stops cleanly on SIGTERM`;
  if (env && process.env[env] === undefined) {
    const reason = `${env} is not set; start .ci/services to run this`;
    if (process.env.CI === "true") test(name, () => assert.fail(`${reason} (.ci/run should)`));
    else test(`${name} (skipped: ${reason})`, (t) => t.skip(reason));
    continue;
  }
  test(name, async () => {
    const emulator = await SlackEmulator.start();
    try {
      const bot = runBuilt({
        ...emulatorSlackEnv(emulator),
        ...(mode === "Socket Mode" ? { SLACK_APP_TOKEN: emulator.appToken } : {}),
        STORE_URL: url() as string,
        SCANNER: "simulator",
        ADMIN_USERS: "U0ALICE",
        PORT: "0",
      });
      const ready = () =>
        bot
          .out()
          .split("\n")
          .find((line) => line.includes('"bot ready"'));
      await until("no bot ready", () => ready() !== undefined || bot.child.exitCode !== null, bot.out);
      assert.ok(ready(), bot.out());
      if (mode === "HTTP") {
        const { port } = JSON.parse(ready() as string) as { port: number };
        emulator.requestUrl = `http://127.0.0.1:${port}/slack/events`;
      } else {
        await until(
          "no Socket Mode connection",
          () => emulator.socketConnections().some((c) => c.open),
          bot.out,
        );
      }
      const user = "U0ALICE";
      const channel = emulator.channels().find((c) => !c.isIm && !c.isMpim)?.id ?? "";
      const answer = await emulator.slashCommand({ user, channel, text: "help" });
      assert.equal(answer.status, 200);
      const seen = () =>
        JSON.stringify([answer.body, emulator.ephemerals(user), emulator.responseUrlPosts()]).includes(
          "/crashtest scan start",
        );
      await until("no help", seen, bot.out);
      // Through the scanner adapter (undici, in the bundle) to the simulator's HTTP server.
      const link = await emulator.slashCommand({ user, channel, text: "link 777 shop" });
      assert.equal(link.status, 200);
      await until(
        "no answer from the scanner",
        () =>
          JSON.stringify([link.body, emulator.ephemerals(user), emulator.responseUrlPosts()]).includes(
            "The scanner has no project with ID 777",
          ),
        bot.out,
      );
      bot.child.kill("SIGTERM");
      assert.equal(await bot.exited, 0, bot.out());
    } finally {
      await emulator.close();
    }
  });
}

test("a chunk loaded on demand that is missing fails the start loudly, naming it", async () => {
  // The rest of the bot (bot-parts) is a chunk loaded after the receiver listens: a broken build must not
  // leave a bot that says ready and never answers.
  const broken = `${out}-broken`;
  await cp(out, broken, { recursive: true });
  const emulator = await SlackEmulator.start();
  try {
    const parts = (await readdir(broken)).find((name) => /^bot-parts-.*\.js$/.test(name));
    assert.ok(parts, "the build has a bot-parts chunk");
    await rm(path.join(broken, parts));
    const bot = runBuilt(
      {
        ...emulatorSlackEnv(emulator),
        STORE_URL: `sqlite://${dir}/broken.sqlite`,
        SCANNER: "simulator",
        PORT: "0",
      },
      broken,
    );
    const code = await bot.exited;
    assert.equal(code, 1, bot.out());
    assert.match(bot.out(), new RegExp(`Start-up failed: .*${parts.replace(".", "\\.")}`));
  } finally {
    await emulator.close();
    await rm(broken, { recursive: true, force: true });
  }
});
