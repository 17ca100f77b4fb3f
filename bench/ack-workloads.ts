import { writeFile } from "node:fs/promises";
import { command, type Sink } from "./ack-commands.js";
import type { Target } from "./targets.js";

/** The ack bench's workloads: the commands each sends, what their answers must say, and the bot's seeding. */

/**
 * One command of a workload (its text for the i-th request), and what its answer must say. `known`: the
 * scan IDs the target knows (seeded), cycled through by the mix's `scan status` of a known scan.
 */
export interface Probe {
  user: string;
  text: (i: number, known: readonly string[]) => string;
  expect: (i: number, known: readonly string[]) => RegExp;
}
/** Projects the bench creates in the bot, each with one running scan, before the measured rounds. */
export const SEEDED_PROJECTS = 4;
const unknownId = (i: number) => String(900_000 + (i % 997));
const fixed = (text: string, expect: RegExp): Pick<Probe, "text" | "expect"> => ({
  text: () => text,
  expect: () => expect,
});
export const WORKLOADS: Record<string, Probe[]> = {
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

/**
 * Projects and running scans in the bot, made through its own commands (a loopback target: the bench
 * sets ALLOW_PRIVATE_TARGETS), so that the mix's `scan status` also asks about scans the bot knows.
 */
export async function seedScans(bot: Target, signingSecret: string, sink: Sink): Promise<string[]> {
  const known: string[] = [];
  for (let n = 1; n <= SEEDED_PROJECTS; n++) {
    const created = await command(bot, signingSecret, sink, `project create bench-${n} http://127.0.0.1:9/`);
    if (!created.includes(`bench-${n}`))
      throw new Error(`seeding: project create said ${created.slice(0, 300)}`);
    const started = await command(bot, signingSecret, sink, `scan start bench-${n}`);
    const id = /Scan (\S+) of /.exec(started)?.[1];
    if (!id) throw new Error(`seeding: scan start said ${started.slice(0, 300)}`);
    known.push(id);
  }
  return known;
}

/**
 * The bot's answer to every distinct command that `probes` send in their first `count` requests, as
 * `{ "<user> <text>": body }` in `file`, for the bare app that acks with them (bench/bare-app.ts).
 * Returns how many commands each probe sent, since the failing ones leave audit entries too.
 */
export async function recordReplies(
  bot: Target,
  known: readonly string[],
  signingSecret: string,
  sink: Sink,
  file: string,
  probes: readonly Probe[],
  count: number,
): Promise<Map<Probe, number>> {
  const replies: Record<string, unknown> = {};
  const sent = new Map<Probe, number>();
  for (const probe of probes) {
    for (let i = 0; i < count; i++) {
      const text = probe.text(i, known);
      const key = `${probe.user} ${text}`;
      if (key in replies) continue;
      const answer = await command(bot, signingSecret, sink, text, probe.user);
      if (!probe.expect(i, known).test(answer))
        throw new Error(`recording: ${key} said ${answer.slice(0, 300)}`);
      replies[key] = JSON.parse(answer);
      sent.set(probe, (sent.get(probe) ?? 0) + 1);
    }
  }
  await writeFile(file, JSON.stringify(replies));
  return sent;
}
