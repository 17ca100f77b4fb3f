import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { Pool } from "undici";
import { slackSignatureHeaders } from "../../dev/slack-emulator/index.js";
import type { ScanRecord } from "../../src/domain/scans.js";
import { startSimulator } from "../../src/scanners/index.js";
import type { SimulatorHandle } from "../../src/scanners/simulator/server.js";
import { ACTIONS } from "../../src/slack/blocks/cards.js";
import { PROJECT_MODAL } from "../../src/slack/views/project-modal.js";
import { ChildBot } from "../faults/child-bot.js";
import {
  eventually,
  PEOPLE,
  SURFACE_EMULATOR,
  SURFACE_ENV,
  slackQuiet,
  startTestBot,
  type TestBot,
  visibleText,
} from "../support/bot.js";
import { FakeVeracode, fakeKeyPair } from "../veracode/fake-veracode.js";

/**
 * Hostile input through the REAL bot (startBot in HTTP mode, Bolt's HTTPReceiver, the Slack emulator as
 * Slack, the Crashtest adapter against the simulator, a fake Veracode Identity API): every request is a
 * real signed HTTP POST to /slack/events. 10,000 generated button and view payloads per run (bounded in
 * wall time), plus signature forgeries, structurally broken payloads, user text full of Slack markup,
 * and a secret scan of everything the bot sent and logged.
 *
 * Reproduce a run with FUZZ_SEED=<seed printed in the diagnostics>; FUZZ_PAYLOAD_RUNS changes the count.
 */

const RUNS = Number(process.env.FUZZ_PAYLOAD_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** The bulk run stops here whatever the count (a slow machine reports fewer cases, visibly). */
const BULK_WALL_MS = 150_000;
const CONCURRENCY = 8;
/** Bolt answers an event no listener acks with 404 after 3 s; anything slower is a hang. */
const ANSWER_TIMEOUT_MS = 5_000;
const CHANNEL = "C0SECURITY";

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => {
  unhandled.push(reason);
};
process.on("unhandledRejection", onUnhandled);

let t: TestBot;
let sim: SimulatorHandle;
let veracode: FakeVeracode;
let pool: Pool;
const keys = fakeKeyPair();
const seeded = {
  /** Request approved by bob: decided. */
  decidedRequest: "",
  /** Request by bob, still pending. */
  pendingRequest: "",
  scanId: "",
  projectIds: [] as string[],
  responseUrl: "",
  viewId: "",
};

before(async () => {
  sim = await startSimulator({ timing: { queueSeconds: 0, runSeconds: 3600 } });
  veracode = await FakeVeracode.start({ now: () => Date.now() });
  veracode.setCredential({ apiId: keys.apiId, secretHex: keys.secretHex, daysLeft: 3 });
  t = await startTestBot({
    env: {
      ...SURFACE_ENV,
      SCANNER: "crashtest",
      CRASHTEST_API_URL: sim.url,
      CRASHTEST_API_KEY: sim.apiKey,
      CRASHTEST_TEAM_ID: sim.teamId,
      VERACODE_API_KEY_ID: keys.apiKeyId,
      VERACODE_API_KEY_SECRET: keys.apiKeySecret,
      VERACODE_API_URL: veracode.url,
      ALERT_CHANNEL: CHANNEL,
    },
    emulator: SURFACE_EMULATOR,
  });
  pool = new Pool(t.baseUrl, { connections: CONCURRENCY * 2 });

  // Seed through the real flows: two projects, a decided request with a running scan, a pending request,
  // the project modal open.
  for (const name of ["shop", "web"]) {
    assert.match(
      await command(PEOPLE.operator, `project create ${name} https://${name}.example.com`),
      /created/,
    );
  }
  seeded.projectIds = ["101", "102"];
  await command(PEOPLE.operator, "scan start shop");
  const first = await eventually(() => approvalCards().at(-1));
  seeded.decidedRequest = requestIdOf(first.blocks);
  await t.emulator.click({
    user: PEOPLE.approver,
    channel: CHANNEL,
    messageTs: first.ts,
    actionId: ACTIONS.approve,
  });
  const scanCard = await eventually(() =>
    t.emulator
      .channelMessages(CHANNEL)
      .find((m) => m.threadTs === undefined && /^Scan \d+ of shop/.test(m.text)),
  );
  seeded.scanId = /^Scan (\d+)/.exec(scanCard.text)?.[1] ?? "";
  await command(PEOPLE.approver, "scan start web");
  const pending = await eventually(() =>
    approvalCards().find((m) => /web/.test(m.text) && requestIdOf(m.blocks) !== seeded.decidedRequest),
  );
  seeded.pendingRequest = requestIdOf(pending.blocks);
  const probe = await t.emulator.click({
    user: PEOPLE.stranger,
    channel: CHANNEL,
    messageTs: pending.ts,
    actionId: ACTIONS.approve,
  });
  seeded.responseUrl = probe.responseUrl;
  await t.emulator.slashCommand({ user: PEOPLE.operator, channel: CHANNEL, text: "project create" });
  seeded.viewId = (
    await eventually(() => t.emulator.views(PEOPLE.operator).find((v) => v.type === "modal"))
  ).id;
  await quiet();
  assert.ok(seeded.scanId && seeded.pendingRequest && seeded.decidedRequest, JSON.stringify(seeded));
});

after(async () => {
  process.off("unhandledRejection", onUnhandled);
  await pool?.close();
  await t?.close();
  await sim?.close();
  await veracode?.close();
});

// ---- helpers ----

async function command(user: string, text: string): Promise<string> {
  const seen = t.emulator.ephemerals(user).length;
  const sent = await t.emulator.slashCommand({ user, channel: CHANNEL, text });
  assert.equal(sent.status, 200);
  return visibleText(await eventually(() => t.emulator.ephemerals(user)[seen], 10_000));
}

function approvalCards() {
  return t.emulator
    .channelMessages(CHANNEL)
    .filter((m) => m.threadTs === undefined && /Scan request/.test(m.text));
}

function requestIdOf(blocks: unknown): string {
  const match =
    /"action_id":"scan_approve"[^}]*?"value":"([^"]+)"|"value":"([^"]+)"[^}]*?"action_id":"scan_approve"/.exec(
      JSON.stringify(blocks),
    );
  return match?.[1] ?? match?.[2] ?? "";
}

