import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestContext } from "node:test";
import { SlackEmulator } from "../../dev/slack-emulator/index.js";
import { startSimulator } from "../../src/scanners/index.js";
import type { SimulatorHandle } from "../../src/scanners/simulator/server.js";
import { PEOPLE, SURFACE_EMULATOR, SURFACE_ENV, visibleText } from "../support/bot.js";
import { ChildBot } from "./child-bot.js";
import { CHANNEL } from "./rig.js";

/**
 * Several bot processes on one real store (issue 19): three `node --import tsx src/main.ts` replicas in
 * HTTP mode on Redis or PostgreSQL from `.ci/services`, one Slack emulator whose deliveries go through a
 * round-robin proxy in front of the three, and one Crashtest simulator that each replica reaches through
 * its own recording front (so every status poll is attributed to the replica that made it, and a poll
 * can be held in flight while its replica is killed).
 */

/** Wall-clock timings of the replicas: the interval is a multiple of the tick, as in production (120/15). */
export const REPLICA_TICK_S = 5;
export const REPLICA_INTERVAL_S = 30;

export type StoreKind = "redis" | "postgres";

/** The store URL for a kind, or undefined after a visible skip (a failure under CI=true). */
export function storeBase(t: TestContext, kind: StoreKind): string | undefined {
  const name = kind === "redis" ? "TEST_REDIS_URL" : "TEST_POSTGRES_URL";
  const url = process.env[name];
  if (url) return url;
  const reason = `${name} is not set (start .ci/services); the ${kind} replica scenarios are skipped`;
  if (process.env.CI === "true") throw new Error(`${reason}; CI requires it`);
  t.diagnostic(reason);
  t.skip(reason);
  return undefined;
}

function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 30_000 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed: ${result.error?.message ?? ""} ${result.stderr}`);
  }
  return result.stdout;
}

const RIG_CLAIM = "replica-rig:owner";
const CLEAR_OTHERS =
  "for _, key in ipairs(redis.call('KEYS', '*')) do if key ~= KEYS[1] then redis.call('DEL', key) end end";

/**
 * A store of its own on the shared server, so earlier runs and other suites never leak in: an empty
 * Redis database (one of 4..11 that no other run holds, flushed after; test/domain/schedules uses 13) or a new PostgreSQL database (dropped after).
 */
export function isolatedStore(kind: StoreKind, base: string): { url: string; drop(): void } {
  const url = new URL(base);
  if (kind === "redis") {
    // A database no other run holds (several checkouts may run the suite on one server at once): the
    // first of 4..11 whose claim key this run sets, emptied of everything else, flushed after.
    for (let db = 4; db <= 11; db++) {
      url.pathname = `/${db}`;
      const claimed = run("redis-cli", [
        "-u",
        url.toString(),
        "SET",
        RIG_CLAIM,
        String(process.pid),
        "NX",
        "EX",
        "3600",
      ]);
      if (claimed.trim() !== "OK") continue;
      run("redis-cli", ["-u", url.toString(), "EVAL", CLEAR_OTHERS, "1", RIG_CLAIM]);
      const target = url.toString();
      return { url: target, drop: () => run("redis-cli", ["-u", target, "FLUSHDB"]) };
    }
    throw new Error("no free Redis database among 4..11 for the replica rig (another run holds each)");
  }
  const name = `replicas_${process.pid}_${randomBytes(3).toString("hex")}`;
  run("psql", [base, "-v", "ON_ERROR_STOP=1", "-qc", `CREATE DATABASE ${name}`]);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => run("psql", [base, "-qc", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]),
  };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Forwards one buffered request to a loopback port; rejects when nothing answers there. */
function forward(
  port: number,
  req: IncomingMessage,
  body: Buffer,
  res: ServerResponse,
  extraHeaders: Record<string, string> = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const upstream = request(
      { host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, ...extraHeaders });
        answer.pipe(res);
        answer.on("end", () => resolve());
        answer.on("error", reject);
      },
    );
    upstream.on("error", reject);
    upstream.end(body);
  });
}

export interface Delivery {
  replica: number;
  /** Slash command text, or the clicked message's ts. */
  command?: string;
  messageTs?: string;
}

/**
 * Slack's side of a load balancer: each delivery goes to the next replica in turn (a dead one is
 * skipped, as a health-checked balancer would), and the answer carries `x-replica`.
 */
export class RoundRobin {
  readonly deliveries: Delivery[] = [];
  private next = 0;
  port = 0;
  private constructor(
    private readonly server: Server,
    private readonly ports: () => Array<number | undefined>,
  ) {}

  static async start(ports: () => Array<number | undefined>): Promise<RoundRobin> {
    let self: RoundRobin | undefined;
    const server = createServer((req, res) => {
      void self?.handle(req, res);
    });
    self = new RoundRobin(server, ports);
    self.port = await listen(server);
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/slack/events`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const ports = this.ports();
    for (let attempt = 0; attempt < ports.length; attempt++) {
      const replica = this.next++ % ports.length;
      const port = ports[replica];
      if (port === undefined) continue;
      try {
        await forward(port, req, body, res, { "x-replica": String(replica) });
        this.deliveries.push({ replica, ...summarize(body) });
        return;
      } catch {
        if (res.headersSent) return;
      }
    }
    res.writeHead(502).end();
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }
}

