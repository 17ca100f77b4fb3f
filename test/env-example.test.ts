import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

const root = new URL("..", import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === "dev" ? [] : sources(full);
    return full.endsWith(".ts") ? [full] : [];
  });
}

test(".env.example documents every variable the bot reads", () => {
  const documented = new Set(
    [...readFileSync(path.join(root, ".env.example"), "utf8").matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map(
      (m) => m[1],
    ),
  );
  const read = new Set<string>();
  for (const file of sources(path.join(root, "src"))) {
    const text = readFileSync(file, "utf8");
    // Variables are read as env.NAME, env["NAME"] or listed as schema keys NAME: in config.
    for (const m of text.matchAll(/\benv(?:\.|\[")([A-Z][A-Z0-9_]{2,})/g)) read.add(m[1] as string);
    for (const m of text.matchAll(/^\s{2}([A-Z][A-Z0-9_]{2,}):/gm)) read.add(m[1] as string);
    for (const m of text.matchAll(/readSecret\(env, "([A-Z0-9_]+)"/g)) read.add(m[1] as string);
  }
  const missing = [...read].filter((name) => !documented.has(name) && !name.endsWith("_FILE"));
  assert.deepEqual(missing, []);
  assert.ok(read.has("SLACK_BOT_TOKEN") && read.has("STORE_URL"), "the scan found the config variables");
});