/** Waits until the bot's background work has settled: no new Slack traffic for 700 ms (bounded). */
async function quiet(maxMs = 30_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let last = -1;
  for (;;) {
    const now = t.emulator.calls().length + t.emulator.responseUrlPosts().length;
    if (now === last || Date.now() > deadline) return;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
}

interface Sent {
  status: number;
  ms: number;
  /** "timeout" when no answer came within ANSWER_TIMEOUT_MS; the error text when the socket failed. */
  failure?: string;
}

type Signing =
  | { mode: "valid"; timestampSec?: number }
  | { mode: "forged" }
  | { mode: "omitted" }
  | { mode: "tampered" }
  | { mode: "raw"; headers: Record<string, string> };

/** One POST to /slack/events, signed (or not) as `signing` says. */
async function post(body: string, contentType: string, signing: Signing = { mode: "valid" }): Promise<Sent> {
  const secret = t.emulator.signingSecret;
  let headers: Record<string, string> = {};
  if (signing.mode === "valid") headers = slackSignatureHeaders(secret, body, signing.timestampSec);
  else if (signing.mode === "forged") headers = slackSignatureHeaders(`not-${secret}`, body);
  else if (signing.mode === "tampered") headers = slackSignatureHeaders(secret, `${body}&x=1`);
  else if (signing.mode === "raw") headers = signing.headers;
  const started = performance.now();
  try {
    const res = await pool.request({
      path: "/slack/events",
      method: "POST",
      headers: { "content-type": contentType, ...headers },
      body,
      signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
    });
    await res.body.dump();
    return { status: res.statusCode, ms: Math.round(performance.now() - started) };
  } catch (error) {
    const name = (error as Error).name;
    return {
      status: 0,
      ms: Math.round(performance.now() - started),
      failure: name === "TimeoutError" || name === "AbortError" ? "timeout" : String(error),
    };
  }
}

const form = (payload: string) => new URLSearchParams({ payload }).toString();

/** Runs `work` over `items` with bounded concurrency, stopping at `deadline`; returns how many ran. */
async function pooled<T>(
  items: T[],
  concurrency: number,
  deadline: number,
  work: (item: T, i: number) => Promise<void>,
) {
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length || Date.now() > deadline) return;
        await work(items[i] as T, i);
        done++;
      }
    }),
  );
  return done;
}

// ---- generators ----

/** Text a person or an attacker might put anywhere: Slack markup, entities, unicode, control characters. */
const MARKUP = [
  "<!channel>",
  "<!here>",
  "<!everyone>",
  "<@U0HOSTILE>",
  "<@W0HOSTILE|boss>",
  "<!subteam^S0EVIL>",
  "<#C0EVIL>",
  "<https://evil.example|ok>",
  "<mailto:evil@example.com|mail>",
];
const hostileText = fc.oneof(
  fc.constantFrom(...MARKUP),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc
    .array(
      fc.constantFrom(...MARKUP, "&lt;", "&amp;", "*", "_", "`", "\n", "\u0000", "\u202e", " ", "a", "../"),
      {
        maxLength: 12,
      },
    )
    .map((parts) => parts.join("")),
);

