import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { SlackEmulator } from "../dev/slack-emulator/index.js";
import { median, REPO, spawnTarget, stopTarget, type Target, threadCpuMs } from "./targets.js";

/**
 * Cold start to ready, the bot against the bare Bolt app (bench/bare-app.ts), as production runs them:
 * plain node on JavaScript, the bot as `npm run build` makes it (one esbuild bundle, dev/build.ts), the
 * bare app compiled from its one file with Bolt loaded from node_modules, and the bare app bundled the
 * same way as the bot, for comparison; a TypeScript loader's transform time is not measured. Rounds
 * rotate which one starts first. Also prints the resident memory of each at ready, the CPU time its
 * main thread used until then (less sensitive than wall time to other load on the machine), and the
 * time to the first answer: a `/crashtest help` sent the moment it is ready, answered (the bare app
 * acks it empty), timed from the spawn. The bot says ready before it has built its command surface, and
 * a request meanwhile waits for it: the first answer shows that wait. With
 * BENCH_COLD_BASELINE=<git ref>, the bot built from that commit's src/ (per file, as `npm run build`
 * did before the bundle) runs in the same rounds; with
 * BENCH_COLD_PROF=<dir>, the bot writes a --cpu-prof profile of its start there; with
 * BENCH_COLD_COMPILE_CACHE=1, each of them keeps node's compile cache across its rounds
 * (NODE_COMPILE_CACHE, https://nodejs.org/api/module.html#module-compile-cache; the first round fills
 * it), with BENCH_COLD_COMPILE_CACHE=bot only the bots do (the Docker image's bot against a bare app
 * without one). A benchmark: it prints and never fails.
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

/**
 * src/ and the bare app compiled into a folder under node_modules (so packages resolve), and with a
 * baseline git ref, that commit's src/ beside them (in baseline/); undefined without esbuild.
 */
export async function compile(baseline: string | undefined): Promise<string | undefined> {
  let esbuild: typeof import("esbuild");
  let buildBot: typeof import("../dev/build.js").buildBot;
  let BUNDLE_BANNER: string;
  try {
    esbuild = await import("esbuild");
    ({ buildBot, BUNDLE_BANNER } = await import("../dev/build.js"));
  } catch {
    return undefined;
  }
  const out = path.join(REPO, "node_modules", ".cache", "crashtest-bench", `cold-${process.pid}`);
  const build = (entryPoints: string[], outdir: string, outbase: string) =>
    esbuild.build({
      entryPoints,
      outdir,
      outbase,
      format: "esm",
      platform: "node",
      target: "node24",
      logLevel: "silent",
    });
  // The bot as `npm run build` makes it (one bundle, dev/build.ts); the bare app as a Bolt app usually
  // runs, its file compiled and Bolt loaded from node_modules, and, for comparison, bundled like the bot.
  await buildBot(path.join(out, "bot"));
  await build([path.join(REPO, "bench", "bare-app.ts")], out, REPO);
  await esbuild.build({
    entryPoints: [path.join(REPO, "bench", "bare-app.ts")],
    outfile: path.join(out, "bare-bundle", "bare-app.js"),
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node24",
    banner: { js: BUNDLE_BANNER },
    logLevel: "silent",
  });
  if (baseline) {
    const tree = await mkdtemp(path.join(tmpdir(), "bench-cold-baseline-"));
    try {
      const archive = spawnSync("git", ["archive", "--format=tar", baseline, "src"], {
        cwd: REPO,
        maxBuffer: 1 << 28,
      });
      if (archive.status !== 0) throw new Error(`git archive ${baseline}: ${archive.stderr.toString()}`);
      const untar = spawnSync("tar", ["-x", "-C", tree], { input: archive.stdout });
      if (untar.status !== 0) throw new Error(`tar: ${untar.stderr.toString()}`);
      // Per file, as `npm run build` compiled src/ before it was one bundle.
      await build(await tsFiles(path.join(tree, "src")), path.join(out, "baseline"), tree);
    } finally {
      await rm(tree, { recursive: true, force: true });
    }
  }
  // As in production, where package.json says "type": "module": without it node parses each file a
  // second time to detect its format (https://nodejs.org/api/packages.html#syntax-detection).
  await writeFile(path.join(out, "package.json"), '{ "type": "module" }\n');
  // The real path: main.ts runs only when argv[1] is its own URL, and node_modules may be a symlink.
  return realpath(out);
}