function summarize(body: Buffer): Omit<Delivery, "replica"> {
  const form = new URLSearchParams(body.toString("utf8"));
  const command = form.get("text");
  if (form.has("command") && command !== null) return { command };
  try {
    const payload = JSON.parse(form.get("payload") ?? "{}") as { container?: { message_ts?: string } };
    return payload.container?.message_ts ? { messageTs: payload.container.message_ts } : {};
  } catch {
    return {};
  }
}

export interface ScannerCall {
  replica: number;
  operation: "scanStatus" | "report" | "startScan" | "other";
  scanId?: string;
  at: number;
}

const STATUS = /\/scans\/([^/]+)\/status$/;
const REPORT = /\/scans\/([^/]+)\/report\//;
const START = /\/projects\/[^/]+\/scans$/;

/**
 * What one replica sees as the scanner: a recording front before the shared simulator. `hold` may
 * keep a status request in flight (the replica waits for its answer) until `release` is called.
 */
export class ScannerFront {
  private held: Array<() => void> = [];
  hold: ((call: ScannerCall) => boolean) | undefined;
  onHeld: ((call: ScannerCall) => void) | undefined;
  port = 0;
  private constructor(
    private readonly server: Server,
    readonly replica: number,
  ) {}

  static async start(replica: number, simPort: number, calls: ScannerCall[]): Promise<ScannerFront> {
    let self: ScannerFront | undefined;
    const server = createServer((req, res) => {
      void (async () => {
        const body = await readBody(req);
        const path = (req.url ?? "").split("?")[0] ?? "";
        const status = STATUS.exec(path);
        const report = REPORT.exec(path);
        const call: ScannerCall = {
          replica,
          operation: status
            ? "scanStatus"
            : report
              ? "report"
              : req.method === "POST" && START.test(path)
                ? "startScan"
                : "other",
          ...(status?.[1] ? { scanId: decodeURIComponent(status[1]) } : {}),
          ...(report?.[1] ? { scanId: decodeURIComponent(report[1]) } : {}),
          at: Date.now(),
        };
        calls.push(call);
        if (self?.hold?.(call)) {
          await new Promise<void>((resolve) => {
            self?.held.push(resolve);
            self?.onHeld?.(call);
          });
          if (req.socket.destroyed) return;
        }
        await forward(simPort, req, body, res).catch(() => res.destroy());
      })();
    });
    self = new ScannerFront(server, replica);
    self.port = await listen(server);
    return self;
  }

  release(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }

  close(): Promise<void> {
    this.release();
    return closeServer(this.server);
  }
}

/**
 * What one replica sees as Slack's Web API: a front before the shared emulator. `holdAnswer` may keep
 * the answer of a call that Slack has already carried out from reaching the replica (the replica is
 * killed while it waits: Slack did it, the bot never learnt).
 */
export class SlackFront {
  holdAnswer: ((method: string) => boolean) | undefined;
  onHeld: ((method: string) => void) | undefined;
  port = 0;
  private constructor(private readonly server: Server) {}

