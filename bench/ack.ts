import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { Pool } from "undici";
import { SlackEmulator, slackSignatureHeaders } from "../dev/slack-emulator/index.js";
import type { AuditEntry } from "../src/domain/audit.js";
import { openStore } from "../src/store/index.js";
import { compile } from "./cold-start.js";
import { ownRedis } from "./replicas.js";
import { median, spawnTarget, stopTarget, type Target, threadCpuMs } from "./targets.js";

/**
 * Slash-command ack latency through Bolt's HTTPReceiver, the real bot against a bare Bolt app that
 * only acks (the floor: same receiver, same machine, same run), at 1, 50 and 200 concurrent signed
 * requests over keep-alive connections; and cold start to ready of both. Both run as child processes
 * (plain `node`, see below), so the load generator never shares their event loop. Two workloads: `help`,
 * and a mix (help, projects, a typo, `scan status` of varied unknown IDs and of scans the bot knows,
 * a refusal; the known scans are made first through the bot's own commands). Besides the ack, the
 * bench measures the time to answer: the ack itself when its body carries the reply, else the arrival
 * of the response_url post at a loopback sink that answers "ok" like Slack; every answer's content is
 * checked. Loopback only; fixed request counts; a benchmark: it prints and never fails.
 *
 * Knobs: BENCH_ACK_REQUESTS (per round), BENCH_ACK_ROUNDS, BENCH_ACK_WARMUP, BENCH_ACK_COLD_STARTS;
 * BENCH_ACK_WORKLOADS (comma list of help, mix; default both); BENCH_ACK_REDIS=off skips the mix on
 * Redis; BENCH_ACK_BOT_ARGS adds node options to the bot on SQLite only, e.g. `--cpu-prof
 * --cpu-prof-dir=/tmp/prof` (the profile is written when the bench stops it with SIGTERM at the end),
 * BENCH_ACK_BARE_ARGS to the bare app;
 * BENCH_ACK_MIX_PROBES=1,4 runs only those of the mix's commands (0-based, in the order below);
 * Both targets run as plain node on JavaScript as bench/cold-start.ts builds it (the bot as `npm run build`
 * bundles it, the bare app compiled from its file), which is how production runs; BENCH_ACK_TSX=1 runs
 * them under tsx instead (its loader and per-closure `__name` helpers add some 45 µs per command to the
 * bot), as do machines without esbuild.
 */

const LEVELS = [1, 50, 200];
const REQUESTS = Number(process.env.BENCH_ACK_REQUESTS ?? 2000);
/**
 * Requests per target and level before the measured ones. After 300, both targets were still compiling
 * (its V8 worker threads: 50 µs per command, 11 after 3,000) and the bare app's p99 was 1.4–2.4 times its
 * steady one, which flattered the bot's ratios: the measured round starts from a steady state.
 */
const WARMUP = Number(process.env.BENCH_ACK_WARMUP ?? 3000);
/**
 * Measured rounds per target and level, paired (bare app and bot one after the other, the order turned
 * round each time). One round's p99 is the 20th slowest of 2,000 answers and moved by up to 3x between
 * runs of the same code on this 2-core machine (docs/reliability.md); the median of the rounds' ratios
 * is the figure the goals are read against, with every round's ratio shown beside it.
 */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ACK_ROUNDS ?? 5));
const COLD_STARTS = Number(process.env.BENCH_ACK_COLD_STARTS ?? 3);
const REQUEST_TIMEOUT_MS = 10_000;
const TARGET_RATIO = 1.2;
const MIX_TARGET_RATIO = 1.4;
/** Time to answer p99 on the mix against the bare app's ack p99. */
const ANSWER_TARGET_RATIO = 1.5;
const ON_REDIS = "bot, store on Redis";

