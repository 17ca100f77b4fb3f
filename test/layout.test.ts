import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { readme } from "./support/readme.js";

const root = new URL("../", import.meta.url);
/** Files git tracks (and untracked ones it does not ignore), relative to the repository root. */
const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
  cwd: root,
  encoding: "utf8",
})
  .split("\n")
  .filter((file) => file !== "" && existsSync(new URL(file, root)));
const read = (file: string) => readFileSync(new URL(file, root), "utf8");
const sources = files.filter((file) => file.startsWith("src/") && file.endsWith(".ts"));

test("no file in src/ is over ~400 lines (a longer one does several jobs)", () => {
  const long = sources
    .map((file) => ({ file, lines: read(file).split("\n").length - 1 }))
    .filter(({ lines }) => lines > 420);
  assert.deepEqual(long, []);
});

test("each library is imported in one folder of src/", () => {
  const homes: Array<{ library: RegExp; folder: string }> = [
    { library: /^@slack\//, folder: "src/slack/" },
    { library: /^undici$/, folder: "src/http/" },
    { library: /^node-cron$/, folder: "src/scheduler/" },
    // pg only to guard the pool @keyv/postgres opens (src/store/postgres.ts).
    { library: /^(@keyv\/|keyv$|pg$)/, folder: "src/store/" },
  ];
  const stray: string[] = [];
  for (const file of sources) {
    for (const [, name] of read(file).matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
      const home = homes.find(({ library }) => library.test(name ?? ""));
      if (home && !file.startsWith(home.folder)) stray.push(`${file} imports ${name}`);
    }
  }
  assert.deepEqual(stray, []);
});

test("src/ imports zod as a namespace (import * as z), so the bundle leaves out what no schema uses", () => {
  // `import { z }` makes esbuild keep zod's whole namespace object, its 60-odd locales included
  // (test/dev/build.test.ts checks the bundle itself).
  const named = sources.filter((file) => /import\s+\{[^}]*\}\s*from\s*"zod(\/[^"]*)?"/.test(read(file)));
  assert.deepEqual(named, []);
});

test("comments cite what a reader can open, never the team's internal fact sheets", () => {
  // Built from parts so this file does not match itself.
  const internal = new RegExp(
    ["shared" + "/docs", "doc [A-Z]\\.[0-9]", "\u00a7", "docs/slack" + "-platform"].join("|"),
  );
  const cited = files
    .filter((file) => /^(src|dev|test|bench)\//.test(file) && /\.(ts|js|mjs)$/.test(file))
    .flatMap((file) =>
      read(file)
        .split("\n")
        .flatMap((line, index) => (internal.test(line) ? [`${file}:${index + 1}`] : [])),
    );
  assert.deepEqual(cited, []);
});

test("every path the README's layout table names exists", () => {
  const start = readme.indexOf("### Layout");
  assert.ok(start >= 0, "README.md has a Layout section");
  const table = readme.slice(start, readme.indexOf("\n## ", start));
  const named = [...table.matchAll(/^\| ([^|]+) \|/gm)]
    .flatMap(([, cell]) => [...(cell ?? "").matchAll(/`([^`]+)`/g)].map(([, path]) => path ?? ""))
    .filter((path) => path !== "Path");
  assert.ok(named.length >= 10, `the table names the tree (${named.length} paths)`);
  const missing = named.filter((path) => !existsSync(new URL(path, root)));
  assert.deepEqual(missing, []);
});
