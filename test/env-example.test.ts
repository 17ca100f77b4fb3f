import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

const root = new URL("..", import.meta.url).pathname;

/** The operating system's own variables, read for defaults (HOME locates ~/.veracode/credentials). */
const SYSTEM = new Set(["HOME"]);

test(".env.example documents every variable the bot reads", () => {
  const documented = new Set(
    [...readFileSync(path.join(root, ".env.example"), "utf8").matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map(
      (m) => m[1],
    ),
  );
  // src/config.ts is the only reader of the environment (test/config.test.ts holds it to that), with
  // the schema of the plain settings beside it.
  const text = ["config.ts", "config-schema.ts"]
    .map((file) => readFileSync(path.join(root, "src", file), "utf8"))
    .join("\n");
  const read = new Set<string>();
  // Variables are schema keys (NAME:), secrets read with readSecret(env, "NAME"), or env.NAME.
  for (const m of text.matchAll(/^\s{2}([A-Z][A-Z0-9_]{2,}):/gm)) read.add(m[1] as string);
  for (const m of text.matchAll(/readSecret\(env, "([A-Z0-9_]+)"/g)) read.add(m[1] as string);
  for (const m of text.matchAll(/\benv(?:\.|\[")([A-Z][A-Z0-9_]{2,})/g)) read.add(m[1] as string);
  const missing = [...read].filter((name) => !documented.has(name) && !SYSTEM.has(name));
  assert.deepEqual(missing, []);
  for (const name of ["SLACK_BOT_TOKEN", "STORE_URL", "VERACODE_API_KEY_SECRET", "SIMULATOR_OUTCOME"]) {
    assert.ok(read.has(name), `the scan found ${name}`);
  }
});
