import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

/**
 * The bot's start loads only the configured scanner adapter: no adapter module is reachable from
 * src/main.ts, or from src/bot-parts.ts (what bot.ts imports once the receiver listens), through static
 * imports (from-config.ts imports the configured one when it is needed).
 */

const src = fileURLToPath(new URL("../../src/", import.meta.url));

/** Relative modules a file imports at load time: `import`/`export … from`, without type-only ones. */
function staticImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const [, clause, spec] of text.matchAll(/^(?:import|export)\s+([^;]*?)\s*from\s+"(\.[^"]+)"/gms)) {
    if (/^type\s/.test(clause ?? "")) continue;
    out.push(path.resolve(path.dirname(file), (spec ?? "").replace(/\.js$/, ".ts")));
  }
  for (const [, spec] of text.matchAll(/^import\s+"(\.[^"]+)"/gm)) {
    out.push(path.resolve(path.dirname(file), (spec ?? "").replace(/\.js$/, ".ts")));
  }
  return out;
}

function loadedAtStart(entry: string): Set<string> {
  const seen = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (seen.has(file)) continue;
    assert.ok(existsSync(file), `${path.relative(src, file)} exists`);
    seen.add(file);
    pending.push(...staticImports(file));
  }
  return seen;
}

test("the start imports no scanner adapter: only the configured one is loaded, by scannerFromConfig", () => {
  const loaded = [
    ...loadedAtStart(path.join(src, "main.ts")),
    ...loadedAtStart(path.join(src, "bot-parts.ts")),
  ].map((file) => path.relative(src, file));
  assert.ok(
    loaded.includes("config.ts") && loaded.includes("scanners/from-config.ts"),
    "the walk follows imports",
  );
  const adapters = loaded.filter((file) =>
    /^scanners\/(crashtest\/(scanner|client|responses|webhook)\.ts$|dast-essentials\/(scanner|bodies)\.ts$|simulator\/)/.test(
      file,
    ),
  );
  assert.deepEqual(adapters, []);
});

test("until the receiver listens, the start loads neither the command surface nor the scanner nor the jobs nor the HTTP transport", () => {
  const loaded = [...loadedAtStart(path.join(src, "main.ts"))].map((file) => path.relative(src, file));
  assert.ok(loaded.includes("slack/app.ts") && loaded.includes("store/index.ts"), "the walk follows imports");
  const later = loaded.filter((file) =>
    /^(bot-parts|slack\/wiring|domain\/services|scanners\/from-config|scheduler\/(watcher|schedule|credential|decision|notification)-job|http\/transport|veracode\/identity)\.ts$/.test(
      file,
    ),
  );
  assert.deepEqual(later, []);
});

test("until the receiver listens, nothing imports node:http or node:https as an ES module (it loads node's own undici)", () => {
  const importers = [...loadedAtStart(path.join(src, "main.ts"))]
    .filter((file) => /^import\s+(?!type\s)[^;]*?from\s+"node:https?"/ms.test(readFileSync(file, "utf8")))
    .map((file) => path.relative(src, file));
  assert.deepEqual(importers, []);
});
