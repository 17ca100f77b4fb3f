import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { ACTIONS } from "../../src/slack/blocks/cards.js";
import {
  APPROVER,
  doublePolls,
  OPERATOR,
  pollsByScan,
  REPLICA_INTERVAL_S,
  REPLICA_TICK_S,
  type ReplicaRig,
  type StoreKind,
} from "./replica-rig.js";
import { auditThread, CHANNEL, isComplete, sleep, type ThreadAudit } from "./rig.js";

/** The checks and steps the replica scenarios share (issue 19). */
export const INTERVAL_MS = REPLICA_INTERVAL_S * 1000;
export const TICK_MS = REPLICA_TICK_S * 1000;

export interface Tally {
  store: StoreKind;
  scenario: string;
  replicas: number;
  kills: number;
  scans: number;
  lost: number;
  duplicated: number;
  doublePolls: number;
  notes: string[];
}
/** Every scenario's tally, printed by each suite's last test. */
export const tallies: Tally[] = [];

/** A bounded wait that looks every 250 ms (auditing threads is not free on a loaded machine). */
export async function until<T>(
  probe: () => T | undefined | false,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(250);
  }
}

export const named = (name: string) => `${name}(?![\\w-])`;
export const requestCards = (rig: ReplicaRig, project: string) =>
  rig.emulator
    .channelMessages(CHANNEL)
    .filter(
      (m) => m.threadTs === undefined && new RegExp(`^Scan request for ${named(project)}`).test(m.text),
    );
export const scanCardsOf = (rig: ReplicaRig, project: string) =>
  rig.emulator
    .channelMessages(CHANNEL)
    .filter((m) => m.threadTs === undefined && new RegExp(`^Scan \\S+ of ${named(project)}`).test(m.text));
export const scanIdOf = (text: string) => /^Scan (\S+) of /.exec(text)?.[1] ?? "";
export const startsAtScanner = (rig: ReplicaRig) =>
  rig.calls.filter((c) => c.operation === "startScan").length;

/** At most `width` at a time (six bots share two cores). */
export async function inBatches<T, R>(
  items: T[],
  width: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) {
    out.push(...(await Promise.all(items.slice(i, i + width).map(work))));
  }
  return out;
}

export async function createProjects(rig: ReplicaRig, names: string[]): Promise<void> {
  const seen = rig.emulator.ephemerals(OPERATOR).length;
  await inBatches(names, 4, (name) =>
    rig.send(OPERATOR, `project create ${name} https://${name}.example.com`),
  );
  await until(
    () => rig.ephemeralsSince(OPERATOR, seen).filter((text) => /created/.test(text)).length >= names.length,
    60_000,
    `${rig.kind}: ${names.length} projects created`,
  );
}

/** The replica's own endpoint: a click sent there lands on that replica, whatever the proxy would do. */
export const endpoint = (rig: ReplicaRig, replica: number) => {
  const bot = rig.bots[replica];
  assert.ok(bot, `replica ${replica} is running`);
  return `http://127.0.0.1:${bot.port}/slack/events`;
};

/**
 * Requests a scan of each project through the proxy and has the approver click Approve on a replica
 * other than the one that took the request; resolves with the scan IDs, in project order.
 */
export async function requestAndApprove(
  rig: ReplicaRig,
  projects: string[],
): Promise<{ ids: string[]; notes: string[] }> {
  const spread = { commands: [0, 0, 0], clicks: [0, 0, 0] };
  const ids = await inBatches(projects, 4, async (project) => {
    const took = await rig.send(OPERATOR, `scan start ${project}`);
    spread.commands[took] = (spread.commands[took] ?? 0) + 1;
    const card = await until(
      () => requestCards(rig, project)[0],
      60_000,
      `${rig.kind}: request card of ${project}`,
    );
    let clicker = (took + 1) % 3;
    if (!rig.bots[clicker]) clicker = (clicker + 1) % 3;
    const clicked = await rig.emulator.click({
      user: APPROVER,
      channel: CHANNEL,
      messageTs: card.ts,
      actionId: ACTIONS.approve,
      requestUrl: endpoint(rig, clicker),
    });
    assert.equal(clicked.status, 200, `${rig.kind}: ack of the approval of ${project}`);
    spread.clicks[clicker] = (spread.clicks[clicker] ?? 0) + 1;
    const scanCard = await until(
      () => scanCardsOf(rig, project)[0],
      60_000,
      `${rig.kind}: scan card of ${project}`,
    );
    return scanIdOf(scanCard.text);
  });
  return {
    ids,
    notes: [
      `requests per replica ${JSON.stringify(spread.commands)}, approvals per replica ${JSON.stringify(spread.clicks)}`,
    ],
  };
}

export const hasRunning = (rig: ReplicaRig, scanId: string) =>
  auditThread(rig.emulator, scanId).shape.includes("state:running");

/** Waits for every scan's complete thread; the audits, complete or not, for the tally. */
export async function waitAllComplete(
  rig: ReplicaRig,
  ids: string[],
  timeoutMs: number,
): Promise<ThreadAudit[]> {
  try {
    await until(() => ids.every((id) => isComplete(auditThread(rig.emulator, id))), timeoutMs, "complete");
  } catch {
    // Tallied as lost below.
  }
  return ids.map((id) => auditThread(rig.emulator, id));
}

export function tally(
  t: TestContext,
  rig: ReplicaRig,
  scenario: string,
  audits: ThreadAudit[],
  projects: string[],
  notes: string[],
): Tally {
  const lost = audits.filter((a) => a.cards === 0 || !isComplete(a));
  const duplicated = audits.filter(
    (a) => a.cards > 1 || a.duplicateReplies.length > 0 || a.duplicateUploads.length > 0,
  );
  const doubleRequests = projects.filter(
    (p) => requestCards(rig, p).length !== 1 || scanCardsOf(rig, p).length !== 1,
  );
  const ids = new Set(audits.map((a) => a.scanId));
  const doubles = doublePolls(rig.calls).filter((d) => ids.has(d.scanId));
  const polls = pollsByScan(rig.calls);
  const pollCounts = audits.map((a) => polls.get(a.scanId)?.length ?? 0);
  const entry: Tally = {
    store: rig.kind,
    scenario,
    replicas: 3,
    kills: rig.kills,
    scans: audits.length,
    lost: lost.length,
    duplicated: duplicated.length + doubleRequests.length,
    doublePolls: doubles.length,
    notes: [...notes, `status polls per scan ${JSON.stringify(pollCounts)}`],
  };
  tallies.push(entry);
  t.diagnostic(`${rig.kind} ${scenario}: ${JSON.stringify(entry)}`);
  for (const a of [...lost, ...duplicated]) {
    t.diagnostic(
      `${rig.kind} scan ${a.scanId}: cards ${a.cards} thread ${JSON.stringify(a.shape)} files ${JSON.stringify(a.files)}`,
    );
  }
  assert.deepEqual(
    lost.map((a) => a.scanId),
    [],
    `${rig.kind} ${scenario}: lost scans`,
  );
  assert.deepEqual(
    duplicated.map((a) => a.scanId),
    [],
    `${rig.kind} ${scenario}: duplicated effects`,
  );
  assert.deepEqual(
    doubleRequests,
    [],
    `${rig.kind} ${scenario}: projects without exactly one request and one scan card`,
  );
  assert.deepEqual(doubles, [], `${rig.kind} ${scenario}: two polls of one scan within an interval`);
  return entry;
}