/** Users who must NOT get through for an action (roles: alice admin, bob and dave approvers, carol operator). */
const FOREIGN = ["U0FOREIGN", "W0FOREIGN", "U0CRASHBOT", "USLACKBOT", "", "U0ALICE ", " U0ALICE", "u0alice"];
const UNAUTHORIZED: Record<keyof typeof ACTIONS, string[]> = {
  // bob requested the pending one (self-approval is refused) and approved the decided one.
  approve: [PEOPLE.stranger, PEOPLE.operator, PEOPLE.approver, ...FOREIGN],
  // bob may withdraw his own request, so he is not in here.
  deny: [PEOPLE.stranger, PEOPLE.operator, ...FOREIGN],
  stop: [PEOPLE.stranger, ...FOREIGN],
  // No seeded request failed to start, and non-approvers may never retry one.
  retry: [PEOPLE.stranger, PEOPLE.operator, PEOPLE.approver, ...FOREIGN],
  deleteProject: [PEOPLE.stranger, PEOPLE.operator, PEOPLE.approver, PEOPLE.groupApprover, ...FOREIGN],
  // The card's buttons of an ended scan: reports and rescans need a role; the link button does nothing.
  report: [PEOPLE.stranger, ...FOREIGN],
  rescan: [PEOPLE.stranger, ...FOREIGN],
  openScanner: [PEOPLE.stranger, ...FOREIGN],
};
const randomUserId = fc
  .stringMatching(/^[UW][A-Z0-9]{2,12}$/)
  .filter((id) => !Object.values(PEOPLE).includes(id as never));

function valueArb() {
  const real = fc.constantFrom(
    seeded.pendingRequest,
    seeded.decidedRequest,
    seeded.scanId,
    ...seeded.projectIds,
    "00000000-0000-0000-0000-000000000000",
  );
  return fc.oneof(
    { weight: 4, arbitrary: real },
    { weight: 2, arbitrary: fc.tuple(real, hostileText).map(([id, extra]) => `${id}${extra}`) },
    { weight: 2, arbitrary: hostileText },
    {
      weight: 1,
      arbitrary: fc.constantFrom("../../etc/passwd", "*", "%", "' OR 1=1 --", "{{7*7}}", "$(env)"),
    },
    { weight: 1, arbitrary: fc.string({ minLength: 100, maxLength: 5000 }) },
    { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string()), fc.object()) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

/** Extra or replaced top-level fields, as an edited payload might carry. */
const junk = fc.dictionary(
  fc.constantFrom(
    "extra",
    "is_enterprise_install",
    "enterprise",
    "token",
    "api_app_id",
    "state",
    "__proto__x",
  ),
  fc.oneof(fc.jsonValue({ maxDepth: 2 }), hostileText),
  { maxKeys: 3 },
);

interface ClickCase {
  kind: "click";
  action: keyof typeof ACTIONS;
  user: string;
  userName: string;
  value: unknown;
  channel: string | undefined;
  actionTs: string;
  responseUrl: string | undefined;
  teamId: string | undefined;
  junk: Record<string, unknown>;
}
interface ViewCase {
  kind: "view";
  user: string;
  name: unknown;
  url: unknown;
  privateMetadata: unknown;
  junk: Record<string, unknown>;
}

function caseArb(): fc.Arbitrary<ClickCase | ViewCase> {
  const responseUrl = fc.oneof(
    fc.constant(seeded.responseUrl),
    fc.stringMatching(/^[0-9a-f]{1,32}$/).map((id) => `${t.emulator.url}/response/${id}`),
    fc.constant(undefined),
    fc.constant("http://127.0.0.1:1/refused"),
  );
  const click = fc.constantFrom(...(Object.keys(ACTIONS) as Array<keyof typeof ACTIONS>)).chain((action) =>
    fc.record({
      kind: fc.constant("click" as const),
      action: fc.constant(action),
      user: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...UNAUTHORIZED[action]) },
        { weight: 1, arbitrary: randomUserId },
      ),
      userName: fc.oneof(fc.constantFrom("alice", "admin", "bob"), hostileText),
      value: valueArb(),
      channel: fc.oneof(
        fc.constantFrom(CHANNEL, "C0GENERAL", "C0UNKNOWN", "D0DIRECT"),
        fc.constant(undefined),
        hostileText,
      ),
      // Repeated action_ts values double as redeliveries of the same click.
      actionTs: fc.oneof(
        fc.nat({ max: 20_000 }).map((n) => `1700000000.${n}`),
        hostileText,
      ),
      responseUrl,
      teamId: fc.oneof(fc.constant("T0EMULATOR"), fc.constant("T0OTHER"), fc.constant(undefined)),
      junk,
    }),
  );
  const view = fc.record({
    kind: fc.constant("view" as const),
    user: fc.oneof(fc.constantFrom(PEOPLE.stranger, ...FOREIGN), randomUserId),
    name: fc.oneof(hostileText, fc.constantFrom("legit-name", "x"), fc.constant(null), fc.integer()),
    url: fc.oneof(
      hostileText,
      fc.constantFrom("https://ok.example.com", "javascript:alert(1)", "http://127.0.0.1/"),
    ),
    privateMetadata: fc.oneof(
      fc.constant(JSON.stringify({ channel: CHANNEL })),
      hostileText,
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
      fc.constant(undefined),
    ),
    junk,
  });
  return fc.oneof({ weight: 4, arbitrary: click }, { weight: 1, arbitrary: view });
}

