import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { SlackEmulator, type StoredMessage } from "../../dev/slack-emulator/index.js";
import { startSimulator } from "../../src/scanners/index.js";
import type { SimulatorHandle } from "../../src/scanners/simulator/server.js";
import { reportFileName } from "../../src/slack/gateway.js";
import { EFFECT_EVENT_TYPE } from "../../src/slack/notifier.js";
import { eventually, PEOPLE, SURFACE_EMULATOR, SURFACE_ENV, visibleText } from "../support/bot.js";
import { ChildBot } from "./child-bot.js";

export const CHANNEL = "C0SECURITY";
/** SCAN_WATCH_TICK_SECONDS of the child bots (production: 15). */
export const TICK_MS = 3000;

/**
 * One isolated world for a child bot: its own Slack emulator, its own scanner simulator (clock under
 * the test's control across bot restarts) and its own store. The bot runs as `node --import tsx
 * src/main.ts` in HTTP mode with SCANNER=crashtest against the simulator.
 */
export interface ProcessRig {
  label: string;
  sim: SimulatorHandle;
  emulator: SlackEmulator;
  env: Record<string, string>;
  /** The bot running now. */
  bot: ChildBot;
  /** Every bot process started, in order (their logs stay readable). */
  bots: ChildBot[];
  kills: number;
  restarts: number;
  kill(): Promise<void>;
  restart(): Promise<ChildBot>;
  /** Sends a slash command as `user` and returns the visible text of the next ephemeral answer. */
  command(user: string, text: string, timeoutMs?: number): Promise<string>;
  /** Sends a slash command without waiting for the answer (the ack must still be 200). */
  send(user: string, text: string): Promise<void>;
  /** Every log line of every bot process of this rig. */
  allLogs(): string;
  close(): Promise<void>;
}