  static async start(emulatorPort: number): Promise<SlackFront> {
    let self: SlackFront | undefined;
    const server = createServer((req, res) => {
      void (async () => {
        const body = await readBody(req);
        const method = (req.url ?? "").split("?")[0]?.split("/").pop() ?? "";
        const upstream = request(
          { host: "127.0.0.1", port: emulatorPort, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            const chunks: Buffer[] = [];
            answer.on("data", (chunk: Buffer) => chunks.push(chunk));
            answer.on("end", () => {
              if (self?.holdAnswer?.(method)) {
                self.onHeld?.(method);
                return;
              }
              res.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(chunks));
            });
          },
        );
        upstream.on("error", () => res.destroy());
        upstream.end(body);
      })();
    });
    self = new SlackFront(server);
    self.port = await listen(server);
    return self;
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }
}

export interface ReplicaRig {
  kind: StoreKind;
  sim: SimulatorHandle;
  emulator: SlackEmulator;
  proxy: RoundRobin;
  fronts: ScannerFront[];
  /** Per replica, when the rig was asked for them (`slackFronts`); empty otherwise. */
  slackFronts: SlackFront[];
  /** Index = replica; undefined once killed. */
  bots: Array<ChildBot | undefined>;
  /** Every call any replica made to the scanner, in arrival order. */
  calls: ScannerCall[];
  kills: number;
  kill(replica: number): Promise<void>;
  /** Starts a killed replica again, on its own scanner front. */
  restart(replica: number): Promise<void>;
  /** A slash command through the proxy; resolves with the replica that got it (-1 over Socket Mode). */
  send(user: string, text: string): Promise<number>;
  /** The visible text of the user's ephemeral messages from `seen` on. */
  ephemeralsSince(user: string, seen: number): string[];
  allLogs(): string;
  /** Every replica process started, killed and restarted ones included. */
  everyBot(): ChildBot[];
  close(): Promise<void>;
}