function clickPayload(c: ClickCase): Record<string, unknown> {
  const action: Record<string, unknown> = {
    type: "button",
    action_id: ACTIONS[c.action],
    block_id: "actions",
    text: { type: "plain_text", text: "Button" },
    action_ts: c.actionTs,
  };
  if (c.value !== undefined) action.value = c.value;
  return {
    ...c.junk,
    type: "block_actions",
    user: { id: c.user, username: c.userName, name: c.userName, ...(c.teamId ? { team_id: c.teamId } : {}) },
    api_app_id: "A0CRASHTEST",
    container: {
      type: "message",
      message_ts: "1700000000.000100",
      ...(c.channel ? { channel_id: c.channel } : {}),
    },
    trigger_id: "1.2.fuzz",
    team: c.teamId ? { id: c.teamId, domain: "crashtest-dev" } : null,
    ...(c.channel ? { channel: { id: c.channel, name: "security" } } : {}),
    ...(c.responseUrl ? { response_url: c.responseUrl } : {}),
    actions: [action],
  };
}

function viewPayload(c: ViewCase): Record<string, unknown> {
  return {
    ...c.junk,
    type: "view_submission",
    team: { id: "T0EMULATOR", domain: "crashtest-dev" },
    user: { id: c.user, username: "x", name: "x", team_id: "T0EMULATOR" },
    api_app_id: "A0CRASHTEST",
    trigger_id: "1.2.fuzz",
    view: {
      id: seeded.viewId,
      type: "modal",
      callback_id: PROJECT_MODAL,
      ...(c.privateMetadata === undefined ? {} : { private_metadata: c.privateMetadata }),
      state: {
        values: {
          name: { value: { type: "plain_text_input", value: c.name } },
          url: { value: { type: "plain_text_input", value: c.url } },
        },
      },
    },
    response_urls: [],
  };
}

// ---- what must not change ----

const MUTATIONS = ["startScan", "stopScan", "deleteProject", "createProject"] as const;
function scannerMutations(): Record<string, number> {
  return Object.fromEntries(
    MUTATIONS.map((op) => [op, sim.requests.filter((r) => r.operation === op).length]),
  );
}
async function approvalsSnapshot(): Promise<string> {
  const entries = await t.bot.store.entries<{ id: string; status: string; decidedBy?: string }>("approvals");
  return JSON.stringify(entries.map(([id, r]) => [id, r.status, r.decidedBy ?? null]).sort());
}
/** Scans and who asked to stop them (the state itself moves on with the watcher's polls). */
async function scanSnapshot(): Promise<string> {
  const entries = await t.bot.store.entries<ScanRecord>("scans");
  return JSON.stringify(entries.map(([id, s]) => [id, s.stopRequestedBy ?? null]).sort());
}

function assertNoNewUnhandled(since: number, what: string) {
  assert.deepEqual(
    unhandled.slice(since).map((e) =>
      String((e as Error)?.stack ?? e)
        .split("\n")
        .slice(0, 3)
        .join(" | "),
    ),
    [],
    `unhandled rejections during ${what}`,
  );
}

// ---- the properties ----

