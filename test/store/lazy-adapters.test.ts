import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** Only the configured backend's adapter and client library are loaded: the others cost start-up time and memory. */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const PROBE = `
import { registerHooks } from "node:module";
const loaded = new Set();
registerHooks({
  resolve(specifier, context, next) {
    const result = next(specifier, context);
    const pkg = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(result.url);
    if (pkg) loaded.add(pkg[1]);
    return result;
  },
});
const { openStore } = await import("./src/store/index.ts");
const store = await openStore({ url: process.argv.at(-1) });
await store.close();
console.log(JSON.stringify([...loaded]));
`;

async function packagesLoaded(url: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", PROBE, url],
    { cwd: ROOT },
  );
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "[]") as string[];
}

test("a memory store loads no backend adapter; a SQLite one only @keyv/sqlite", async () => {
  const memory = await packagesLoaded("memory://");
  assert.ok(memory.includes("keyv"), JSON.stringify(memory));
  for (const name of [
    "@keyv/redis",
    "@keyv/postgres",
    "@keyv/sqlite",
    "redis",
    "@redis/client",
    "pg",
    "sqlite3",
  ])
    assert.ok(!memory.includes(name), `${name} loaded for memory://`);
  const sqlite = await packagesLoaded("sqlite://:memory:");
  assert.ok(sqlite.includes("@keyv/sqlite"), JSON.stringify(sqlite));
  for (const name of ["@keyv/redis", "@keyv/postgres", "@redis/client", "pg"])
    assert.ok(!sqlite.includes(name), `${name} loaded for sqlite://`);
});