export async function replicaRig(
  kind: StoreKind,
  storeUrl: string,
  env: Record<string, string> = {},
  /**
   * slackFronts: a holding front per replica before the emulator's Web API. socket: Socket Mode, each
   * replica with its own connection, the emulator spreading envelopes over them as Slack does (no proxy).
   */
  options: { slackFronts?: boolean; socket?: boolean } = {},
): Promise<ReplicaRig> {
  // Queued 0 s: the first poll sees "running"; the test moves the simulator's clock to end scans.
  const sim = await startSimulator({ timing: { queueSeconds: 0, runSeconds: 3600 } });
  // Acks on a loaded 2-core machine with six bots can pass Slack's 3 s; that is not what is tested here.
  const emulator = await SlackEmulator.start({ ...SURFACE_EMULATOR, ackTimeoutMs: 15_000 });
  const calls: ScannerCall[] = [];
  const simPort = Number(new URL(sim.url).port);
  const fronts = await Promise.all([0, 1, 2].map((i) => ScannerFront.start(i, simPort, calls)));
  const emulatorPort = Number(new URL(emulator.apiUrl).port);
  const slackFronts = options.slackFronts
    ? await Promise.all([0, 1, 2].map(() => SlackFront.start(emulatorPort)))
    : [];
  const bots: Array<ChildBot | undefined> = [undefined, undefined, undefined];
  const proxy = await RoundRobin.start(() => bots.map((bot) => (bot ? bot.port : undefined)));
  if (!options.socket) emulator.requestUrl = proxy.url;
  const closeParts = async () => {
    for (const bot of bots) await bot?.kill();
    await proxy.close();
    for (const front of [...fronts, ...slackFronts]) await front.close();
    await emulator.close();
    await sim.close();
  };
  const started: ChildBot[] = [];
  const launch = (i: number, label: string) => {
    const front = fronts[i];
    if (!front) throw new Error(`no replica ${i}`);
    return ChildBot.start(
      {
        SLACK_BOT_TOKEN: emulator.botToken,
        ...(options.socket
          ? { SLACK_APP_TOKEN: emulator.appToken }
          : { SLACK_SIGNING_SECRET: emulator.signingSecret }),
        SLACK_API_URL: slackFronts[i]
          ? emulator.apiUrl.replace(`:${emulatorPort}/`, `:${slackFronts[i]?.port}/`)
          : emulator.apiUrl,
        PORT: "0",
        STORE_URL: storeUrl,
        SCANNER: "crashtest",
        CRASHTEST_API_URL: `http://127.0.0.1:${front.port}`,
        CRASHTEST_API_KEY: sim.apiKey,
        CRASHTEST_TEAM_ID: sim.teamId,
        SCAN_POLL_INTERVAL_SECONDS: String(REPLICA_INTERVAL_S),
        SCAN_WATCH_TICK_SECONDS: String(REPLICA_TICK_S),
        REQUIRE_APPROVAL: "true",
        // A child process cannot be given a fake resolver, and tests never ask real DNS.
        ALLOW_PRIVATE_TARGETS: "true",
        LOG_LEVEL: "info",
        ...SURFACE_ENV,
        ...env,
      },
      { label, readyTimeoutMs: 180_000 },
    ).then((bot) => {
      started.push(bot);
      return bot;
    });
  };
  try {
    const launched = await Promise.all(fronts.map((_, i) => launch(i, `${kind}-replica${i}`)));
    launched.forEach((bot, i) => {
      bots[i] = bot;
    });
  } catch (error) {
    for (const bot of started) await bot.kill();
    await closeParts();
    throw error;
  }
  const everyBot = started;
  const rig: ReplicaRig = {
    kind,
    sim,
    emulator,
    proxy,
    fronts,
    slackFronts,
    bots,
    calls,
    kills: 0,
    async kill(replica) {
      const bot = bots[replica];
      if (!bot) return;
      bots[replica] = undefined;
      rig.kills++;
      await bot.kill();
    },
    async restart(replica) {
      if (bots[replica]) return;
      bots[replica] = await launch(replica, `${kind}-replica${replica}-restarted`);
    },
    async send(user, text) {
      const sent = await emulator.slashCommand({ user, channel: CHANNEL, text });
      if (sent.status !== 200) throw new Error(`${kind}: ack ${sent.status} for "${text}"`);
      // Over Socket Mode the emulator picks the connection: the replica is not known here (-1).
      return options.socket ? -1 : Number(sent.headers["x-replica"]);
    },
    ephemeralsSince: (user, seen) => emulator.ephemerals(user).slice(seen).map(visibleText),
    everyBot: () => [...everyBot],
    allLogs: () => everyBot.map((b) => `--- ${b.label}\n${b.raw}`).join("\n"),
    close: closeParts,
  };
  return rig;
}

/** Status polls per scan ID, in time order. */
export function pollsByScan(calls: ScannerCall[]): Map<string, ScannerCall[]> {
  const polls = new Map<string, ScannerCall[]>();
  for (const call of calls) {
    if (call.operation !== "scanStatus" || call.scanId === undefined) continue;
    const list = polls.get(call.scanId) ?? [];
    list.push(call);
    polls.set(call.scanId, list);
  }
  return polls;
}

/**
 * Two consecutive polls of one scan closer than one interval less one tick: polls are planned on the
 * tick grid (next = this tick's slot + interval), so a poll made late in its tick can be followed by
 * the next one a little under an interval later; anything closer means two polls in one slot.
 */
export function doublePolls(
  calls: ScannerCall[],
): Array<{ scanId: string; gapMs: number; replicas: number[] }> {
  const found: Array<{ scanId: string; gapMs: number; replicas: number[] }> = [];
  const floor = (REPLICA_INTERVAL_S - REPLICA_TICK_S) * 1000;
  for (const [scanId, polls] of pollsByScan(calls)) {
    for (let i = 1; i < polls.length; i++) {
      const a = polls[i - 1];
      const b = polls[i];
      if (a && b && b.at - a.at < floor) {
        found.push({ scanId, gapMs: b.at - a.at, replicas: [a.replica, b.replica] });
      }
    }
  }
  return found;
}

export const APPROVER = PEOPLE.approver;
export const OPERATOR = PEOPLE.operator;