test("forged, replayed (over 5 min), tampered and unsigned requests are rejected with 401 and do nothing", async (tc) => {
  await slackQuiet(t.emulator);
  const before = {
    calls: t.emulator.calls().length,
    posts: t.emulator.responseUrlPosts().length,
    sim: sim.requests.length,
  };
  const logged = t.logs.records().filter((r) => r.msg === "slash command").length;
  const bodies = [
    new URLSearchParams({
      command: "/crashtest",
      text: "scan start web",
      user_id: PEOPLE.admin,
      channel_id: CHANNEL,
      team_id: "T0EMULATOR",
      response_url: seeded.responseUrl,
      trigger_id: "1.2.3",
    }).toString(),
    form(
      JSON.stringify(
        clickPayload({
          kind: "click",
          action: "approve",
          user: PEOPLE.admin,
          userName: "alice",
          value: seeded.pendingRequest,
          channel: CHANNEL,
          actionTs: "1700000001.1",
          responseUrl: seeded.responseUrl,
          teamId: "T0EMULATOR",
          junk: {},
        }),
      ),
    ),
    form(
      JSON.stringify(
        clickPayload({
          kind: "click",
          action: "deleteProject",
          user: PEOPLE.admin,
          userName: "alice",
          value: "102",
          channel: CHANNEL,
          actionTs: "1700000001.2",
          responseUrl: seeded.responseUrl,
          teamId: "T0EMULATOR",
          junk: {},
        }),
      ),
    ),
  ];
  const now = Math.floor(Date.now() / 1000);
  const signings: Array<[string, Signing]> = [
    ["forged (wrong secret)", { mode: "forged" }],
    ["unsigned", { mode: "omitted" }],
    ["tampered body", { mode: "tampered" }],
    ["replayed 5 min 1 s later", { mode: "valid", timestampSec: now - 301 }],
    ["replayed 1 h later", { mode: "valid", timestampSec: now - 3600 }],
    ["replayed a day later", { mode: "valid", timestampSec: now - 86_400 }],
    ["signature without timestamp", { mode: "raw", headers: { "x-slack-signature": "v0=00" } }],
    [
      "timestamp not a number",
      { mode: "raw", headers: { "x-slack-signature": "v0=00", "x-slack-request-timestamp": "soon" } },
    ],
    [
      "v1 signature",
      { mode: "raw", headers: { "x-slack-signature": "v1=abc", "x-slack-request-timestamp": String(now) } },
    ],
  ];
  let tried = 0;
  for (const body of bodies) {
    for (const [label, signing] of signings) {
      const sent = await post(body, "application/x-www-form-urlencoded", signing);
      assert.equal(sent.status, 401, `${label}: ${JSON.stringify(sent)}`);
      tried++;
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.deepEqual(
    t.emulator
      .calls()
      .slice(before.calls)
      .map((c) => c.method),
    [],
    "no Slack call for a rejected request",
  );
  assert.equal(t.emulator.responseUrlPosts().length, before.posts);
  assert.equal(sim.requests.length, before.sim, "no scanner call for a rejected request");
  assert.equal(t.logs.records().filter((r) => r.msg === "slash command").length, logged);
  tc.diagnostic(`${tried} forged/replayed/tampered/unsigned requests, all 401, no effect`);
});

test(`${RUNS} generated button and view payloads: always answered, never authorized, nothing changes`, async (tc) => {
  const unhandledBefore = unhandled.length;
  const mutationsBefore = scannerMutations();
  const approvalsBefore = await approvalsSnapshot();
  const scansBefore = await scanSnapshot();
  const logsBefore = t.logs.lines.length;
  const cases = fc.sample(caseArb(), { numRuns: RUNS, seed: SEED });
  const statuses = new Map<number, number>();
  const bad: Array<{ index: number; sent: Sent; input: ClickCase | ViewCase }> = [];
  let slowest = 0;
  const started = Date.now();
  const ran = await pooled(cases, CONCURRENCY, started + BULK_WALL_MS, async (input, index) => {
    const payload = input.kind === "click" ? clickPayload(input) : viewPayload(input);
    const sent = await post(form(JSON.stringify(payload)), "application/x-www-form-urlencoded");
    statuses.set(sent.status, (statuses.get(sent.status) ?? 0) + 1);
    slowest = Math.max(slowest, sent.ms);
    if (sent.status < 200 || sent.status >= 500) bad.push({ index, sent, input });
  });
  await quiet();
  const elapsed = Date.now() - started;
  tc.diagnostic(
    `seed ${SEED}: ${ran} of ${cases.length} cases over HTTP in ${Math.round(elapsed / 1000)} s (${Math.round(ran / (elapsed / 1000))}/s, concurrency ${CONCURRENCY}); statuses ${JSON.stringify(Object.fromEntries(statuses))}; slowest answer ${slowest} ms`,
  );
  const problems = new Map<string, number>();
  for (const line of t.logs.lines.slice(logsBefore)) {
    const record = JSON.parse(line) as { level: string; msg: string; kind?: string };
    if (record.level === "error" || record.level === "warn") {
      const key = `${record.level}: ${record.msg}${record.kind ? ` (${record.kind})` : ""}`;
      problems.set(key, (problems.get(key) ?? 0) + 1);
    }
  }
  tc.diagnostic(`warnings and errors logged: ${JSON.stringify(Object.fromEntries(problems))}`);
  // Background work may only fail where a hostile payload named a channel or user Slack does not know:
  // the fallback ephemeral reply is refused. Anything else (a TypeError, a store error) is a bug.
  const unexpected = t.logs
    .records()
    .slice(logsBefore)
    .filter((r) => r.level === "error")
    .filter(
      (r) =>
        !(
          r.msg === "background task failed" &&
          /^chat\.postEphemeral/.test(String((r.error as { message?: string })?.message))
        ),
    );
  assert.deepEqual(unexpected.slice(0, 3), [], `${unexpected.length} unexpected errors logged`);
  if (ran < cases.length)
    tc.diagnostic(
      `wall-time bound of ${BULK_WALL_MS / 1000} s reached: ${cases.length - ran} cases not sent`,
    );
  assert.deepEqual(bad.slice(0, 5), [], `${bad.length} inputs not answered with 2xx/4xx (first five shown)`);
  assert.deepEqual(
    scannerMutations(),
    mutationsBefore,
    "no scanner start/stop/delete/create reached the simulator",
  );
  assert.equal(await approvalsSnapshot(), approvalsBefore, "no approval changed state");
  assert.equal(await scanSnapshot(), scansBefore, "no scan changed (no stop request recorded)");
  assertNoNewUnhandled(unhandledBefore, "the bulk run");
  assert.ok(ran >= Math.min(cases.length, 1000), "the bulk run made progress");
});

test("structurally broken but validly signed payloads: answered 2xx/4xx within 5 s, no unhandled rejection", async (tc) => {
  const unhandledBefore = unhandled.length;
  const ok = clickPayload({
    kind: "click",
    action: "approve",
    user: PEOPLE.stranger,
    userName: "m",
    value: seeded.pendingRequest,
    channel: CHANNEL,
    actionTs: "1700000002.1",
    responseUrl: seeded.responseUrl,
    teamId: "T0EMULATOR",
    junk: {},
  });
  const without = (key: string) => Object.fromEntries(Object.entries(ok).filter(([k]) => k !== key));
  const shapes: Array<[string, string, string]> = [
    ["payload not JSON", form("{not json"), "application/x-www-form-urlencoded"],
    ["payload an array", form("[1,2]"), "application/x-www-form-urlencoded"],
    ["payload a number", form("42"), "application/x-www-form-urlencoded"],
    ["payload a string", form('"block_actions"'), "application/x-www-form-urlencoded"],
    ["payload {}", form("{}"), "application/x-www-form-urlencoded"],
    ["no payload field", "foo=bar", "application/x-www-form-urlencoded"],
    ["empty body", "", "application/x-www-form-urlencoded"],
    ["empty JSON object", "{}", "application/json"],
    ["text/plain body", "hello", "text/plain"],
    ["without user", form(JSON.stringify(without("user"))), "application/x-www-form-urlencoded"],
    ["user null", form(JSON.stringify({ ...ok, user: null })), "application/x-www-form-urlencoded"],
    ["user without id", form(JSON.stringify({ ...ok, user: {} })), "application/x-www-form-urlencoded"],
    [
      "user id a number",
      form(JSON.stringify({ ...ok, user: { id: 7 } })),
      "application/x-www-form-urlencoded",
    ],
    ["without actions", form(JSON.stringify(without("actions"))), "application/x-www-form-urlencoded"],
    ["actions empty", form(JSON.stringify({ ...ok, actions: [] })), "application/x-www-form-urlencoded"],
    [
      "actions of strings",
      form(JSON.stringify({ ...ok, actions: ["x"] })),
      "application/x-www-form-urlencoded",
    ],
    [
      "unknown action_id",
      form(JSON.stringify({ ...ok, actions: [{ action_id: "nope", action_ts: "1.1" }] })),
      "application/x-www-form-urlencoded",
    ],
    ["unknown type", form(JSON.stringify({ ...ok, type: "weird" })), "application/x-www-form-urlencoded"],
    [
      "view without state",
      form(
        JSON.stringify({
          type: "view_submission",
          user: { id: PEOPLE.stranger },
          view: { callback_id: PROJECT_MODAL },
        }),
      ),
      "application/x-www-form-urlencoded",
    ],
    [
      "view state values null",
      form(
        JSON.stringify({
          type: "view_submission",
          user: { id: PEOPLE.stranger },
          view: { callback_id: PROJECT_MODAL, state: { values: null } },
        }),
      ),
      "application/x-www-form-urlencoded",
    ],
    [
      "slash command without user",
      new URLSearchParams({ command: "/crashtest", text: "help", channel_id: CHANNEL }).toString(),
      "application/x-www-form-urlencoded",
    ],
    [
      "another slash command",
      new URLSearchParams({ command: "/other", text: "x", user_id: PEOPLE.stranger }).toString(),
      "application/x-www-form-urlencoded",
    ],
    [
      "1 MB button value",
      form(
        JSON.stringify({
          ...ok,
          actions: [{ ...(ok.actions as object[])[0], value: "x".repeat(1_000_000) }],
        }),
      ),
      "application/x-www-form-urlencoded",
    ],
  ];
  const results = await Promise.all(
    shapes.map(async ([label, body, type]) => ({ label, sent: await post(body, type) })),
  );
  await quiet();
  for (const { label, sent } of results)
    tc.diagnostic(`${label}: ${sent.failure ?? sent.status} (${sent.ms} ms)`);
  const wrong = results.filter(({ sent }) => sent.status < 200 || sent.status >= 500);
  assert.deepEqual(
    wrong.map(({ label, sent }) => `${label}: ${sent.failure ?? sent.status}`),
    [],
    "every input is answered 2xx/4xx within 5 s",
  );
  assertNoNewUnhandled(unhandledBefore, "the broken payloads");
});

/**
 * Bolt's HTTPReceiver reads `body.ssl_check` outside its try/catch, so a signed `null` body (only
 * Slack, holding the signing secret, could send one) rejects unhandled and gets no answer. What the
 * bot guarantees: the process logs it and keeps serving.
 */
test("a validly signed body of null (form payload or JSON) does not kill the bot, which keeps answering", async (tc) => {
  // The real process (node --import tsx src/main.ts): Node's default for an unhandled rejection is to exit.
  const child = await ChildBot.start({
    SLACK_BOT_TOKEN: t.emulator.botToken,
    SLACK_SIGNING_SECRET: t.emulator.signingSecret,
    SLACK_API_URL: t.emulator.apiUrl,
    PORT: "0",
    STORE_URL: "memory://",
    SCANNER: "simulator",
  });
  tc.after(() => child.kill());
  const outcomes: string[] = [];
  for (const [label, body, type] of [
    ["form payload=null", form("null"), "application/x-www-form-urlencoded"],
    ["JSON null", "null", "application/json"],
  ] as const) {
    let answer: string;
    try {
      const res = await fetch(`http://127.0.0.1:${child.port}/slack/events`, {
        method: "POST",
        headers: { "content-type": type, ...slackSignatureHeaders(t.emulator.signingSecret, body) },
        body,
        signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
      });
      answer = String(res.status);
    } catch (error) {
      answer = `no answer (${(error as Error).name})`;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const alive = child.child.exitCode === null && child.child.signalCode === null;
    outcomes.push(`${label}: ${answer}, process ${alive ? "alive" : `exited (${child.child.exitCode})`}`);
    if (!alive) break;
  }
  for (const outcome of outcomes) tc.diagnostic(outcome);
  assert.deepEqual(
    outcomes.filter((o) => !/, process alive$/.test(o)),
    [],
    "still running",
  );
  assert.match(child.raw, /unhandled promise rejection; the bot keeps running/);
  const health = await fetch(`http://127.0.0.1:${child.port}/healthz`);
  assert.equal(health.status, 200, "still serving");
});

/** Every mrkdwn text and message fallback text in what the bot sent (plain_text fields are inert by Slack's rules). */
function renderedTexts(): Array<{ where: string; text: string }> {
  const out: Array<{ where: string; text: string }> = [];
  const walk = (value: unknown, where: string): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item, where);
      return;
    }
    if (value === null || typeof value !== "object") return;
    const object = value as Record<string, unknown>;
    if (object.type === "mrkdwn" && typeof object.text === "string") out.push({ where, text: object.text });
    for (const inner of Object.values(object)) if (typeof inner === "object") walk(inner, where);
  };
  const message = (body: Record<string, unknown>, where: string) => {
    if (typeof body.text === "string" && body.mrkdwn !== false)
      out.push({ where: `${where} (fallback text)`, text: body.text });
    walk(body.blocks, where);
    walk(body.attachments, where);
  };
  for (const call of t.emulator.calls()) {
    if (call.method.startsWith("chat.")) message(call.args, call.method);
    else if (call.method.startsWith("views.")) walk(call.args.view, call.method);
    else if (call.method.startsWith("files.")) {
      if (typeof call.args.initial_comment === "string")
        out.push({ where: call.method, text: call.args.initial_comment });
    }
  }
  for (const posted of t.emulator.responseUrlPosts()) message(posted.body, "response_url");
  for (const delivery of t.emulator.deliveries()) {
    try {
      const ack = JSON.parse(delivery.body) as Record<string, unknown>;
      if (ack.response_action === undefined) message(ack, `ack of ${delivery.type}`);
      else walk(ack.view, `ack of ${delivery.type}`);
    } catch {
      if (delivery.body !== "") out.push({ where: `ack of ${delivery.type}`, text: delivery.body });
    }
  }
  return out;
}