/** One command of a workload (its text for the i-th request), and what its answer must say. */
interface Probe {
  user: string;
  /** `known`: the scan IDs the target knows (seeded). */
  text: (i: number, known: readonly string[]) => string;
  expect: (i: number, known: readonly string[]) => RegExp;
}
/** Projects the bench creates in the bot, each with one running scan, before the measured rounds. */
const SEEDED_PROJECTS = 4;
/** Per target, the scan IDs it knows (seeded), cycled through by the mix's `scan status` of a known scan. */
const seeded = new Map<string, string[]>();
const unknownId = (i: number) => String(900_000 + (i % 997));
const fixed = (text: string, expect: RegExp): Pick<Probe, "text" | "expect"> => ({
  text: () => text,
  expect: () => expect,
});
const WORKLOADS: Record<string, Probe[]> = {
  help: [{ user: "U0ALICE", ...fixed("help", /scan start/) }],
  mix: [
    { user: "U0ALICE", ...fixed("help", /scan start/) },
    { user: "U0ALICE", ...fixed("projects", new RegExp(`bench-${SEEDED_PROJECTS}`)) },
    { user: "U0ALICE", ...fixed("sacn strat x", /did you mean/i) },
    {
      user: "U0ALICE",
      text: (i) => `scan status ${unknownId(i)}`,
      expect: (i) => new RegExp(`does not know scan ${unknownId(i)}`),
    },
    {
      user: "U0ALICE",
      text: (i, known) => `scan status ${known[i % known.length]}`,
      expect: (i, known) => new RegExp(`Scan ${known[i % known.length]} of \\*bench-\\d+\\*: `),
    },
    { user: "U0BOB", ...fixed("projects", /not allowed to view/) },
  ],
};
const CHOSEN = (process.env.BENCH_ACK_WORKLOADS ?? "help,mix").split(",").map((w) => w.trim());
const RUNS: Array<{ workload: keyof typeof WORKLOADS; concurrency: number }> = [
  ...LEVELS.map((concurrency) => ({ workload: "help" as const, concurrency })),
  { workload: "mix", concurrency: 50 },
].filter((run) => CHOSEN.includes(run.workload));
/** Which of the mix's probes run (indices), for profiling one command alone; the audit check then says 0. */
const MIX_PROBES = (process.env.BENCH_ACK_MIX_PROBES ?? "0,1,2,3,4,5").split(",").map(Number);
const FULL_MIX = MIX_PROBES.join(",") === "0,1,2,3,4,5";
const WITH_REDIS = process.env.BENCH_ACK_REDIS !== "off" && CHOSEN.includes("mix");
const nodeArgs = (value = "") => value.split(/\s+/).filter((arg) => arg !== "");
const BOT_ARGS = nodeArgs(process.env.BENCH_ACK_BOT_ARGS);
const BARE_ARGS = nodeArgs(process.env.BENCH_ACK_BARE_ARGS);
const UNDER_TSX = process.env.BENCH_ACK_TSX === "1";

/** Audit entries by action and outcome, counting aggregated refusals by their count. */
async function auditCounts(url: string): Promise<Record<string, number>> {
  const store = await openStore({ url });
  try {
    const counts: Record<string, number> = {};
    for (const [, value] of await store.entries<AuditEntry | AuditEntry[]>("audit")) {
      for (const entry of Array.isArray(value) ? value : [value]) {
        const key = `${entry.action}:${entry.outcome}`;
        counts[key] = (counts[key] ?? 0) + (entry.count ?? 1);
      }
    }
    return counts;
  } finally {
    await store.close();
  }
}

// ---- load ----

interface LevelResult {
  target: string;
  workload: string;
  concurrency: number;
  requests: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  perSecond: number;
  /** Time to answer: the ack when it carries the reply, else the response_url post's arrival. */
  answerP50: number;
  answerP99: number;
  /** Answers that never came or did not say what they should (the bare app gives none). */
  badAnswers: number;
  /** Which measured round of its level (0-based); unset for a warm-up. */
  measuredRound?: number;
  /** CPU per command, µs: all the target's threads, and its main thread alone (threadCpuMs). */
  cpuUs?: number;
  mainCpuUs?: number;
}

/** Lets work left after the last answer (an audit batch, a log flush) finish before CPU is read. */
const SETTLE_MS = 500;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

const round = (ms: number) => Number(ms.toFixed(2));

