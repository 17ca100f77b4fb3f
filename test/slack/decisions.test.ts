import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { webApi } from "@slack/bolt";
import { AuditTrail } from "../../src/domain/audit.js";
import { Authorizer } from "../../src/domain/authz.js";
import { type DecisionRequest, FindingDecisionService } from "../../src/domain/findings/decisions.js";
import { HistoryRecords } from "../../src/domain/findings/history-records.js";
import { ProjectRegistry } from "../../src/domain/projects.js";
import { ScanBook } from "../../src/domain/scan-record.js";
import { decisionExpiryJob } from "../../src/scheduler/decision-job.js";
import { message } from "../../src/slack/blocks/common.js";
import { DECISION_ACTIONS, decisionButtons, decisionMenu } from "../../src/slack/blocks/decisions.js";
import { findingsSummaryMessage } from "../../src/slack/blocks/findings.js";
import { decisionNotices } from "../../src/slack/decision-actions.js";
import { SlackGateway } from "../../src/slack/gateway.js";
import {
  clickFor,
  eventually,
  PEOPLE,
  SURFACE_EMULATOR,
  SURFACE_ENV,
  startTestBot,
  type TestBot,
  visibleText,
} from "../support/bot.js";

/** Accept risk / False positive through signed requests: the real bot against the Slack emulator. */

const CHANNEL = "C0SECURITY";
const FINGERPRINT = "crashtest:sqli:/login:user:POST";
let now = Date.UTC(2026, 10, 1, 12);
const clock = { now: () => now };
let t: TestBot;
let client: webApi.WebClient;
let projectId: string;

before(async () => {
  t = await startTestBot({ env: SURFACE_ENV, emulator: SURFACE_EMULATOR, clock });
  client = new webApi.WebClient(t.emulator.botToken, {
    slackApiUrl: t.emulator.apiUrl,
    retryConfig: webApi.retryPolicies.rapidRetryPolicy,
  });
  const seen = t.emulator.ephemerals(PEOPLE.operator).length;
  await t.emulator.slashCommand({
    user: PEOPLE.operator,
    channel: CHANNEL,
    text: "project create web-shop https://shop.example.com",
  });
  await eventually(() => t.emulator.ephemerals(PEOPLE.operator)[seen]);
  const [project] = await new ProjectRegistry(t.bot.store, clock).list();
  assert.ok(project);
  projectId = project.id;
  // The decisions ask findings history what a finding is: the findings below were seen by a scan.
  const history = new HistoryRecords(t.bot.store, 365 * 86_400_000);
  const prints = [
    FINGERPRINT,
    "crashtest:xss:/search:q:GET",
    "crashtest:csrf:/admin::POST",
    "crashtest:redelivered:/x::GET",
  ];
  await history.saveScan({
    v: 1,
    scanId: "seen-1",
    projectId,
    endedAt: now,
    findings: prints.map((print) => [print, 1, 0, print]),
  });
  const entry = {
    scanId: "seen-1",
    outcome: "finished" as const,
    endedAt: now,
    durationMs: 1,
    total: prints.length,
  };
  await history.addToIndex(projectId, entry, now, "test");
});
after(() => t.close());

/** A findings list as the bot would post it: one finding with its decision buttons and menu. */
async function postFinding(fingerprint = FINGERPRINT): Promise<string> {
  const menu = decisionMenu(projectId, fingerprint);
  assert.ok(menu, "the IDs fit an overflow option");
  const list = message("Findings of web-shop", [
    { type: "section", text: { type: "mrkdwn", text: "*SQL injection* (high)" }, accessory: menu },
    { type: "actions", elements: decisionButtons(projectId, fingerprint) },
  ]);
  const posted = await client.chat.postMessage({ channel: CHANNEL, text: list.text, blocks: list.blocks });
  return String(posted.ts);
}

const press = (user: string, messageTs: string, actionId: string, value?: string) =>
  clickFor(t, { user, channel: CHANNEL, messageTs, actionId, ...(value ? { value } : {}) });

const stored = async () =>
  (await t.bot.store.entries<DecisionRequest>("finding-decisions")).map(([, r]) => r);