export async function runColdStartBench(): Promise<void> {
  const baseline = process.env.BENCH_COLD_BASELINE;
  const compiled = await compile(baseline).catch((error: unknown) => {
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
        how: "plain node; the bot as npm run build makes it (one esbuild bundle), the bare app compiled per file (and bundled, for comparison)",
        bare: [...extra, path.join(compiled, "bench", "bare-app.js")],
        bot: [
          ...extra,
          ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(prof)}`] : []),
          path.join(compiled, "bot", "main.js"),
        ],
      }
    : {
        how: "node --import tsx (esbuild unavailable): includes the loader's transforms",
        bare: ["--import", "tsx", "bench/bare-app.ts"],
        bot: ["--import", "tsx", "src/main.ts"],
      };
  const names = [
    "bare Bolt app",
    "bot",
    ...(compiled ? ["bare Bolt app, bundled"] : []),
    ...(compiled && baseline ? [`bot at ${baseline}`] : []),
  ];
  type Figures = { ms: number[]; rss: number[]; cpu: number[]; answer: number[] };
  const figures: Record<string, Figures> = {};
  for (const name of names) figures[name] = { ms: [], rss: [], cpu: [], answer: [] };
  // "1": every target keeps a compile cache; "bot": only the bots do, as in the Docker image (which
  // fills it at build time), against a bare app without one (not like for like: say so with its figure).
  const cached = process.env.BENCH_COLD_COMPILE_CACHE;
  const compileCache = (name: string): Record<string, string> =>
    cached === "1" || (cached === "bot" && !name.startsWith("bare Bolt app"))
      ? { NODE_COMPILE_CACHE: path.join(dir, `compile-cache-${name.replace(/\W+/g, "-")}`) }
      : {};
  const botEnv = (round: number, name: string) => ({
    ...slackEnv,
    ...compileCache(name),
    STORE_URL: `sqlite://${dir}/cold-${round}-${name.length}.sqlite`,
    SCANNER: "simulator",
    ADMIN_USERS: "U0ALICE",
    LOG_LEVEL: "info",
  });
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Rotated each round, so that none always starts first.
      const order = names.map((_, i) => names[(i + round) % names.length] as string);
      for (const name of order) {
        let target: Target | undefined;
        try {
          const spawned = performance.now();
          const bareApp = name.startsWith("bare Bolt app");
          const args =
            name === "bare Bolt app"
              ? run.bare
              : name === "bot"
                ? run.bot
                : bareApp
                  ? [...extra, path.join(compiled as string, "bare-bundle", "bare-app.js")]
                  : [...extra, path.join(compiled as string, "baseline", "src", "main.js")];
          target = await spawnTarget(
            name,
            args,
            bareApp ? { ...slackEnv, ...compileCache(name) } : botEnv(round, name),
          );
          figures[name]?.ms.push(target.readyMs);
          figures[name]?.rss.push(target.readyRssMb);
          figures[name]?.cpu.push((await threadCpuMs(target.child.pid)).main);
          emulator.requestUrl = `http://127.0.0.1:${target.port}/slack/events`;
          const answer = await emulator.slashCommand({ user: "U0ALICE", channel: "C0GENERAL", text: "help" });
          if (answer.status !== 200) throw new Error(`${name}: the first command got ${answer.status}`);
          if (!bareApp && !answer.body.includes("scan")) {
            throw new Error(
              `${name}: the first command's answer is not the help: ${answer.body.slice(0, 200)}`,
            );
          }
          figures[name]?.answer.push(performance.now() - spawned);
        } finally {
          // SIGTERM lets --cpu-prof write its profile; the bare app has no handler and just ends.
          if (target) await stopTarget(target, "SIGTERM");
        }
      }
    }
    const bare = figures["bare Bolt app"] as Figures;
    const cache =
      cached === "1" ? "; compile cache: all" : cached === "bot" ? "; compile cache: the bots only" : "";
    console.log(
      `\nCold start to ready, ${ROUNDS} alternating rounds, ${run.how}; node ${process.version}${cache}`,
    );
    console.table(
      Object.entries(figures).map(([target, f]) => ({
        target,
        "median ms": Math.round(median(f.ms)),
        "min ms": Math.round(Math.min(...f.ms)),
        "max ms": Math.round(Math.max(...f.ms)),
        "RSS at ready MB (median)": Number(median(f.rss).toFixed(1)),
        "main-thread CPU ms (median)": Math.round(median(f.cpu)),
        "first answer ms (median)": Math.round(median(f.answer)),
      })),
    );
    for (const name of names.slice(1)) {
      if (name === "bare Bolt app, bundled") continue;
      const f = figures[name] as Figures;
      const ratio = median(f.ms) / median(bare.ms);
      const perRound = f.ms.map((ms, i) => ms / (bare.ms[i] ?? Number.NaN));
      console.log(
        `${name} / bare, medians: ${ratio.toFixed(2)}x (goal <= ${GOAL}x: ${ratio <= GOAL ? "met" : "NOT met"}); per round ${Math.min(...perRound).toFixed(2)}-${Math.max(...perRound).toFixed(2)}x; RSS at ready +${(median(f.rss) - median(bare.rss)).toFixed(1)} MB; main-thread CPU ${(median(f.cpu) / median(bare.cpu)).toFixed(2)}x; first answer ${(median(f.answer) / median(bare.answer)).toFixed(2)}x`,
      );
    }
    const bundled = figures["bare Bolt app, bundled"];
    const bot = figures.bot as Figures;
    if (bundled) {
      console.log(
        `bot / bare Bolt app bundled like the bot (no goal; the goal's floor is the bare app as Bolt apps usually run): ready ${(median(bot.ms) / median(bundled.ms)).toFixed(2)}x, main-thread CPU ${(median(bot.cpu) / median(bundled.cpu)).toFixed(2)}x, first answer ${(median(bot.answer) / median(bundled.answer)).toFixed(2)}x`,
      );
    }
  } finally {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
    if (compiled) await rm(compiled, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runColdStartBench();
