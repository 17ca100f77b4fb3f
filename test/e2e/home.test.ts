import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ApprovalRequest, ScanRecord } from "../../src/domain/scans.js";
import { ACTIONS } from "../../src/slack/blocks/cards.js";
import {
  commandReply,
  eventually,
  openHome as openHomeOf,
  PEOPLE,
  SURFACE_EMULATOR,
  SURFACE_ENV,
  startTestBot,
  type TestBot,
  visibleText,
} from "../support/bot.js";

/**
 * App Home shows each viewer only what they may see, through the real bot and signed events: no data
 * without view rights, channel-scoped scans and approvals, decision buttons that go through the same
 * action listener as the cards, and no stale entries.
 */
const PUBLIC = "C0SECURITY";
const PRIVATE = "C0REDTEAM";
let t: TestBot;

before(async () => {
  t = await startTestBot({
    env: { ...SURFACE_ENV, SIMULATOR_QUEUE_SECONDS: "600" },
    emulator: {
      ...SURFACE_EMULATOR,
      channels: [
        { id: PUBLIC, name: "security" },
        { id: PRIVATE, name: "red-team", isPrivate: true, members: [PEOPLE.admin, PEOPLE.approver] },
      ],
    },
  });
});
after(() => t.close());

async function command(user: string, text: string, channel = PUBLIC) {
  return visibleText(await commandReply(t, user, channel, text));
}

const openHome = (user: string) => openHomeOf(t, user);

const approvalCards = (channel: string) =>
  t.emulator.channelMessages(channel).filter((m) => /^Scan request for/.test(m.text));

