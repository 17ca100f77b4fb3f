import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { openStore } from "../../src/store/index.js";

/** SQLite serves one process: a second process on the same file refuses to open it, with a clear reason. */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = await mkdtemp(path.join(tmpdir(), "chatops-sqlite-lock-"));
after(() => rm(dir, { recursive: true, force: true }));

const OPEN = `
import { openStore } from "./src/store/index.ts";
try {
  const store = await openStore({ url: process.argv.at(-1) });
  await store.set("n", "k", 1);
  console.log("OPENED");
  if (process.env.HOLD) setInterval(() => {}, 1000);
  else await store.close();
} catch (error) {
  console.log("REFUSED " + error.message);
}
`;

/** Opens the store in a child process; resolves with its first output line (and the child). */
function openInChild(url: string, hold = false) {
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", OPEN, url], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...(hold ? { HOLD: "1" } : {}) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no answer from the child: ${out}`)), 120_000);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      out += chunk;
      if (out.includes("\n")) {
        clearTimeout(timer);
        resolve(out.split("\n")[0] ?? "");
      }
    });
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return { child, line, exited };
}

test("a second process on the same SQLite file refuses to start, naming the reason and the way out", async () => {
  const url = `sqlite://${path.join(dir, "one.sqlite")}`;
  const store = await openStore({ url });
  try {
    // The same process may open it again (tests, a restart in-process): the lock is shared.
    const again = await openStore({ url });
    await again.close();
    const second = openInChild(url);
    const answer = await second.line;
    await second.exited;
    assert.match(answer, /^REFUSED STORE_URL: .*in use by another bot process/);
    assert.match(answer, /redis:\/\/… or postgres:\/\/… for several replicas/);
  } finally {
    await store.close();
  }
  const later = openInChild(url);
  assert.equal(await later.line, "OPENED", "free again once the first process closed it");
  await later.exited;
});

test("the lock dies with its process: after kill -9 of the holder, the next process opens the file", async () => {
  const url = `sqlite://${path.join(dir, "killed.sqlite")}`;
  const holder = openInChild(url, true);
  assert.equal(await holder.line, "OPENED");
  await assert.rejects(openStore({ url }), /in use by another bot process/);
  holder.child.kill("SIGKILL");
  await holder.exited;
  const store = await openStore({ url });
  assert.equal(await store.get("n", "k"), 1, "what the killed process wrote is there");
  await store.close();
});