async function requestThroughForm(
  actionId: string,
  values: Record<string, Record<string, string>>,
  fingerprint = FINGERPRINT,
) {
  const ts = await postFinding(fingerprint);
  const views = t.emulator.views(PEOPLE.operator).length;
  await press(PEOPLE.operator, ts, actionId);
  const view = await eventually(() => t.emulator.views(PEOPLE.operator)[views]);
  const seen = t.emulator.ephemerals(PEOPLE.operator).length;
  const cards = t.emulator.channelMessages(CHANNEL).length;
  const submitted = await t.emulator.submitView({ user: PEOPLE.operator, viewId: view.id, values });
  assert.equal(submitted.status, 200);
  const reply = visibleText(await eventually(() => t.emulator.ephemerals(PEOPLE.operator)[seen]));
  const card = await eventually(() =>
    t.emulator
      .channelMessages(CHANNEL)
      .slice(cards)
      .find((m) => /request in web-shop/.test(m.text)),
  );
  return { view, reply, card };
}

describe("accept risk", () => {
  let card: { ts: string };

  test("the button opens the form; a short reason keeps it open with the field's error", async () => {
    const ts = await postFinding();
    await press(PEOPLE.operator, ts, DECISION_ACTIONS.accept);
    const view = await eventually(() => t.emulator.views(PEOPLE.operator).at(-1));
    assert.match(JSON.stringify(view.view), /Accept risk/);
    assert.match(JSON.stringify(view.view), /180 days/);
    await t.emulator.submitView({
      user: PEOPLE.operator,
      viewId: view.id,
      values: { reason: { value: "ok" }, expiry: { value: "30" } },
    });
    const kept = t.emulator.views(PEOPLE.operator).find((v) => v.id === view.id);
    assert.ok(kept?.open, "the modal stays open");
    assert.match(kept?.errors?.reason ?? "", /10 to 500 characters/);
    await t.emulator.closeView({ user: PEOPLE.operator, viewId: view.id });
  });

  test("submitting posts the request card with Approve and Deny; the requester is told where", async () => {
    const result = await requestThroughForm(DECISION_ACTIONS.accept, {
      reason: { value: "WAF rule 942100 blocks this until the rewrite ships" },
      expiry: { value: "30" },
    });
    card = result.card;
    assert.match(result.reply, /Asked for approval of this risk acceptance/);
    const text = visibleText(result.card);
    assert.match(text, /Risk acceptance request/);
    assert.match(text, /WAF rule 942100/);
    assert.match(text, /for 30 days once approved/);
    assert.match(text, new RegExp(`<@${PEOPLE.operator}>`));
    const [request] = (await stored()).filter((r) => r.status === "pending");
    assert.equal(request?.projectId, projectId);
    assert.equal(request?.fingerprint, FINGERPRINT);
    assert.equal(request?.card?.ts, result.card.ts, "the card is remembered");
  });

  test("the requester cannot approve; the refusal is audited", async () => {
    const self = await press(PEOPLE.operator, card.ts, DECISION_ACTIONS.approve);
    assert.match(await self.answer(), /not allowed to approve risk acceptances/);
    // The bot writes its audit batch within 200 ms.
    await eventually(async () => {
      const { entries } = await new AuditTrail(t.bot.store, clock).query({
        action: "finding.decision.approve",
        limit: 5,
      });
      return entries.some((e) => e.user === PEOPLE.operator && e.outcome === "denied");
    });
  });

  test("two approvers at once: the first decision wins, the other learns it", async () => {
    const [bob, alice] = await Promise.all([
      press(PEOPLE.approver, card.ts, DECISION_ACTIONS.approve),
      press(PEOPLE.admin, card.ts, DECISION_ACTIONS.deny),
    ]);
    const updated = await eventually(() => {
      const latest = t.emulator.message(CHANNEL, card.ts);
      const text = visibleText(latest?.versions.at(-1));
      return /Approved by|Denied by/.test(text) ? text : undefined;
    });
    const thread = await eventually(() =>
      t.emulator.thread(CHANNEL, card.ts).find((m) => /by <@/.test(m.text)),
    );
    const winner = /Approved/.test(updated) ? PEOPLE.approver : PEOPLE.admin;
    const loser = winner === PEOPLE.approver ? alice : bob;
    assert.match(await loser.answer(), /already (approved|denied) by <@/);
    assert.match(thread.text, new RegExp(`by <@${winner}>`));
    const decided = (await stored()).find((r) => r.card?.ts === card.ts);
    assert.equal(decided?.decidedBy, winner);
  });

  test("a forged button value is refused", async () => {
    const ts = await postFinding();
    const forged = await press(PEOPLE.operator, ts, DECISION_ACTIONS.accept, '{"p":"1","f":"<!channel>"}');
    assert.match(await forged.answer(), /not valid any more/);
  });
});