const LIVE_MARKUP =
  /<!channel>|<!here>|<!everyone>|<@[UW]0HOSTILE|<!subteam\^S0EVIL|<#C0EVIL|<https:\/\/evil\.example|<mailto:evil/;

test("user text with <!channel>, <@U…>, <https://evil|ok> is inert in everything the bot posts", async (tc) => {
  const unhandledBefore = unhandled.length;
  const texts = fc.sample(
    hostileText.filter((s) => s.trim() !== ""),
    { numRuns: 40, seed: SEED + 1 },
  );
  const forms = (h: string): Array<[string, string]> => [
    [PEOPLE.operator, `scan start ${h}`],
    [PEOPLE.operator, `scan ${h}`],
    [PEOPLE.operator, `project create ${h} https://x.example.com`],
    [PEOPLE.operator, `project create ok-name ${h}`],
    [PEOPLE.operator, `scan status ${h}`],
    [PEOPLE.operator, `scan status ${seeded.scanId} ${h}`],
    [PEOPLE.operator, `scan stop ${h}`],
    [PEOPLE.operator, `report ${h}`],
    [PEOPLE.operator, `report ${seeded.scanId} ${h}`],
    [PEOPLE.operator, `help ${h}`],
    [PEOPLE.operator, h],
    [PEOPLE.admin, `link 9999 ${h}`],
    [PEOPLE.admin, `link ${h}`],
    [PEOPLE.admin, `project delete ${h}`],
    [PEOPLE.stranger, `project create ${h} ${h}`],
  ];
  const commands = [...MARKUP.flatMap(forms), ...texts.flatMap(forms)];
  const deadline = Date.now() + 60_000;
  const statuses: number[] = [];
  await pooled(commands, 4, deadline, async ([user, text]) => {
    const sent = await t.emulator.slashCommand({ user, channel: CHANNEL, text });
    statuses.push(sent.status);
  });
  // The same text through the modal (an operator's submissions).
  const views = [...MARKUP, ...texts].map((h) =>
    viewPayload({
      kind: "view",
      user: PEOPLE.operator,
      name: h,
      url: h,
      privateMetadata: JSON.stringify({ channel: CHANNEL }),
      junk: {},
    }),
  );
  await pooled(views, 4, deadline, async (payload) => {
    statuses.push((await post(form(JSON.stringify(payload)), "application/x-www-form-urlencoded")).status);
  });
  await quiet();
  await command(PEOPLE.admin, "audit 50");
  await t.emulator.homeOpened(PEOPLE.operator);
  await quiet();
  const rendered = renderedTexts();
  const live = rendered.filter(({ text }) => LIVE_MARKUP.test(text));
  tc.diagnostic(
    `${commands.length} commands and ${views.length} modal submissions with markup; ${rendered.length} rendered texts checked`,
  );
  const byToken = new Map<string, number>();
  for (const hit of live) {
    for (const token of hit.text.match(new RegExp(LIVE_MARKUP.source, "g")) ?? [])
      byToken.set(token, (byToken.get(token) ?? 0) + 1);
  }
  if (live.length > 0) tc.diagnostic(`live markup by token: ${JSON.stringify(Object.fromEntries(byToken))}`);
  const shown = new Set<string>();
  for (const hit of live) {
    const key = `${hit.where}:${hit.text.slice(0, 30)}`;
    if (shown.has(key) || shown.size >= 6) continue;
    shown.add(key);
    tc.diagnostic(`LIVE in ${hit.where}: ${JSON.stringify(hit.text.slice(0, 200))}`);
  }
  assert.ok(
    statuses.every((s) => s === 200),
    "every command and submission acked",
  );
  assert.deepEqual(
    [...new Set(live.map((hit) => hit.where))],
    [],
    `${live.length} rendered texts carry live markup from user input`,
  );
  assertNoNewUnhandled(unhandledBefore, "the markup run");
});