export async function processRig(
  label: string,
  options: { storeUrl?: string; env?: Record<string, string> } = {},
): Promise<ProcessRig> {
  const dir = await mkdtemp(path.join(tmpdir(), `faults-${label}-`));
  // Queued 0 s: the first poll sees "running"; the test moves the simulator's clock to end the scan.
  const sim = await startSimulator({ timing: { queueSeconds: 0, runSeconds: 3600 } });
  const emulator = await SlackEmulator.start(SURFACE_EMULATOR);
  const env: Record<string, string> = {
    SLACK_BOT_TOKEN: emulator.botToken,
    SLACK_SIGNING_SECRET: emulator.signingSecret,
    SLACK_API_URL: emulator.apiUrl,
    PORT: "0",
    STORE_URL: options.storeUrl ?? `sqlite://${dir}/x.sqlite`,
    SCANNER: "crashtest",
    CRASHTEST_API_URL: sim.url,
    CRASHTEST_API_KEY: sim.apiKey,
    CRASHTEST_TEAM_ID: sim.teamId,
    SCAN_POLL_INTERVAL_SECONDS: "2",
    SCAN_WATCH_TICK_SECONDS: String(TICK_MS / 1000),
    REQUIRE_APPROVAL: "false",
    // A child process cannot be given a fake resolver, and tests never ask real DNS.
    ALLOW_PRIVATE_TARGETS: "true",
    LOG_LEVEL: "info",
    ...SURFACE_ENV,
    ...options.env,
  };
  const bots: ChildBot[] = [];
  const launch = async () => {
    const bot = await ChildBot.start(env, { label: `${label}#${bots.length + 1}` });
    bots.push(bot);
    emulator.requestUrl = `http://127.0.0.1:${bot.port}/slack/events`;
    return bot;
  };
  let first: ChildBot;
  try {
    first = await launch();
  } catch (error) {
    await emulator.close();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const rig: ProcessRig = {
    label,
    sim,
    emulator,
    env,
    bot: first,
    bots,
    kills: 0,
    restarts: 0,
    async kill() {
      rig.kills++;
      await rig.bot.kill();
    },
    async restart() {
      await rig.bot.kill();
      rig.restarts++;
      rig.bot = await launch();
      return rig.bot;
    },
    async command(user, text, timeoutMs = 10_000) {
      const seen = emulator.ephemerals(user).length;
      await rig.send(user, text);
      return visibleText(await eventually(() => emulator.ephemerals(user)[seen], timeoutMs));
    },
    async send(user, text) {
      const sent = await emulator.slashCommand({ user, channel: CHANNEL, text });
      if (sent.status !== 200) throw new Error(`${label}: ack ${sent.status} for "${text}"`);
    },
    allLogs: () => bots.map((b) => b.raw).join("\n"),
    async close() {
      for (const bot of bots) await bot.kill();
      // FAULTS_KEEP_LOGS=<dir> keeps every bot process's output for a look after the run.
      const keep = process.env.FAULTS_KEEP_LOGS;
      if (keep) {
        await mkdir(keep, { recursive: true });
        await writeFile(path.join(keep, `${label}.log`), rig.allLogs());
      }
      await emulator.close();
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return rig;
}

/** Creates project "shop" through the bot (operator), as a person would. */
export async function createProject(rig: ProcessRig, name = "shop"): Promise<void> {
  const reply = await rig.command(PEOPLE.operator, `project create ${name} https://${name}.example.com`);
  if (!/created/.test(reply)) throw new Error(`${rig.label}: project create answered: ${reply}`);
}

/** Every top-level scan card for a scan ID (more than one is a duplicate). */
export function scanCards(emulator: SlackEmulator, scanId?: string): StoredMessage[] {
  return emulator
    .channelMessages(CHANNEL)
    .filter((m) => m.threadTs === undefined)
    .filter((m) =>
      scanId === undefined ? /^Scan \S+ of /.test(m.text) : m.text.startsWith(`Scan ${scanId} of `),
    );
}

export interface ThreadAudit {
  scanId: string;
  cards: number;
  /** One entry per thread reply: its effect ID (metadata) or the files it shares. */
  shape: string[];
  /** Effect IDs or file names seen more than once. */
  duplicateReplies: string[];
  duplicateUploads: string[];
  hasFinal: boolean;
  /** Report files shared in the thread. */
  files: string[];
}

/** What a scan's thread holds, with duplicates counted (the exactly-once check). */
export function auditThread(emulator: SlackEmulator, scanId: string): ThreadAudit {
  const cards = scanCards(emulator, scanId);
  const card = cards[0];
  const replies = card ? emulator.thread(CHANNEL, card.ts) : [];
  const files = card ? emulator.filesIn(CHANNEL, card.ts).map((f) => f.name) : [];
  const shape = replies.map((m) => {
    const effect =
      m.metadata?.event_type === EFFECT_EVENT_TYPE
        ? (m.metadata.event_payload as { effect?: string } | undefined)?.effect
        : undefined;
    if (effect) return effect;
    if (m.fileIds.length > 0) return `files:${files.length > 0 ? m.fileIds.length : 0}`;
    return `text:${m.text.slice(0, 60)}`;
  });
  const dupes = (list: string[]) => [...new Set(list.filter((item, i) => list.indexOf(item) !== i))];
  return {
    scanId,
    cards: cards.length,
    shape,
    duplicateReplies: dupes(shape.filter((s) => !s.startsWith("files:") && !s.startsWith("text:"))),
    duplicateUploads: dupes(files),
    hasFinal: shape.includes("final"),
    files,
  };
}

/** A finished scan's complete thread: final, summary and both default report files, each once. */
export function completeFor(scanId: string): { effects: string[]; files: string[] } {
  return {
    effects: ["final", "summary"],
    files: [reportFileName(scanId, "pdf"), reportFileName(scanId, "json")],
  };
}

export function isComplete(audit: ThreadAudit): boolean {
  const want = completeFor(audit.scanId);
  return (
    want.effects.every((e) => audit.shape.includes(e)) && want.files.every((f) => audit.files.includes(f))
  );
}

/** Milliseconds until just after the next cron slot of the wall clock (+ margin). */
export function untilNextTick(marginMs = 1500): number {
  return TICK_MS - (Date.now() % TICK_MS) + marginMs;
}

/** A bounded wait for something that takes `n` ticks, with room for a slow machine. */
export function ticks(n: number): number {
  return untilNextTick() + n * TICK_MS + 5000;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