test("Review findings on a scan's summary lists the project's open findings, each with the menu", async () => {
  await new ScanBook(t.bot.store, clock).started({
    scanId: "seen-1",
    projectId,
    projectName: "web-shop",
    targetUrl: "https://shop.example.com",
    backend: "simulator",
    requestedBy: PEOPLE.operator,
    channel: CHANNEL,
    state: "finished",
    startedAt: now,
    updatedAt: now,
  });
  const summary = findingsSummaryMessage(
    { scanId: "seen-1", projectName: "web-shop" },
    {
      counts: { critical: 0, high: 1, medium: 0, low: 0, info: 0 },
      total: 1,
      findings: [{ title: "SQL injection", severity: "high", category: "sqli" }],
    },
  );
  const posted = await client.chat.postMessage({
    channel: CHANNEL,
    text: summary.text,
    blocks: summary.blocks,
  });
  const review = await press(PEOPLE.operator, String(posted.ts), DECISION_ACTIONS.review);
  const list = await eventually(() => t.emulator.ephemerals(PEOPLE.operator)[review.seen]);
  assert.match(JSON.stringify(list.blocks), new RegExp(DECISION_ACTIONS.menu), "the menu is on the findings");
  const views = t.emulator.views(PEOPLE.operator).length;
  await t.emulator.click({
    user: PEOPLE.operator,
    channel: CHANNEL,
    messageTs: list.ts,
    actionId: DECISION_ACTIONS.menu,
    blockId: `finding:${FINGERPRINT}`,
  });
  const view = await eventually(() => t.emulator.views(PEOPLE.operator)[views]);
  assert.match(JSON.stringify(view.view), /Accept risk/);
  await t.emulator.closeView({ user: PEOPLE.operator, viewId: view.id });
  const stranger = await press(PEOPLE.stranger, String(posted.ts), DECISION_ACTIONS.review);
  assert.match(await stranger.answer(), /not allowed to download scan reports/);
});

test("a redelivered press runs once", async () => {
  const ts = await postFinding("crashtest:redelivered:/x::GET");
  const views = t.emulator.views(PEOPLE.operator).length;
  const sent = await t.emulator.click({
    user: PEOPLE.operator,
    channel: CHANNEL,
    messageTs: ts,
    actionId: DECISION_ACTIONS.falsePositive,
  });
  await t.emulator.redeliver(sent, { retryNum: 1, retryReason: "http_timeout" });
  await eventually(() => t.emulator.views(PEOPLE.operator)[views]);
  await eventually(() => t.logs.records().some((r) => r.msg === "duplicate click delivery ignored"));
  assert.equal(t.emulator.views(PEOPLE.operator).length, views + 1, "one form");
});

test("presses by the wrong people or with edited values change nothing and are answered", async () => {
  const { card } = await requestThroughForm(
    DECISION_ACTIONS.falsePositive,
    { reason: { value: "Static page, the parameter is ignored" } },
    "crashtest:redelivered:/x::GET",
  );
  const attempts: Array<[string, string, string | undefined, RegExp]> = [
    [PEOPLE.stranger, DECISION_ACTIONS.approve, undefined, /not allowed to approve/],
    [PEOPLE.stranger, DECISION_ACTIONS.deny, undefined, /not allowed to approve/],
    [PEOPLE.operator, DECISION_ACTIONS.approve, undefined, /not allowed to approve/],
    [PEOPLE.approver, DECISION_ACTIONS.approve, "00000000-0000-4000-8000-000000000000", /no longer exists/],
    [PEOPLE.approver, DECISION_ACTIONS.approve, "../../approvals", /not valid any more/],
    [PEOPLE.approver, DECISION_ACTIONS.deny, "x".repeat(1999), /not valid any more/],
  ];
  for (const [user, actionId, value, expected] of attempts) {
    const attempt = await press(user, card.ts, actionId, value);
    assert.match(await attempt.answer(), expected, `${user} ${actionId} ${value?.slice(0, 20)}`);
  }
  const request = (await stored()).find((r) => r.card?.ts === card.ts);
  assert.equal(request?.status, "pending", "nothing was decided");
  // The requester withdraws it, which is allowed.
  await press(PEOPLE.operator, card.ts, DECISION_ACTIONS.deny);
  await eventually(async () =>
    (await stored()).find((r) => r.card?.ts === card.ts && r.status === "withdrawn"),
  );
});