test("a user ID equal to a configured user group ID is not an approver", async () => {
  // Slack never sends an S… ID as a user, but a signed payload can carry anything; roles must match
  // user IDs as users and group IDs only through membership.
  const mutationsBefore = scannerMutations();
  const approvalsBefore = await approvalsSnapshot();
  const payload = clickPayload({
    kind: "click",
    action: "approve",
    user: "S0APPROVERS",
    userName: "approvers",
    value: seeded.pendingRequest,
    channel: CHANNEL,
    actionTs: "1700000003.1",
    responseUrl: seeded.responseUrl,
    teamId: "T0EMULATOR",
    junk: {},
  });
  const sent = await post(form(JSON.stringify(payload)), "application/x-www-form-urlencoded");
  assert.equal(sent.status, 200);
  await quiet();
  assert.equal(await approvalsSnapshot(), approvalsBefore, "the pending request is still pending");
  assert.deepEqual(scannerMutations(), mutationsBefore, "no scan started");
});

test("secrets never appear in logs, messages, errors or button values", async (tc) => {
  const secrets: Record<string, string> = {
    SLACK_BOT_TOKEN: t.emulator.botToken,
    SLACK_SIGNING_SECRET: t.emulator.signingSecret,
    CRASHTEST_API_KEY: sim.apiKey,
    VERACODE_API_KEY_ID: keys.apiKeyId,
    VERACODE_API_KEY_SECRET: keys.apiKeySecret,
    "VERACODE key ID (hex)": keys.apiId,
    "VERACODE secret (hex)": keys.secretHex,
  };
  const alerts = t.emulator.channelMessages(CHANNEL).filter((m) => /credential|expire/i.test(m.text));
  const haystacks: Record<string, string> = {
    "Web API call arguments (messages, blocks, button values, views, files)": JSON.stringify(
      t.emulator.calls().map((c) => ({ method: c.method, args: c.args, response: c.response })),
    ),
    "response_url posts": JSON.stringify(t.emulator.responseUrlPosts()),
    "acks (HTTP answers to Slack)": JSON.stringify(t.emulator.deliveries().map((d) => d.body)),
    "stored messages and views": JSON.stringify([
      t.emulator.channelMessages(CHANNEL),
      Object.values(PEOPLE).map((u) => [t.emulator.ephemerals(u), t.emulator.views(u)]),
    ]),
    "log lines": t.logs.text(),
  };
  const leaks: string[] = [];
  for (const [secretName, value] of Object.entries(secrets)) {
    for (const [where, text] of Object.entries(haystacks))
      if (text.includes(value)) leaks.push(`${secretName} in ${where}`);
  }
  tc.diagnostic(
    `${Object.keys(secrets).length} secrets checked in ${t.emulator.calls().length} Web API calls, ${t.emulator.responseUrlPosts().length} response_url posts, ${t.emulator.deliveries().length} acks, ${t.logs.lines.length} log lines; credential alerts posted: ${alerts.length}`,
  );
  assert.ok(alerts.length > 0, "the Veracode credential check ran and alerted (its path is covered)");
  assert.ok(t.logs.lines.length > 1000, "the logs saw the whole run");
  assert.deepEqual(leaks, []);
});