async function load(
  target: Target,
  pool: Pool,
  signingSecret: string,
  sink: Sink,
  workload: string,
  concurrency: number,
  count: number,
): Promise<LevelResult> {
  const latencies: number[] = [];
  const answers: number[] = [];
  const probes = (WORKLOADS[workload] ?? []).filter((_, n) => workload !== "mix" || MIX_PROBES.includes(n));
  const known = seeded.get(target.name) ?? [];
  const bare = target.name === "bare Bolt app";
  let bad = 0;
  let errors = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        const probe = probes[i % probes.length] as Probe;
        const id = `${target.name === "bot" ? "b" : "a"}${workload}${concurrency}-${i}-${Math.random()}`;
        const body = commandBody(probe.user, probe.text(i, known), sink, id, `${i}.1.bench`);
        const sent = performance.now();
        const posted = bare ? undefined : sink.expect(id);
        try {
          const res = await pool.request({
            path: "/slack/events",
            method: "POST",
            headers: {
              "content-type": "application/x-www-form-urlencoded",
              ...slackSignatureHeaders(signingSecret, body),
            },
            body,
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          });
          const text = await res.body.text();
          const acked = performance.now();
          latencies.push(acked - sent);
          if (res.statusCode !== 200) errors++;
          if (bare) {
            answers.push(acked - sent);
          } else if (text !== "") {
            sink.cancel(id);
            answers.push(acked - sent);
            if (!probe.expect(i, known).test(text)) bad++;
          } else {
            const answer = await posted;
            if (answer === undefined) bad++;
            else {
              answers.push(answer.at - sent);
              if (!probe.expect(i, known).test(answer.body)) bad++;
            }
          }
        } catch {
          errors++;
          latencies.push(performance.now() - sent);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  answers.sort((a, b) => a - b);
  return {
    target: target.name,
    workload,
    concurrency,
    requests: count,
    errors,
    p50: round(percentile(latencies, 50)),
    p95: round(percentile(latencies, 95)),
    p99: round(percentile(latencies, 99)),
    max: round(latencies.at(-1) ?? Number.NaN),
    perSecond: Math.round(count / seconds),
    answerP50: round(percentile(answers, 50)),
    answerP99: round(percentile(answers, 99)),
    badAnswers: bad,
  };
}

/** A slash command's form body as Slack sends it, answering to the sink under `id`. */
function commandBody(user: string, text: string, sink: Sink, id: string, triggerId: string): string {
  return new URLSearchParams({
    token: "bench",
    team_id: "T0EMULATOR",
    team_domain: "crashtest-dev",
    channel_id: "C0GENERAL",
    channel_name: "general",
    user_id: user,
    user_name: user.toLowerCase(),
    command: "/crashtest",
    text,
    api_app_id: "A0CRASHTEST",
    is_enterprise_install: "false",
    response_url: `${sink.url}/response/${encodeURIComponent(id)}`,
    trigger_id: triggerId,
  }).toString();
}

/** Sends one signed command to the bot and returns its answer (the ack body, else the response_url post). */
async function command(target: Target, signingSecret: string, sink: Sink, text: string): Promise<string> {
  const id = `seed-${Math.random()}`;
  const body = commandBody("U0ALICE", text, sink, id, "1.1.seed");
  const posted = sink.expect(id);
  const res = await fetch(`http://127.0.0.1:${target.port}/slack/events`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...slackSignatureHeaders(signingSecret, body),
    },
    body,
  });
  const acked = await res.text();
  if (acked !== "") {
    sink.cancel(id);
    return acked;
  }
  return (await posted)?.body ?? "";
}

/**
 * Projects and running scans in the bot, made through its own commands (a loopback target: the bench
 * sets ALLOW_PRIVATE_TARGETS), so that the mix's `scan status` also asks about scans the bot knows.
 */
async function seedScans(bot: Target, signingSecret: string, sink: Sink): Promise<void> {
  const known: string[] = [];
  seeded.set(bot.name, known);
  for (let n = 1; n <= SEEDED_PROJECTS; n++) {
    const created = await command(bot, signingSecret, sink, `project create bench-${n} http://127.0.0.1:9/`);
    if (!created.includes(`bench-${n}`))
      throw new Error(`seeding: project create said ${created.slice(0, 300)}`);
    const started = await command(bot, signingSecret, sink, `scan start bench-${n}`);
    const id = /Scan (\S+) of /.exec(started)?.[1];
    if (!id) throw new Error(`seeding: scan start said ${started.slice(0, 300)}`);
    known.push(id);
  }
}

