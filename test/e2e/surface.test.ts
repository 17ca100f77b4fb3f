import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { UPLOAD_URL_TARGET } from "../../dev/slack-emulator/index.js";
import type { SimulatedScanner } from "../../src/scanners/simulator/scanner.js";
import { ACTIONS } from "../../src/slack/blocks/cards.js";
import {
  eventually,
  PEOPLE,
  SURFACE_EMULATOR,
  SURFACE_ENV,
  startTestBot,
  type TestBot,
  visibleText,
} from "../support/bot.js";

const CHANNEL = "C0SECURITY";
let now = Date.now();
const clock = { now: () => now };
let t: TestBot;

before(async () => {
  t = await startTestBot({
    env: { ...SURFACE_ENV, SIMULATOR_QUEUE_SECONDS: "600" },
    emulator: SURFACE_EMULATOR,
    clock,
  });
});
after(() => t.close());

/** Sends a command and waits for the next ephemeral answer to that user. */
async function command(user: string, text: string, channel = CHANNEL) {
  const seen = t.emulator.ephemerals(user).length;
  const sent = await t.emulator.slashCommand({ user, channel, text });
  assert.equal(sent.status, 200, `ack for ${text}`);
  assert.ok(sent.elapsedMs < 3000);
  const reply = await eventually(() => t.emulator.ephemerals(user)[seen]);
  return { ...reply, text: visibleText(reply) };
}

/** The next ephemeral answer to a user after `seen`, with all its visible text. */
async function answer(user: string, seen: number) {
  return visibleText(await eventually(() => t.emulator.ephemerals(user)[seen]));
}

/** Clicks a button; `version` picks an older rendering, as a client that has not refreshed yet would. */
async function click(user: string, messageTs: string, actionId: string, value?: string, version?: number) {
  const seen = t.emulator.ephemerals(user).length;
  const sent = await t.emulator.click({
    user,
    channel: CHANNEL,
    messageTs,
    actionId,
    ...(value ? { value } : {}),
    ...(version === undefined ? {} : { version }),
  });
  assert.equal(sent.status, 200);
  return { seen, sent };
}

const simulator = () => (t.bot.scanner as SimulatedScanner).simulator;
const cards = (pattern: RegExp) => t.emulator.channelMessages(CHANNEL).filter((m) => pattern.test(m.text));
/** Scan cards posted: what a click that started a scan leaves (other posts come from earlier tests' scans). */
const startCalls = () =>
  t.emulator.calls("chat.postMessage").filter((c) => /^Scan \d+ of /.test(String(c.args.text))).length;