describe("App Home", () => {
  before(async () => {
    assert.match(await command(PEOPLE.operator, "project create shop https://shop.example.com"), /created/);
    assert.match(
      await command(PEOPLE.admin, "project create vault https://vault.example.com", PRIVATE),
      /created/,
    );
    // A pending request in each channel: the operator's in public, the approver's in the private one.
    await command(PEOPLE.operator, "scan start shop");
    await command(PEOPLE.approver, "scan start vault", PRIVATE);
    await eventually(() => approvalCards(PUBLIC).length === 1 && approvalCards(PRIVATE).length === 1);
  });

  test("without view rights: only 'no access, ask an admin', no project, scan, approval or credential data", async () => {
    const home = await openHome(PEOPLE.stranger);
    assert.match(home.text, /do not have access/);
    assert.match(home.text, /Ask <@U0ALICE> for access/);
    for (const leak of ["shop", "vault", "scan_approve", "scan_deny", "Waiting for approval", "Veracode"]) {
      assert.ok(!home.json.includes(leak), `no ${leak}`);
    }
  });

  test("a viewer sees what came from channels they are in; admins see everything", async () => {
    const operator = await openHome(PEOPLE.operator);
    assert.match(operator.text, /\*shop\*/);
    assert.ok(!operator.json.includes("vault"), "the private channel's request is hidden from a non-member");
    const admin = await openHome(PEOPLE.admin);
    assert.match(admin.text, /\*shop\*/);
    assert.match(admin.text, /\*vault\*/);
  });

  test("pending requests the viewer can decide carry Approve/Deny; their own carries Withdraw; others none", async () => {
    const approver = await openHome(PEOPLE.approver);
    const blocks = JSON.parse(approver.json).blocks as Array<{
      type: string;
      elements?: Array<{ action_id: string; text: { text: string } }>;
    }>;
    const buttons = blocks
      .filter((b) => b.type === "actions")
      .map((b) => b.elements?.map((e) => e.text.text).join("+"));
    // shop (operator's request): decide; vault (approver's own): withdraw.
    assert.deepEqual(buttons.sort(), ["Approve+Deny", "Withdraw"]);
    const operator = await openHome(PEOPLE.operator);
    assert.match(operator.json, /"text":"Withdraw"/, "the requester may withdraw");
    assert.ok(!operator.json.includes("scan_approve"), "an operator cannot approve");
  });

  test("a refused Home click (self-approval, value edited to the clicker's own request) says so on the Home", async () => {
    const home = await openHome(PEOPLE.approver);
    const vault = (await t.bot.store.entries<ApprovalRequest>("approvals")).find(
      ([, r]) => r.projectName === "vault",
    )?.[1];
    assert.ok(vault);
    const published = t.emulator.calls("views.publish").length;
    await t.emulator.clickInView({
      user: PEOPLE.approver,
      viewId: home.id,
      actionId: ACTIONS.approve,
      value: vault.id,
    });
    await eventually(() => t.emulator.calls("views.publish").length > published, 10_000);
    const redrawn = JSON.stringify(t.emulator.views(PEOPLE.approver).find((v) => v.type === "home")?.view);
    assert.match(redrawn, /Your click did not decide the scan request for \*vault\*/);
    const after = (await t.bot.store.entries<ApprovalRequest>("approvals")).find(
      ([, r]) => r.id === vault.id,
    )?.[1];
    assert.equal(after?.status, "pending");
  });

  test("Approve on the Home goes through the card's listener: the scan starts and the Home is redrawn", async () => {
    const home = await openHome(PEOPLE.approver);
    const published = t.emulator.calls("views.publish").length;
    const sent = await t.emulator.clickInView({
      user: PEOPLE.approver,
      viewId: home.id,
      actionId: ACTIONS.approve,
    });
    assert.equal(sent.status, 200);
    const card = await eventually(() =>
      t.emulator.channelMessages(PUBLIC).find((m) => /^Scan \d+ of shop/.test(m.text)),
    );
    assert.match(card.text, /shop/);
    const request = approvalCards(PUBLIC)[0];
    assert.ok(request);
    await eventually(() => t.emulator.message(PUBLIC, request.ts)?.text.includes("approved"));
    await eventually(() => t.emulator.calls("views.publish").length > published);
    const redrawn = t.emulator.views(PEOPLE.approver).find((v) => v.type === "home");
    assert.ok(!JSON.stringify(redrawn?.view).includes("scan_approve"), "no decision left on the Home");
  });

  test("a Home click with a forged request ID changes nothing", async () => {
    const admin = await openHome(PEOPLE.admin);
    assert.match(admin.json, /scan_approve/);
    const pending = await t.bot.store.entries<ApprovalRequest>("approvals");
    const vault = pending.find(([, r]) => r.projectName === "vault")?.[1];
    assert.equal(vault?.status, "pending");
    // The button's value edited in transit: the card listener re-reads by ID and finds nothing.
    await t.emulator.clickInView({
      user: PEOPLE.admin,
      viewId: admin.id,
      actionId: ACTIONS.approve,
      value: "not-a-request",
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(
      (await t.bot.store.entries<ApprovalRequest>("approvals")).find(
        ([, r]) => r.projectName === "vault",
      )?.[1].status,
      "pending",
    );
  });

  test("stale entries do not show: a request without its card, a running scan nobody watches", async () => {
    const now = Date.now();
    const orphan: ApprovalRequest = {
      id: "orphan-request",
      projectId: "999",
      projectName: "ghost-request",
      targetUrl: "https://ghost.example.com",
      requestedBy: PEOPLE.operator,
      channel: PUBLIC,
      createdAt: now,
      expiresAt: now + 3600_000,
      status: "pending",
    };
    await t.bot.store.set("approvals", orphan.id, orphan);
    const unwatched: ScanRecord = {
      scanId: "777777",
      projectId: "999",
      projectName: "ghost-scan",
      targetUrl: "https://ghost.example.com",
      backend: "simulator",
      requestedBy: PEOPLE.operator,
      channel: PUBLIC,
      card: { channel: PUBLIC, ts: "1700000000.000100" },
      state: "running",
      startedAt: now,
      updatedAt: now,
    };
    await t.bot.store.set("scans", unwatched.scanId, unwatched);
    // An ended scan whose card was deleted in Slack (chat.getPermalink: message_not_found).
    const cardGone: ScanRecord = {
      ...unwatched,
      scanId: "777778",
      projectName: "ghost-ended",
      card: { channel: PUBLIC, ts: "1700000000.000200" },
      state: "finished",
      endedAt: now,
    };
    await t.bot.store.set("scans", cardGone.scanId, cardGone);
    const admin = await openHome(PEOPLE.admin);
    assert.ok(!admin.json.includes("ghost-request"));
    assert.ok(!admin.json.includes("ghost-scan"));
    assert.ok(!admin.json.includes("ghost-ended"));
    assert.match(admin.text, /\*shop\*/, "live entries still show");
    // The live scan: its state in words, how long, and a link to its card.
    assert.match(
      admin.text,
      /\*shop\* · scan \d+ · :hourglass_flowing_sand: \*Queued\* for [^·]+ min · <[^|>]+\|card>/,
    );
  });
});