interface Sink {
  url: string;
  posts: () => number;
  /** Resolves with the post for `id` (time of arrival and body), or undefined after 10 s. */
  expect(id: string): Promise<{ at: number; body: string } | undefined>;
  cancel(id: string): void;
  close: () => Promise<void>;
}

/** Answers every response_url post with "ok", as Slack does, and notes when each arrived. */
async function startSink(): Promise<Sink> {
  let posts = 0;
  const waiting = new Map<
    string,
    { resolve: (v: { at: number; body: string } | undefined) => void; timer: NodeJS.Timeout }
  >();
  const settle = (id: string, value: { at: number; body: string } | undefined) => {
    const entry = waiting.get(id);
    if (!entry) return;
    waiting.delete(id);
    clearTimeout(entry.timer);
    entry.resolve(value);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const at = performance.now();
      posts++;
      const id = decodeURIComponent((req.url ?? "").replace(/^\/response\//, ""));
      settle(id, { at, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    posts: () => posts,
    expect: (id) =>
      new Promise((resolve) => {
        waiting.set(id, { resolve, timer: setTimeout(() => settle(id, undefined), REQUEST_TIMEOUT_MS) });
      }),
    cancel: (id) => settle(id, undefined),
    close: async () => {
      for (const id of [...waiting.keys()]) settle(id, undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function runAckBench(): Promise<void> {
  const emulator = await SlackEmulator.start();
  const sink = await startSink();
  const dir = await mkdtemp(path.join(tmpdir(), "bench-ack-"));
  const slackEnv = {
    SLACK_BOT_TOKEN: emulator.botToken,
    SLACK_SIGNING_SECRET: emulator.signingSecret,
    SLACK_API_URL: emulator.apiUrl,
    PORT: "0",
  };
  const botEnv = (run: number) => ({
    ...slackEnv,
    STORE_URL: `sqlite://${dir}/bench-${run}.sqlite`,
    SCANNER: "simulator",
    ADMIN_USERS: "U0ALICE",
    LOG_LEVEL: "info",
    // The seeded projects' target is a loopback address, and their scans start without a second person.
    ALLOW_PRIVATE_TARGETS: "true",
    REQUIRE_APPROVAL: "false",
  });
  const targets: Target[] = [];
  let redis: { port: number; stop(): void } | undefined;
  const compiled = UNDER_TSX ? undefined : await compile(undefined);
  if (!UNDER_TSX && !compiled)
    console.log("ack bench: esbuild is unavailable, so both targets run under tsx");
  const bareApp = compiled
    ? [path.join(compiled, "bench", "bare-app.js")]
    : ["--import", "tsx", "bench/bare-app.ts"];
  const botMain = compiled ? [path.join(compiled, "bot", "main.js")] : ["--import", "tsx", "src/main.ts"];
  try {
    // Cold starts: spawn to the "bot ready" line; the last of each is kept for the latency runs.
    const cold: Record<string, number[]> = { "bare Bolt app": [], bot: [] };
    let bare: Target | undefined;
    let bot: Target | undefined;
    for (let run = 0; run < COLD_STARTS; run++) {
      bare = await spawnTarget("bare Bolt app", [...BARE_ARGS, ...bareApp], slackEnv);
      targets.push(bare);
      cold["bare Bolt app"]?.push(bare.readyMs);
      bot = await spawnTarget("bot", [...BOT_ARGS, ...botMain], botEnv(run));
      targets.push(bot);
      cold.bot?.push(bot.readyMs);
      if (run < COLD_STARTS - 1) {
        await stopTarget(bare);
        await stopTarget(bot);
      }
    }
    if (!bare || !bot) throw new Error("no targets");
    await seedScans(bot, emulator.signingSecret, sink);
    // The mix once more with the store on Redis (a throw-away redis-server), where every read is a round trip.
    redis = WITH_REDIS ? await ownRedis() : undefined;
    let botOnRedis: Target | undefined;
    if (redis) {
      botOnRedis = await spawnTarget(ON_REDIS, botMain, {
        ...botEnv(COLD_STARTS),
        STORE_URL: `redis://127.0.0.1:${redis.port}`,
      });
      targets.push(botOnRedis);
      await seedScans(botOnRedis, emulator.signingSecret, sink);
    } else if (WITH_REDIS) {
      console.log("ack bench: the mix on Redis is skipped (redis-server is not installed)");
    }

    const results: LevelResult[] = [];
    for (const { workload, concurrency } of RUNS) {
      // The warm-up round (JIT, auth.test) also opens the keep-alive connections the measured rounds
      // reuse, so no connect is measured.
      const compared = workload === "mix" && botOnRedis ? [bare, bot, botOnRedis] : [bare, bot];
      const pools = compared.map(
        (target) => new Pool(`http://127.0.0.1:${target.port}`, { connections: concurrency, pipelining: 1 }),
      );
      try {
        for (const [n, target] of compared.entries()) {
          await load(target, pools[n] as Pool, emulator.signingSecret, sink, workload, concurrency, WARMUP);
        }
        // Paired rounds, the order turned round each time, so that drift on the machine (and whichever
        // target goes first) falls on both alike; each round's ratio compares the two within it.
        for (let index = 0; index < ROUNDS; index++) {
          const order = [...compared.keys()];
          if (index % 2 === 1) order.reverse();
          for (const n of order) {
            const target = compared[n] as Target;
            await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
            const before = await threadCpuMs(target.child.pid);
            const result = await load(
              target,
              pools[n] as Pool,
              emulator.signingSecret,
              sink,
              workload,
              concurrency,
              REQUESTS,
            );
            await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
            const after = await threadCpuMs(target.child.pid);
            result.measuredRound = index;
            result.cpuUs = round(((after.total - before.total) * 1000) / REQUESTS);
            result.mainCpuUs = round(((after.main - before.main) * 1000) / REQUESTS);
            results.push(result);
          }
        }
      } finally {
        for (const pool of pools) await pool.close();
      }
    }

    console.log(
      `\nSlash-command ack latency (ms) through HTTPReceiver, signed requests over keep-alive, ${REQUESTS} per round after ${WARMUP} warm-up, ${ROUNDS} paired rounds per level (medians over the rounds); node ${process.version}, ${process.platform}/${process.arch}`,
    );
    const levels = [
      ...RUNS.flatMap((run) => [
        { ...run, target: "bare Bolt app" },
        { ...run, target: "bot" },
      ]),
      ...(botOnRedis ? [{ workload: "mix", concurrency: 50, target: ON_REDIS }] : []),
    ];
    const roundsOf = (target: string, workload: string, concurrency: number) =>
      results.filter((r) => r.target === target && r.workload === workload && r.concurrency === concurrency);
    const mid = (rows: LevelResult[], pick: (r: LevelResult) => number | undefined) =>
      round(median(rows.map((r) => pick(r) ?? Number.NaN)));
    console.table(
      levels.map(({ target, workload, concurrency }) => {
        const rows = roundsOf(target, workload, concurrency);
        const p99s = rows.map((r) => r.p99);
        return {
          target,
          workload,
          concurrency,
          rounds: rows.length,
          errors: rows.reduce((n, r) => n + r.errors, 0),
          p50: mid(rows, (r) => r.p50),
          p95: mid(rows, (r) => r.p95),
          p99: mid(rows, (r) => r.p99),
          "p99 lowest–highest": `${Math.min(...p99s)}–${Math.max(...p99s)}`,
          max: Math.max(...rows.map((r) => r.max)),
          perSecond: mid(rows, (r) => r.perSecond),
          answerP99: mid(rows, (r) => r.answerP99),
          badAnswers: rows.reduce((n, r) => n + r.badAnswers, 0),
          cpuUs: mid(rows, (r) => r.cpuUs),
          mainCpuUs: mid(rows, (r) => r.mainCpuUs),
        };
      }),
    );
    const ratios = levels
      .filter((level) => level.target !== "bare Bolt app")
      .map(({ workload, concurrency, target: name }) => {
        const floors = roundsOf("bare Bolt app", workload, concurrency);
        const reals = roundsOf(name, workload, concurrency);
        const pairs = reals.flatMap((real) => {
          const floor = floors.find((r) => r.measuredRound === real.measuredRound);
          return floor ? [{ real, floor }] : [];
        });
        const each = pairs.map(({ real, floor }) => real.p99 / floor.p99);
        const ratio = median(each);
        const answerRatio = median(pairs.map(({ real, floor }) => real.answerP99 / floor.p99));
        const goal = workload === "mix" ? MIX_TARGET_RATIO : TARGET_RATIO;
        return {
          workload: name === "bot" ? workload : `${workload}, store on Redis`,
          concurrency,
          "p99 ratio, median": Number(ratio.toFixed(2)),
          goal: `<= ${goal}x ${ratio <= goal ? "met" : "NOT met"}`,
          "each round": `${each.map((r) => r.toFixed(2)).join(" ")} (${each.filter((r) => r <= goal).length} of ${each.length} met)`,
          "p50 ratio": Number(median(pairs.map(({ real, floor }) => real.p50 / floor.p50)).toFixed(2)),
          "answer p99 / bare ack p99": `${answerRatio.toFixed(2)}${workload === "mix" ? ` (<= ${ANSWER_TARGET_RATIO}x ${answerRatio <= ANSWER_TARGET_RATIO ? "met" : "NOT met"})` : ""}`,
          "bad answers": reals.reduce((n, r) => n + r.badAnswers, 0),
          "CPU µs/cmd all threads bot / bare": `${mid(reals, (r) => r.cpuUs)} / ${mid(floors, (r) => r.cpuUs)}`,
          "main thread bot / bare": `${mid(reals, (r) => r.mainCpuUs)} / ${mid(floors, (r) => r.mainCpuUs)}`,
        };
      });
    console.log(
      "Bot against the bare app (same receiver, same run; each ratio within one round, then their median):",
    );
    console.table(ratios);
    console.log(
      `Cold start to ready (ms), ${COLD_STARTS} runs each, ${compiled ? "compiled JavaScript" : "node --import tsx"}:`,
    );
    console.table(
      Object.entries(cold).map(([name, runs]) => ({
        target: name,
        median: Math.round(median(runs)),
        min: Math.round(Math.min(...runs)),
        max: Math.round(Math.max(...runs)),
      })),
    );
    console.log(`response_url posts received by the sink (answers not carried by the ack): ${sink.posts()}`);
    // SIGTERM, as in production: the bot writes its pending audit batch before it exits. Every failing
    // command of the mix must have left its entry, so skipped work shows.
    await stopTarget(bot, "SIGTERM");
    if (BARE_ARGS.length > 0) await stopTarget(bare, "SIGTERM");
    // In each round, request i runs probe i % 6: `scan status` of an unknown scan is probe 3, the refusal probe 5.
    const probes = WORKLOADS.mix?.length ?? 0;
    const perRound = (count: number, probe: number) => Math.floor((count + probes - 1 - probe) / probes);
    const runsOf = (probe: number) =>
      CHOSEN.includes("mix") && FULL_MIX ? perRound(WARMUP, probe) + ROUNDS * perRound(REQUESTS, probe) : 0;
    const expected = { "scan.status:failed": runsOf(3), "projects:denied": runsOf(5) };
    const counts = await auditCounts(botEnv(COLD_STARTS - 1).STORE_URL);
    console.log("Audit entries after a SIGTERM (expected: the mix's failures, bot and warm-up rounds):");
    console.table(
      Object.entries(expected).map(([key, want]) => ({
        entry: key,
        expected: want,
        recorded: counts[key] ?? 0,
      })),
    );
    console.log(`Every audit entry recorded, by action and outcome: ${JSON.stringify(counts)}`);
  } finally {
    for (const target of targets) await stopTarget(target);
    await sink.close();
    await emulator.close();
    redis?.stop();
    await rm(dir, { recursive: true, force: true });
    if (compiled) await rm(compiled, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runAckBench();