describe("projects", () => {
  test("create: validated, created at the scanner; the simulator needs no verification step", async () => {
    const reply = await command(PEOPLE.operator, "project create web-shop https://shop.example.com");
    assert.match(reply.text, /Project \*web-shop\* created/);
    assert.doesNotMatch(reply.text, /Verify the target/);
    assert.match(reply.text, /Next: `\/crashtest scan start web-shop`/);
    const list = await command(PEOPLE.operator, "projects");
    assert.match(list.text, /web-shop/);
  });

  test("bad input gets an actionable answer with the usage", async () => {
    const bad = await command(PEOPLE.operator, "project create api ftp://api.example.com");
    assert.match(bad.text, /only http:\/\/ and https:\/\//);
    assert.match(
      bad.text,
      /Usage: `\/crashtest project create &lt;name&gt; &lt;url&gt; \[option=value \.\.\.\]`/,
    );
    const local = await command(PEOPLE.operator, "project create lab http://127.0.0.1:8080");
    assert.match(local.text, /private, loopback or internal/);
    const option = await command(PEOPLE.operator, "project create api https://api.example.com fast");
    assert.match(option.text, /"fast" is not an option; write it as name=value/);
    const dup = await command(PEOPLE.operator, "project create WEB-SHOP https://other.example.com");
    assert.match(dup.text, /already exists/);
    const stranger = await command(PEOPLE.stranger, "project create x1 https://x.example.com");
    assert.match(stranger.text, /not allowed to create projects\. Ask <@U0ALICE>/);
  });

  test("missing arguments open a modal with field-level errors", async () => {
    await t.emulator.slashCommand({ user: PEOPLE.operator, channel: CHANNEL, text: "project create" });
    const view = await eventually(() => t.emulator.views(PEOPLE.operator).at(-1));
    const invalid = await t.emulator.submitView({
      user: PEOPLE.operator,
      viewId: view.id,
      values: { name: { value: "has space" }, url: { value: "javascript:alert(1)" } },
    });
    assert.equal(invalid.status, 200);
    const kept = t.emulator.views(PEOPLE.operator).find((v) => v.id === view.id);
    assert.ok(kept?.open, "the modal stays open");
    assert.match(kept?.errors?.name ?? "", /use letters, digits/);
    assert.match(kept?.errors?.url ?? "", /only http/);
    const seen = t.emulator.ephemerals(PEOPLE.operator).length;
    await t.emulator.submitView({
      user: PEOPLE.operator,
      viewId: view.id,
      values: { name: { value: "portal" }, url: { value: "https://portal.example.com" } },
    });
    assert.match(await answer(PEOPLE.operator, seen), /Project \*portal\* created/);
  });

  test("link registers an existing project; delete asks for confirmation and needs an admin", async () => {
    const id = simulator().addProject({ name: "legacy", url: "https://legacy.example.com" });
    const linked = await command(PEOPLE.admin, `link ${id} legacy-site`);
    assert.match(linked.text, /now known as \*legacy-site\*/);
    const ask = await command(PEOPLE.admin, "project delete legacy-site");
    assert.match(ask.text, /Delete \*legacy-site\*\?/);
    const operatorList = await command(PEOPLE.operator, "projects");
    assert.match(
      operatorList.text,
      /legacy-site.*\n?.*https:\/\/legacy\.example\.com/,
      "the real target is shown",
    );
    const denied = await click(PEOPLE.operator, operatorList.ts, ACTIONS.deleteProject, id);
    assert.match(await answer(PEOPLE.operator, denied.seen), /not allowed to delete projects/);
    await click(PEOPLE.admin, ask.ts, ACTIONS.deleteProject);
    const gone = await command(PEOPLE.admin, "projects");
    await eventually(async () => !(await command(PEOPLE.admin, "projects")).text.includes("legacy-site"));
    assert.ok(gone);
  });
});

describe("projects are bound to what the scanner has (issue 12)", () => {
  test("link checks with the scanner that the project exists", async () => {
    const before = (await command(PEOPLE.admin, "projects")).text;
    const missing = await command(PEOPLE.admin, "link 424242 ghost");
    assert.match(missing.text, /scanner has no project with ID 424242/);
    assert.doesNotMatch((await command(PEOPLE.admin, "projects")).text, /ghost/);
    assert.ok(before);
  });

  test("names that look like scanner IDs are refused at create and link", async () => {
    const numeric = await command(PEOPLE.operator, "project create 4711 https://n.example.com");
    assert.match(numeric.text, /looks like a scanner project ID/);
    const uuid = await command(
      PEOPLE.operator,
      "project create 0b6e1a52-4a8f-4c3e-9d3a-2f1e6b7c8d9e https://u.example.com",
    );
    assert.match(uuid.text, /looks like a scanner project ID/);
    const id = simulator().addProject({ name: "other", url: "https://other.example.com" });
    const linked = await command(PEOPLE.admin, `link ${id} 101`);
    assert.match(linked.text, /looks like a scanner project ID/);
  });
});

describe("scans with four-eyes approval", () => {
  test("request, refused self-approval and non-approver, approval by another person, double click", async () => {
    const asked = await command(PEOPLE.approver, "scan start web-shop");
    assert.match(asked.text, /An approver other than you has to approve it/);
    const card = await eventually(() => cards(/Scan request for web-shop/).at(-1));

    const self = await click(PEOPLE.approver, card.ts, ACTIONS.approve);
    assert.match(await answer(PEOPLE.approver, self.seen), /own scan request/);
    const operator = await click(PEOPLE.operator, card.ts, ACTIONS.approve);
    assert.match(await answer(PEOPLE.operator, operator.seen), /not allowed to approve scans/);

    await click(PEOPLE.groupApprover, card.ts, ACTIONS.approve);
    const scanCard = await eventually(() => cards(/^Scan \d+ of web-shop/).at(-1));
    const decided = await eventually(() => {
      const latest = t.emulator.message(CHANNEL, card.ts);
      return latest?.text.includes("approved") ? latest : undefined;
    });
    assert.match(JSON.stringify(decided.blocks), /Approved.*<@U0DAVE>/);
    assert.doesNotMatch(JSON.stringify(decided.blocks), /scan_approve/);
    // The thread note follows the card edit: wait for it rather than read the thread at once.
    const note = await eventually(() =>
      t.emulator.thread(CHANNEL, card.ts).find((m) => /Approved by <@U0DAVE>/.test(m.text)),
    );
    assert.ok(note);

    // A second approver clicking the stale card (their client still shows the buttons).
    const late = await t.emulator.click({
      user: PEOPLE.admin,
      channel: CHANNEL,
      messageTs: card.ts,
      actionId: ACTIONS.approve,
      version: 0,
    });
    assert.equal(late.status, 200);
    const lateReply = await eventually(() =>
      t.emulator
        .ephemerals(PEOPLE.admin)
        .map(visibleText)
        .find((text) => text.includes("already approved")),
    );
    assert.match(lateReply, /already approved by <@U0DAVE>/);
    assert.equal(cards(/^Scan \d+ of web-shop/).length, 1, "one scan card");
    assert.ok(scanCard);
  });

  test("stop: a confirmed danger button, once; the card shows who stopped it", async () => {
    const scanCard = await eventually(() => cards(/^Scan \d+ of web-shop/).at(-1));
    const stopButton = JSON.stringify(scanCard.blocks);
    assert.match(stopButton, /"style":"danger"/);
    assert.match(stopButton, /"confirm"/);
    await click(PEOPLE.operator, scanCard.ts, ACTIONS.stop);
    await eventually(() =>
      t.emulator.thread(CHANNEL, scanCard.ts).find((m) => /Stop requested by <@U0CAROL>/.test(m.text)),
    );
    const again = await click(PEOPLE.admin, scanCard.ts, ACTIONS.stop, undefined, 0);
    assert.match(await answer(PEOPLE.admin, again.seen), /already requested by <@U0CAROL>|already ended/);
  });

  test("deny and expiry", async () => {
    await command(PEOPLE.operator, "scan start portal");
    const denyCard = await eventually(() => cards(/Scan request for portal/).at(-1));
    await click(PEOPLE.approver, denyCard.ts, ACTIONS.deny);
    await eventually(() => t.emulator.message(CHANNEL, denyCard.ts)?.text.includes("denied"));

    await command(PEOPLE.operator, "scan start portal");
    const expiring = await eventually(() => cards(/Scan request for portal.*pending/).at(-1));
    now += 25 * 3600_000;
    const late = await click(PEOPLE.approver, expiring.ts, ACTIONS.approve);
    assert.match(await answer(PEOPLE.approver, late.seen), /expired at/);
    await eventually(() => t.emulator.message(CHANNEL, expiring.ts)?.text.includes("expired"));
    now -= 25 * 3600_000;
  });

  test("a Slack redelivery of an Approve click does not start a second scan", async () => {
    await command(PEOPLE.operator, "scan start portal");
    const card = await eventually(() => cards(/Scan request for portal.*pending/).at(-1));
    const seen = t.emulator.ephemerals(PEOPLE.approver).length;
    const first = await t.emulator.click({
      user: PEOPLE.approver,
      channel: CHANNEL,
      messageTs: card.ts,
      actionId: ACTIONS.approve,
    });
    const retried = await t.emulator.redeliver(first, { retryNum: 1, retryReason: "http_timeout" });
    assert.equal(retried.status, 200);
    await eventually(() => cards(/^Scan \d+ of portal/).length === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(cards(/^Scan \d+ of portal/).length, 1, "one scan card");
    const starts = t.emulator
      .calls("chat.postMessage")
      .filter((c) => /^Scan \d+ of portal/.test(String(c.args.text)));
    assert.equal(starts.length, 1);
    // The first click's answer has arrived, so no late answer of this test lands in the next one's.
    assert.doesNotMatch(await answer(PEOPLE.approver, seen), /already approved/);
    assert.ok(
      !t.emulator.ephemerals(PEOPLE.approver).some((m) => visibleText(m).includes("already approved")),
      "the redelivery is ignored silently, not answered as a second click",
    );
  });

  test("forged button payloads never pass authorization", async () => {
    await command(PEOPLE.operator, "scan start portal");
    const card = await eventually(() => cards(/Scan request for portal.*pending/).at(-1));
    const before = startCalls();
    const forged = await click(PEOPLE.stranger, card.ts, ACTIONS.approve);
    assert.match(await answer(PEOPLE.stranger, forged.seen), /not allowed to approve scans/);
    const garbage = await click(PEOPLE.approver, card.ts, ACTIONS.approve, "../../etc/passwd");
    assert.match(await answer(PEOPLE.approver, garbage.seen), /not valid/);
    const unknown = await click(
      PEOPLE.approver,
      card.ts,
      ACTIONS.approve,
      "00000000-0000-0000-0000-000000000000",
    );
    assert.match(await answer(PEOPLE.approver, unknown.seen), /no longer exists/);
    assert.equal(startCalls(), before, "no scan was started for forged clicks");
  });
});

describe("approvals bind to what the approver saw (issue 12)", () => {
  test("a scan request in a DM, where no approver can see it, is refused", async () => {
    const dm = await command(PEOPLE.operator, "scan start portal", PEOPLE.operator);
    assert.match(dm.text, /Nobody who may approve scans can see this conversation/);
  });

  test("a start that fails after approval shows 'start failed' with Retry; the requester is told; Retry starts it", async () => {
    await command(PEOPLE.operator, "project create flaky https://flaky.example.com");
    await command(PEOPLE.operator, "scan start flaky");
    const card = await eventually(() => cards(/Scan request for flaky.*pending/).at(-1));
    assert.match(visibleText(card), /ID `\d+`/, "the card shows the project ID it is bound to");
    assert.match(visibleText(card), /https:\/\/flaky\.example\.com/);
    simulator().faults.inject("startScan", { kind: "status", status: 503 });
    const approve = await click(PEOPLE.approver, card.ts, ACTIONS.approve);
    assert.match(await answer(PEOPLE.approver, approve.seen), /Approved, but the scan did not start/);
    const failed = await eventually(() => {
      const latest = t.emulator.message(CHANNEL, card.ts);
      return latest?.text.includes("start failed") ? latest : undefined;
    });
    assert.match(JSON.stringify(failed.blocks), /scan_retry/);
    assert.doesNotMatch(JSON.stringify(failed.blocks), /scan_approve/);
    const thread = () =>
      t.emulator
        .thread(CHANNEL, card.ts)
        .map((m) => m.text)
        .join("\n");
    await eventually(() =>
      /<@U0CAROL>, your scan of \*flaky\* was approved by <@U0BOB> but did not start/.test(thread()),
    );
    assert.equal(cards(/^Scan \d+ of flaky/).length, 0, "no scan card for a scan that did not start");

    const retry = await click(PEOPLE.groupApprover, card.ts, ACTIONS.retry);
    await eventually(() => cards(/^Scan \d+ of flaky/).length === 1);
    assert.match(await answer(PEOPLE.groupApprover, retry.seen), /Scan \d+ of \*flaky\* started/);
    await eventually(() => t.emulator.message(CHANNEL, card.ts)?.text.endsWith(": approved"));
    await eventually(() => /Started by <@U0DAVE> on retry/.test(thread()));

    const failedAudit = await command(PEOPLE.admin, "audit 50 action:scan.approve outcome:failed");
    assert.match(failedAudit.text, /flaky/);
    const okAudit = await command(PEOPLE.admin, "audit 50 action:scan.approve outcome:ok");
    assert.doesNotMatch(okAudit.text, /flaky/, "no approve:ok when nothing started");
    assert.match((await command(PEOPLE.admin, "audit 50 action:scan.retry outcome:ok")).text, /flaky/);
  });

  test("a withdraw reads 'Withdrawn by', not 'Denied'", async () => {
    await command(PEOPLE.operator, "scan start portal");
    const card = await eventually(() => cards(/Scan request for portal.*pending/).at(-1));
    await click(PEOPLE.operator, card.ts, ACTIONS.deny);
    const withdrawn = await eventually(() => {
      const latest = t.emulator.message(CHANNEL, card.ts);
      return latest?.text.includes("withdrawn") ? latest : undefined;
    });
    assert.match(visibleText(withdrawn), /Withdrawn by <@U0CAROL>/);
    assert.doesNotMatch(visibleText(withdrawn), /Denied/);
    await eventually(() =>
      t.emulator.thread(CHANNEL, card.ts).some((m) => /Withdrawn by <@U0CAROL>/.test(m.text)),
    );
  });

  test("deleting a project ends its pending requests and edits their cards; a late Approve starts nothing", async () => {
    await command(PEOPLE.operator, "project create doomed https://doomed.example.com");
    await command(PEOPLE.operator, "scan start doomed");
    const card = await eventually(() => cards(/Scan request for doomed.*pending/).at(-1));
    const ask = await command(PEOPLE.admin, "project delete doomed");
    await click(PEOPLE.admin, ask.ts, ACTIONS.deleteProject);
    const ended = await eventually(() => {
      const latest = t.emulator.message(CHANNEL, card.ts);
      return latest?.text.includes("expired") ? latest : undefined;
    });
    assert.match(visibleText(ended), /ended: project deleted/);
    assert.doesNotMatch(JSON.stringify(ended.blocks), /scan_approve/);
    // A client that has not refreshed still shows the buttons.
    await command(PEOPLE.operator, "project create doomed https://attacker.example.com");
    const late = await t.emulator.click({
      user: PEOPLE.approver,
      channel: CHANNEL,
      messageTs: card.ts,
      actionId: ACTIONS.approve,
      version: 0,
    });
    assert.equal(late.status, 200);
    await eventually(() =>
      t.emulator
        .ephemerals(PEOPLE.approver)
        .map(visibleText)
        .some((text) => /ended: project deleted/.test(text)),
    );
    assert.equal(cards(/^Scan \d+ of doomed/).length, 0);
  });
});

describe("status, reports, audit", () => {
  test("scan status and report of a known scan; unknown scans and formats are explained", async () => {
    const scanCard = await eventually(() => cards(/^Scan \d+ of web-shop/).at(-1));
    const id = /^Scan (\d+)/.exec(scanCard.text)?.[1] ?? "";
    const status = await command(PEOPLE.operator, `scan status ${id}`);
    assert.match(status.text, new RegExp(`Scan ${id} of \\*web-shop\\*`));
    // In words, with how long, as on the card: no raw scanner code.
    assert.match(status.text, /: :hourglass_flowing_sand: \*Queued\* for [^·]+ min/);
    const unknown = await command(PEOPLE.operator, "scan status 424242");
    assert.match(unknown.text, /scan status 424242 &lt;project&gt;/);
    const stopAgain = await command(PEOPLE.operator, `scan stop ${id}`);
    assert.match(stopAgain.text, /already requested by <@U0CAROL>|has already ended/);
    const badId = await command(PEOPLE.operator, "scan stop ../42");
    assert.match(badId.text, /is not a scan ID[\s\S]*Usage: `\/crashtest scan stop &lt;scan-id&gt;`/);
    const badFormat = await command(PEOPLE.operator, `report ${id} docx`);
    assert.match(badFormat.text, /not a report format here/);
    const uploaded = await command(PEOPLE.operator, `report ${id} json`);
    assert.match(uploaded.text, /JSON report of scan/);
    // The link to the card is Slack's permalink (chat.getPermalink), not app_redirect.
    const permalink = `https://${t.emulator.team.domain}.slack.com/archives/${CHANNEL}/p${scanCard.ts.replace(".", "")}`;
    assert.ok(uploaded.text.includes(`<${permalink}|card>`), uploaded.text);
    assert.doesNotMatch(uploaded.text, /app_redirect/);
    const files = t.emulator.filesIn(CHANNEL, scanCard.ts);
    assert.ok(files.some((f) => f.name.endsWith(".json")));
    // One name per format: junit is another name for the XML report, which is what the reply says.
    const junit = await command(PEOPLE.operator, `report ${id} JUnit`);
    assert.match(junit.text, /XML report of scan/);
    assert.doesNotMatch(junit.text, /junit/i);
    assert.ok(t.emulator.filesIn(CHANNEL, scanCard.ts).some((f) => f.name === `crashtest-scan-${id}.xml`));
  });

  test("reports beyond REPORT_TRANSFERS_MAX (3) wait in line and say so; all arrive", async () => {
    const scanCard = await eventually(() => cards(/^Scan \d+ of web-shop/).at(-1));
    const id = /^Scan (\d+)/.exec(scanCard.text)?.[1] ?? "";
    const before = t.emulator.filesIn(CHANNEL, scanCard.ts).length;
    const seen = t.emulator.ephemerals(PEOPLE.operator).length;
    // The first three uploads are slow at Slack's upload URL, so the fourth has to wait.
    t.emulator.injectFault(UPLOAD_URL_TARGET, { kind: "delay", ms: 1500, times: 3 });
    for (let i = 0; i < 4; i++) {
      const sent = await t.emulator.slashCommand({
        user: PEOPLE.operator,
        channel: CHANNEL,
        text: `report ${id} json`,
      });
      assert.equal(sent.status, 200);
    }
    const answers = await eventually(() => {
      const texts = t.emulator.ephemerals(PEOPLE.operator).slice(seen).map(visibleText);
      return texts.filter((x) => /uploaded/.test(x)).length === 4 ? texts : undefined;
    }, 20_000);
    const queued = answers.filter((x) => /Queued behind/.test(x));
    assert.equal(queued.length, 1, answers.join("\n---\n"));
    assert.match(
      queued[0] ?? "",
      /Queued behind 3 reports: the JSON report of scan \d+ follows when they are done\./,
    );
    assert.equal(t.emulator.filesIn(CHANNEL, scanCard.ts).length, before + 4);
  });

  test("audit shows who did what to admins only", async () => {
    const denied = await command(PEOPLE.operator, "audit");
    assert.match(denied.text, /not allowed to read the audit trail/);
    const trail = await command(PEOPLE.admin, "audit 50");
    assert.match(trail.text, /Audit trail/);
    const text = JSON.stringify(trail.blocks);
    assert.match(text, /scan\.approve/);
    assert.match(text, /project\.create/);
    assert.match(text, /denied/);
  });

  test("user text is rendered inert", async () => {
    const reply = await command(PEOPLE.operator, "scan start <!channel>");
    assert.ok(!reply.text.includes("<!channel>"));
    assert.match(reply.text, /‹!channel›/);
  });

  test("credentials without Veracode accounts says how to configure them", async () => {
    const reply = await command(PEOPLE.operator, "credentials");
    assert.match(reply.text, /No Veracode accounts are configured/);
  });

  test("App Home lists running scans and pending approvals", async () => {
    await t.emulator.homeOpened(PEOPLE.operator);
    const home = await eventually(() => t.emulator.views(PEOPLE.operator).find((v) => v.type === "home"));
    const text = JSON.stringify(home.view);
    assert.match(text, /Running scans/);
    assert.match(text, /Your pending requests/);
    assert.match(text, /Approvals you can decide/);
  });

  test("no secret and no unexpected Web API method", () => {
    const everything = [t.logs.text(), JSON.stringify(t.emulator.calls().map((c) => c.args))].join("\n");
    for (const secret of [t.emulator.botToken, t.emulator.signingSecret])
      assert.ok(!everything.includes(secret));
    assert.deepEqual(t.emulator.unknownCalls(), []);
  });
});