describe("false positive", () => {
  test("from the finding's menu: reason only, approved by a second person, never expires", async () => {
    const ts = await postFinding("crashtest:xss:/search:q:GET");
    const views = t.emulator.views(PEOPLE.operator).length;
    const menu = decisionMenu(projectId, "crashtest:xss:/search:q:GET");
    await press(PEOPLE.operator, ts, DECISION_ACTIONS.menu, menu?.options[1]?.value);
    const view = await eventually(() => t.emulator.views(PEOPLE.operator)[views]);
    assert.match(JSON.stringify(view.view), /False positive/);
    assert.doesNotMatch(JSON.stringify(view.view), /180 days/);
    const cards = t.emulator.channelMessages(CHANNEL).length;
    await t.emulator.submitView({
      user: PEOPLE.operator,
      viewId: view.id,
      values: { reason: { value: "The q parameter is echoed into a JSON API, never HTML" } },
    });
    const card = await eventually(() =>
      t.emulator
        .channelMessages(CHANNEL)
        .slice(cards)
        .find((m) => /False positive request/.test(visibleText(m))),
    );
    const approved = await press(PEOPLE.groupApprover, card.ts, DECISION_ACTIONS.approve);
    await eventually(() =>
      /false positive from now on/.test(visibleText(t.emulator.thread(CHANNEL, card.ts).at(-1))),
    );
    assert.equal(t.emulator.ephemerals(PEOPLE.groupApprover).length, approved.seen, "no error");
  });
});

test("the expiry line goes to the channel once across two job instances, after downtime", async () => {
  const { card } = await requestThroughForm(
    DECISION_ACTIONS.accept,
    { reason: { value: "Only reachable from the admin VPN" }, expiry: { value: "30" } },
    "crashtest:csrf:/admin::POST",
  );
  await press(PEOPLE.approver, card.ts, DECISION_ACTIONS.approve);
  await eventually(async () =>
    (await stored()).find((r) => r.card?.ts === card.ts && r.status === "approved"),
  );
  // The bot was down when the 30 days ran out; two replicas come back at once.
  now += 45 * 86_400_000;
  const slack = new SlackGateway(client);
  const replica = () => {
    const audit = new AuditTrail(t.bot.store, clock);
    const decisions = new FindingDecisionService({
      store: t.bot.store,
      clock,
      authz: new Authorizer(
        { admins: [], approvers: [], operators: [], allowedChannels: [] },
        async () => [],
      ),
      projects: new ProjectRegistry(t.bot.store, clock),
      audit,
      audience: { approverCanSee: async () => true },
      policy: { approvalTtlMs: 3600_000 },
    });
    return decisionExpiryJob({
      decisions,
      projects: new ProjectRegistry(t.bot.store, clock),
      store: t.bot.store,
      clock,
      audit,
      logger: t.logs.logger,
      notices: decisionNotices({ slack, logger: t.logs.logger, notifications: { approval: async () => 0 } }),
    });
  };
  const before = t.emulator.channelMessages(CHANNEL).length;
  await Promise.all([replica().run(), replica().run()]);
  await replica().run();
  const lines = t.emulator
    .channelMessages(CHANNEL)
    .slice(before)
    .filter((m) => /Risk acceptance by/.test(visibleText(m)) && /csrf/.test(visibleText(m)));
  assert.equal(lines.length, 1);
  assert.match(visibleText(lines[0]), new RegExp(`Risk acceptance by <@${PEOPLE.operator}>`));
  assert.match(visibleText(lines[0]), /counts as open again/);
});
