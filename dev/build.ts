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
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile, type Plugin } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Bolt's index requires every receiver and helper it exports when it loads, ExpressReceiver (and with it
 * express), AwsLambdaReceiver and Assistant included, which the bot never uses; esbuild cannot drop a
 * CommonJS require. In the bundle, `@slack/bolt` is the Bolt values the bot imports, each taken from
 * the module of Bolt's that defines it (the same objects the index re-exports): 0.6 MB of the bundle's
 * 4.6 MB less to compile at every start, and express not loaded (docs/reliability.md). A value the bot
 * starts to import and this list lacks fails the build ("No matching export"); test/dev/build.test.ts
 * checks the list against Bolt's index.
 */
export const BOLT_VALUES: Record<string, string> = {
  App: 'require("./App.js").default',
  LogLevel: 'require("./App.js").LogLevel',
  HTTPReceiver: 'require("./receivers/HTTPReceiver.js").default',
  SocketModeReceiver: 'require("./receivers/SocketModeReceiver.js").default',
  HTTPModuleFunctions: 'require("./receivers/HTTPModuleFunctions.js")',
  webApi: 'require("@slack/web-api")',
};

export const boltValues: Plugin = {
  name: "bolt-values",
  setup(build) {
    const dist = path.dirname(createRequire(path.join(root, "package.json")).resolve("@slack/bolt"));
    build.onResolve({ filter: /^@slack\/bolt$/ }, () => ({ path: "@slack/bolt", namespace: "bolt-values" }));
    build.onLoad({ filter: /.*/, namespace: "bolt-values" }, () => ({
      // ES exports, so that esbuild knows the names and refuses an import of any other.
      contents: Object.entries(BOLT_VALUES)
        .map(([name, value]) => `export const ${name} = ${value};\n`)
        .join(""),
      resolveDir: dist,
      loader: "js",
    }));
  },
};

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
    plugins: [boltValues],
    sourcemap: true,
    metafile: true,
    logLevel: "warning",
  });
  return result.metafile;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await buildBot(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
}
