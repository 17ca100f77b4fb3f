/**
 * `npm run build`: src/ as the production build, `dist/main.js` and the chunks it loads on demand (the
 * scanner adapters, the rest of the bot after `bot ready`), one esbuild bundle with its dependencies in
 * it. Loading one file instead of some 400 modules (the bot's own ~200 ES modules, Bolt's CommonJS tree,
 * zod's 58 locale files) took about a third off the main thread's CPU to `bot ready` (npm run bench,
 * docs/reliability.md). Left outside, loaded from node_modules as before: the store adapters and their
 * clients (only the configured one loads; sqlite3 is a native addon, https://esbuild.github.io/api/#external).
 * Type checking is `npm run typecheck`; esbuild only strips the types.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** CommonJS packages in an ES module bundle still call require() (for node's built-ins): one made here. */
export const BUNDLE_BANNER =
  'import { createRequire as __chatopsRequire } from "node:module";\nconst require = __chatopsRequire(import.meta.url);';

export const EXTERNAL = ["sqlite3", "@keyv/sqlite", "@keyv/redis", "@keyv/postgres", "pg", "redis"];

/**
 * Builds the bot into `outdir` (emptied first; inside the repository, so node_modules resolves) and
 * returns what esbuild says it wrote and what each file imports.
 */
export async function buildBot(outdir = path.join(root, "dist")): Promise<Metafile> {
  await rm(outdir, { recursive: true, force: true });
  const result = await build({
    // node-version.js its own file, so that main.js imports it before any chunk: an ES module's imports
    // are evaluated in order, and the version check must run before undici's code (src/node-version.ts).
    entryPoints: [path.join(root, "src", "main.ts"), path.join(root, "src", "node-version.ts")],
    outdir,
    bundle: true,
    // Dynamic imports stay lazy: each becomes a chunk loaded when the code reaches it.
    splitting: true,
    format: "esm",
    platform: "node",
    // The oldest supported line (package.json engines): a build made on 24 also runs on 22.
    target: "node22.19",
    external: EXTERNAL,
    banner: { js: BUNDLE_BANNER },
    sourcemap: true,
    metafile: true,
    logLevel: "warning",
  });
  return result.metafile;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await buildBot(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
}
