import { mkdtemp, readdir, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { SlackEmulator } from "../dev/slack-emulator/index.js";
import { REPO, spawnTarget, stopTarget, type Target } from "./targets.js";

/**
 * Cold start to ready, the bot against the bare Bolt app (bench/bare-app.ts), as production runs them:
 * plain node on JavaScript compiled from the same sources (each file transpiled by esbuild, not
 * bundled, like `npm run build`), so that a TypeScript loader's transform time is not measured. Rounds
 * alternate which one starts first. Also prints the resident memory of each at ready. With
 * BENCH_COLD_PROF=<dir>, the bot writes a --cpu-prof profile of its start there. A benchmark: it
 * prints and never fails.
 */

const ROUNDS = Number(process.env.BENCH_COLD_ROUNDS ?? 7);
const GOAL = 1.2;

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await tsFiles(file)));
    else if (entry.name.endsWith(".ts")) out.push(file);
  }
  return out;
}

/** src/ and the bare app compiled into a folder under node_modules (so packages resolve); undefined without esbuild. */
async function compile(): Promise<string | undefined> {
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch {
    return undefined;
  }
  const out = path.join(REPO, "node_modules", ".cache", "crashtest-bench", `cold-${process.pid}`);
  await esbuild.build({
    entryPoints: [...(await tsFiles(path.join(REPO, "src"))), path.join(REPO, "bench", "bare-app.ts")],
    outdir: out,
    outbase: REPO,
    format: "esm",
    platform: "node",
    target: "node24",
    logLevel: "silent",
  });
  // The real path: main.ts runs only when argv[1] is its own URL, and node_modules may be a symlink.
  return realpath(out);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
};

export async function runColdStartBench(): Promise<void> {
  const compiled = await compile().catch((error: unknown) => {
    console.log(`cold start: compiling failed (${String(error)}); running under tsx`);
    return undefined;
  });
  const emulator = await SlackEmulator.start();
  const dir = await mkdtemp(path.join(tmpdir(), "bench-cold-"));
  const slackEnv = {
    SLACK_BOT_TOKEN: emulator.botToken,
    SLACK_SIGNING_SECRET: emulator.signingSecret,
    SLACK_API_URL: emulator.apiUrl,
    PORT: "0",
  };
  const prof = process.env.BENCH_COLD_PROF;
  // Extra node flags for both (e.g. --import of a module-timing hook).
  const extra = process.env.BENCH_COLD_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const run = compiled
    ? {
        how: "plain node on compiled JavaScript (esbuild per file)",
        bare: [...extra, path.join(compiled, "bench", "bare-app.js")],
        bot: [
          ...extra,
          ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(prof)}`] : []),
          path.join(compiled, "src", "main.js"),
        ],
      }
    : {
        how: "node --import tsx (esbuild unavailable): includes the loader's transforms",
        bare: ["--import", "tsx", "bench/bare-app.ts"],
        bot: ["--import", "tsx", "src/main.ts"],
      };
  const figures: Record<string, { ms: number[]; rss: number[] }> = {
    "bare Bolt app": { ms: [], rss: [] },
    bot: { ms: [], rss: [] },
  };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order =
        round % 2 === 0 ? (["bare Bolt app", "bot"] as const) : (["bot", "bare Bolt app"] as const);
      for (const name of order) {
        let target: Target | undefined;
        try {
          target =
            name === "bot"
              ? await spawnTarget(name, run.bot, {
                  ...slackEnv,
                  STORE_URL: `sqlite://${dir}/cold-${round}.sqlite`,
                  SCANNER: "simulator",
                  ADMIN_USERS: "U0ALICE",
                  LOG_LEVEL: "info",
                })
              : await spawnTarget(name, run.bare, slackEnv);
          figures[name]?.ms.push(target.readyMs);
          figures[name]?.rss.push(target.readyRssMb);
        } finally {
          // SIGTERM lets --cpu-prof write its profile; the bare app has no handler and just ends.
          if (target) await stopTarget(target, "SIGTERM");
        }
      }
    }
    const bare = figures["bare Bolt app"] as { ms: number[]; rss: number[] };
    const bot = figures.bot as { ms: number[]; rss: number[] };
    console.log(`\nCold start to ready, ${ROUNDS} alternating rounds, ${run.how}; node ${process.version}`);
    console.table(
      Object.entries(figures).map(([target, f]) => ({
        target,
        "median ms": Math.round(median(f.ms)),
        "min ms": Math.round(Math.min(...f.ms)),
        "max ms": Math.round(Math.max(...f.ms)),
        "RSS at ready MB (median)": Number(median(f.rss).toFixed(1)),
      })),
    );
    const ratio = median(bot.ms) / median(bare.ms);
    const perRound = bot.ms.map((ms, i) => ms / (bare.ms[i] ?? Number.NaN));
    console.log(
      `Bot / bare, medians: ${ratio.toFixed(2)}x (goal <= ${GOAL}x: ${ratio <= GOAL ? "met" : "NOT met"}); per round ${Math.min(...perRound).toFixed(2)}-${Math.max(...perRound).toFixed(2)}x`,
    );
  } finally {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
    if (compiled) await rm(compiled, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runColdStartBench();
