/**
 * Smoke run on one Node line (`.ci/run` runs it on each supported line besides 24): the console answers
 * `/crashtest help`, and the bot as a service in HTTP mode (`src/main.ts`, a child process on this same
 * Node) answers one signed `/crashtest help` from the Slack emulator, then stops on SIGTERM with exit 0;
 * then the same with the production build (`npm run build`'s bundle, built on this Node).
 */
import "../src/node-version.js";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildBot } from "./build.js";
import { SlackEmulator } from "./slack-emulator/index.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const base = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" };

function run(args: string[], env: Record<string, string>, input?: string, loader = ["--import", "tsx"]) {
  const child = spawn(process.execPath, [...loader, ...args], {
    cwd: root,
    env: { ...base, ...env },
  });
  let out = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
  });
  child.stderr.on("data", (chunk) => {
    out += chunk;
  });
  if (input !== undefined) child.stdin.end(input);
  return { child, out: () => out, exited: once(child, "exit").then(([code]) => code as number | null) };
}

function fail(message: string): never {
  process.stderr.write(`smoke on Node ${process.versions.node}: ${message}\n`);
  process.exit(1);
}

const dir = await mkdtemp(path.join(tmpdir(), "chatops-smoke-"));
const emulator = await SlackEmulator.start();
try {
  const console = run(
    ["dev/start.ts"],
    { CONSOLE_STORE_URL: `sqlite://${dir}/console.sqlite` },
    "/crashtest help\n",
  );
  if ((await console.exited) !== 0 || !console.out().includes("/crashtest scan start")) {
    fail(`console help failed:\n${console.out()}`);
  }

  await answersHelp("HTTP-mode", run(["src/main.ts"], botEnv("bot")));
  // The production build (npm run build, made on this Node) as the Docker image runs it.
  const built = path.join(root, "node_modules", ".cache", `crashtest-smoke-${process.pid}`);
  try {
    await buildBot(built);
    await answersHelp(
      "the built bot's",
      run([path.join(await realpath(built), "main.js")], botEnv("built"), undefined, []),
    );
  } finally {
    await rm(built, { recursive: true, force: true });
  }
  process.stdout.write(
    `smoke on Node ${process.versions.node}: console help, HTTP-mode help and the built bot's help ok\n`,
  );
} finally {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
}

function botEnv(name: string): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: emulator.botToken,
    SLACK_SIGNING_SECRET: emulator.signingSecret,
    SLACK_API_URL: emulator.apiUrl,
    STORE_URL: `sqlite://${dir}/${name}.sqlite`,
    ADMIN_USERS: "U0ALICE",
    PORT: "0",
  };
}

async function answersHelp(what: string, bot: ReturnType<typeof run>): Promise<void> {
  const deadline = Date.now() + 120_000;
  let port: number | undefined;
  while (port === undefined) {
    const ready = bot
      .out()
      .split("\n")
      .find((line) => line.includes('"bot ready"'));
    if (ready) port = (JSON.parse(ready) as { port: number }).port;
    else if (Date.now() > deadline || bot.child.exitCode !== null)
      fail(`${what} bot did not start:\n${bot.out()}`);
    else await new Promise((resolve) => setTimeout(resolve, 100));
  }
  emulator.requestUrl = `http://127.0.0.1:${port}/slack/events`;
  const user = emulator.users().find((u) => !u.isBot)?.id ?? "";
  const channel = emulator.channels().find((c) => !c.isIm && !c.isMpim)?.id ?? "";
  const answer = await emulator.slashCommand({ user, channel, text: "help" });
  const seen = () =>
    JSON.stringify([answer.body, emulator.ephemerals(user), emulator.responseUrlPosts()]).includes(
      "scan start",
    );
  const answered = Date.now() + 30_000;
  while (!seen() && Date.now() < answered) await new Promise((resolve) => setTimeout(resolve, 100));
  if (answer.status !== 200 || !seen()) fail(`${what} /crashtest help got no help (status ${answer.status})`);
  bot.child.kill("SIGTERM");
  if ((await bot.exited) !== 0) fail(`${what} bot did not stop cleanly on SIGTERM:\n${bot.out()}`);
}
