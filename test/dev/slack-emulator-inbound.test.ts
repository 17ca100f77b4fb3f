import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { verifySlackRequest } from "@slack/bolt";
import { retryPolicies, WebClient } from "@slack/web-api";
import {
  computeSlackSignature,
  type JsonObject,
  SlackEmulator,
  type SlackEmulatorOptions,
} from "../../dev/slack-emulator/index.js";
import { closeServer, listenLocal, readBody } from "../support/http.js";
import { silent } from "../support/silent.js";

interface Captured {
  headers: IncomingHttpHeaders;
  body: string;
}

interface Reply {
  status?: number;
  body?: string;
  json?: unknown;
  delayMs?: number;
}

/** A stand-in for the bot's HTTP endpoint: records what Slack sent and answers with `reply`. */
async function startBot(t: TestContext) {
  const bot = { url: "", requests: [] as Captured[], reply: (): Reply => ({}) };
  const server = createServer(async (req, res) => {
    const captured = { headers: req.headers, body: (await readBody(req)).toString("utf8") };
    bot.requests.push(captured);
    const reply = bot.reply();
    if (reply.delayMs) await sleep(reply.delayMs);
    if (reply.json !== undefined) {
      res.writeHead(reply.status ?? 200, { "content-type": "application/json" });
      res.end(JSON.stringify(reply.json));
    } else {
      res.writeHead(reply.status ?? 200);
      res.end(reply.body ?? "");
    }
  });
  bot.url = `${await listenLocal(server)}/slack/events`;
  t.after(() => closeServer(server));
  return bot;
}

async function setup(t: TestContext, options: SlackEmulatorOptions = {}) {
  const bot = await startBot(t);
  const slack = await SlackEmulator.start({ requestUrl: bot.url, ...options });
  t.after(() => slack.close());
  const client = new WebClient(slack.botToken, {
    slackApiUrl: slack.apiUrl,
    retryConfig: retryPolicies.rapidRetryPolicy,
    logger: silent,
  });
  return { slack, bot, client };
}

function last(requests: Captured[]): Captured {
  const request = requests.at(-1);
  assert.ok(request, "the bot received a request");
  return request;
}

/** Verifies like Bolt's HTTPReceiver does (throws on a bad or stale signature). */
function verify(secret: string, request: Captured): void {
  verifySlackRequest({
    signingSecret: secret,
    body: request.body,
    headers: {
      "x-slack-signature": String(request.headers["x-slack-signature"]),
      "x-slack-request-timestamp": Number(request.headers["x-slack-request-timestamp"]),
    },
  });
}

function payloadOf(request: Captured): JsonObject {
  const payload = new URLSearchParams(request.body).get("payload");
  assert.ok(payload, "form field payload");
  return JSON.parse(payload) as JsonObject;
}

function slackError(code: string) {
  return (error: unknown) => {
    assert.equal((error as { data?: { error?: string } }).data?.error, code);
    return true;
  };
}

function must<T>(value: T | undefined): T {
  assert.ok(value !== undefined);
  return value;
}

async function respond(url: string, body: JsonObject) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

const approvalCard = {
  channel: "C0SECURITY",
  text: "Scan 42 needs approval",
  blocks: [
    { type: "section" as const, text: { type: "mrkdwn" as const, text: "Scan *42* needs approval" } },
    {
      type: "actions" as const,
      block_id: "scan_actions",
      elements: [
        {
          type: "button" as const,
          action_id: "approve_scan",
          text: { type: "plain_text" as const, text: "Approve" },
          value: "scan-42",
          style: "primary" as const,
        },
      ],
    },
  ],
};

test("slash commands arrive form-encoded and signed with v0, as Slack sends them", async (t) => {
  const { slack, bot } = await setup(t);
  const result = await slack.slashCommand({
    user: "U0ALICE",
    channel: "C0SECURITY",
    text: "scan https://example.test",
  });
  assert.equal(result.status, 200);
  assert.equal(result.timedOut, false);

  const request = last(bot.requests);
  assert.equal(request.headers["content-type"], "application/x-www-form-urlencoded");
  const form = Object.fromEntries(new URLSearchParams(request.body));
  assert.deepEqual(Object.keys(form), [
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "api_app_id",
    "is_enterprise_install",
    "response_url",
    "trigger_id",
  ]);
  assert.equal(form.command, "/crashtest");
  assert.equal(form.text, "scan https://example.test");
  assert.equal(form.channel_name, "security");
  assert.equal(form.user_name, "alice");
  assert.equal(form.response_url, result.responseUrl);
  assert.ok(result.responseUrl.startsWith(`${slack.url}/`));
  assert.equal(form.trigger_id, result.triggerId);

  verify(slack.signingSecret, request);
  const timestamp = Number(request.headers["x-slack-request-timestamp"]);
  assert.ok(Math.abs(timestamp - Date.now() / 1000) < 5);
  assert.equal(
    request.headers["x-slack-signature"],
    computeSlackSignature(slack.signingSecret, timestamp, request.body),
  );
});

test("forged, stale and unsigned deliveries, and retry headers, can be sent on purpose", async (t) => {
  const { slack, bot } = await setup(t);
  const base = { user: "U0ALICE", channel: "C0GENERAL", text: "help" };

  await slack.slashCommand({ ...base, signature: "forged" });
  assert.throws(() => verify(slack.signingSecret, last(bot.requests)), /signature mismatch/);

  await slack.slashCommand({ ...base, timestampSec: Math.floor(Date.now() / 1000) - 6 * 60 });
  assert.throws(() => verify(slack.signingSecret, last(bot.requests)), /stale/);

  await slack.slashCommand({ ...base, signature: "omitted" });
  assert.equal(last(bot.requests).headers["x-slack-signature"], undefined);
  assert.equal(last(bot.requests).headers["x-slack-request-timestamp"], undefined);

  const first = await slack.homeOpened("U0ALICE");
  const again = await slack.homeOpened("U0ALICE", {
    eventId: first.eventId,
    retryNum: 1,
    retryReason: "http_timeout",
  });
  const redelivery = last(bot.requests);
  assert.equal(again.eventId, first.eventId);
  assert.equal(redelivery.headers["x-slack-retry-num"], "1");
  assert.equal(redelivery.headers["x-slack-retry-reason"], "http_timeout");
  verify(slack.signingSecret, redelivery);
});

test("commands only come from people who can see the channel", async (t) => {
  const { slack, bot } = await setup(t, {
    channels: [{ id: "C0INCIDENT", name: "incident", isPrivate: true, members: ["U0ALICE"] }],
  });
  await assert.rejects(
    slack.slashCommand({ user: "U0BOB", channel: "C0INCIDENT" }),
    /U0BOB is not in C0INCIDENT/,
  );
  assert.equal(bot.requests.length, 0);
  await slack.slashCommand({ user: "U0ALICE", channel: "#incident" });
  assert.equal(new URLSearchParams(last(bot.requests).body).get("channel_id"), "C0INCIDENT");
});

test("a slash command's ack body is shown like a response: ephemeral by default, or in the channel", async (t) => {
  const { slack, bot } = await setup(t);
  bot.reply = () => ({ json: { response_type: "in_channel", text: "Scan 42 queued" } });
  await slack.slashCommand({ user: "U0ALICE", channel: "C0SECURITY", text: "scan" });
  const [posted] = slack.channelMessages("C0SECURITY");
  assert.equal(posted?.text, "Scan 42 queued");
  assert.equal(posted?.fromBot, true);

  bot.reply = () => ({ body: "Unknown subcommand, try /crashtest help" });
  await slack.slashCommand({ user: "U0ALICE", channel: "C0SECURITY", text: "nope" });
  const [ephemeral] = slack.ephemerals("U0ALICE");
  assert.equal(ephemeral?.text, "Unknown subcommand, try /crashtest help");
  assert.equal(ephemeral?.source, "ack");
  assert.equal(ephemeral?.channel, "C0SECURITY");

  bot.reply = () => ({ json: {} });
  const empty = await slack.slashCommand({ user: "U0ALICE", channel: "C0SECURITY", text: "x" });
  assert.equal(empty.ackError, "no_text");
});

test("Slack stops waiting for an ack after the ack timeout", async (t) => {
  const { slack, bot } = await setup(t, { ackTimeoutMs: 150 });
  bot.reply = () => ({ delayMs: 600 });
  const result = await slack.slashCommand({ user: "U0ALICE", channel: "C0GENERAL", text: "slow" });
  assert.equal(result.timedOut, true);
  assert.equal(result.status, 0);
  assert.ok(result.elapsedMs < 600);
});

test("click builds block_actions from the stored message; value, blockId and version can be forged", async (t) => {
  const { slack, bot, client } = await setup(t);
  const ts = must((await client.chat.postMessage(approvalCard)).ts);

  const result = await slack.click({
    user: "U0BOB",
    channel: "C0SECURITY",
    messageTs: ts,
    actionId: "approve_scan",
  });
  const request = last(bot.requests);
  verify(slack.signingSecret, request);
  const payload = payloadOf(request);
  assert.deepEqual(payload, result.payload);
  assert.equal(payload.type, "block_actions");
  assert.deepEqual(payload.user, { id: "U0BOB", username: "bob", name: "bob", team_id: slack.team.id });
  assert.deepEqual(payload.container, {
    type: "message",
    message_ts: ts,
    channel_id: "C0SECURITY",
    is_ephemeral: false,
  });
  assert.deepEqual(payload.channel, { id: "C0SECURITY", name: "security" });
  const message = payload.message as JsonObject;
  assert.equal(message.ts, ts);
  assert.deepEqual(message.blocks, slack.message("C0SECURITY", ts)?.blocks);
  const [action] = payload.actions as JsonObject[];
  assert.equal(action?.action_id, "approve_scan");
  assert.equal(action?.block_id, "scan_actions");
  assert.equal(action?.value, "scan-42");
  assert.equal(action?.type, "button");
  assert.match(String(action?.action_ts), /^\d{10}\.\d{6}$/);
  assert.equal(payload.response_url, result.responseUrl);
  assert.equal(payload.trigger_id, result.triggerId);

  await slack.click({
    user: "U0BOB",
    channel: "C0SECURITY",
    messageTs: ts,
    actionId: "approve_scan",
    value: "scan-999",
  });
  assert.equal((payloadOf(last(bot.requests)).actions as JsonObject[])[0]?.value, "scan-999");

  // After the card lost its buttons, only a client that has not refreshed can still click.
  await client.chat.update({ channel: "C0SECURITY", ts, text: "Approved by bob", blocks: [] });
  await assert.rejects(
    slack.click({ user: "U0ALICE", channel: "C0SECURITY", messageTs: ts, actionId: "approve_scan" }),
    /no action_id approve_scan/,
  );
  await slack.click({
    user: "U0ALICE",
    channel: "C0SECURITY",
    messageTs: ts,
    actionId: "approve_scan",
    version: 0,
  });
  const stale = payloadOf(last(bot.requests));
  assert.equal((stale.message as JsonObject).text, "Scan 42 needs approval");

  const ephemeral = await client.chat.postEphemeral({ ...approvalCard, user: "U0ALICE" });
  await slack.click({
    user: "U0ALICE",
    channel: "C0SECURITY",
    messageTs: must(ephemeral.message_ts),
    actionId: "approve_scan",
  });
  const fromEphemeral = payloadOf(last(bot.requests));
  assert.equal((fromEphemeral.container as JsonObject).is_ephemeral, true);
  assert.equal(fromEphemeral.message, undefined, "Slack sends no message for ephemeral messages");
});

test("response_url: replace_original edits the clicked message; 5 uses, then used_url", async (t) => {
  const { slack, client } = await setup(t);
  const ts = must((await client.chat.postMessage(approvalCard)).ts);
  const click = await slack.click({
    user: "U0BOB",
    channel: "C0SECURITY",
    messageTs: ts,
    actionId: "approve_scan",
  });

  assert.deepEqual(await respond(click.responseUrl, { replace_original: true, text: "Approved by bob" }), {
    status: 200,
    text: "ok",
  });
  const edited = must(slack.message("C0SECURITY", ts));
  assert.equal(edited.text, "Approved by bob");
  assert.equal(edited.blocks, undefined);
  assert.equal(edited.versions.length, 2);

  assert.equal((await respond(click.responseUrl, { text: "only bob sees this" })).status, 200);
  assert.equal(slack.ephemerals("U0BOB")[0]?.text, "only bob sees this");
  assert.equal(slack.ephemerals("U0BOB")[0]?.source, "response_url");
  assert.equal(
    (await respond(click.responseUrl, { response_type: "in_channel", text: "for all" })).status,
    200,
  );
  assert.equal(slack.channelMessages("C0SECURITY").at(-1)?.text, "for all");

  assert.deepEqual(await respond(click.responseUrl, {}), { status: 400, text: "no_text" });
  await respond(click.responseUrl, { text: "4th use" });
  await respond(click.responseUrl, { text: "5th use" });
  assert.deepEqual(await respond(click.responseUrl, { text: "6th use" }), { status: 404, text: "used_url" });
  assert.deepEqual(
    slack.responseUrlPosts().map((p) => p.result),
    ["ok", "ok", "ok", "no_text", "ok", "ok", "used_url"],
  );
  assert.deepEqual(await respond(`${slack.url}/response/unknown`, { text: "x" }), {
    status: 404,
    text: "no_service",
  });
});

test("response_url expires after 30 minutes; delete_original removes the message", async (t) => {
  let now = Date.now();
  const { slack, client } = await setup(t, { now: () => now });
  const ts = must((await client.chat.postMessage(approvalCard)).ts);
  const first = await slack.click({
    user: "U0BOB",
    channel: "C0SECURITY",
    messageTs: ts,
    actionId: "approve_scan",
  });
  const second = await slack.click({
    user: "U0BOB",
    channel: "C0SECURITY",
    messageTs: ts,
    actionId: "approve_scan",
  });

  now += 30 * 60 * 1000 - 1;
  assert.equal((await respond(first.responseUrl, { text: "in time" })).status, 200);
  now += 2;
  assert.deepEqual(await respond(second.responseUrl, { text: "late" }), { status: 404, text: "expired_url" });

  const third = await slack.click({
    user: "U0BOB",
    channel: "C0SECURITY",
    messageTs: ts,
    actionId: "approve_scan",
  });
  assert.equal((await respond(third.responseUrl, { delete_original: true })).status, 200);
  assert.equal(slack.message("C0SECURITY", ts), undefined);
});

test("views: a trigger opens one modal within 3 s; submissions carry state.values; acks are applied", async (t) => {
  let now = Date.now();
  const { slack, bot, client } = await setup(t, { now: () => now });
  const modal = {
    type: "modal" as const,
    callback_id: "new_scan",
    private_metadata: "C0SECURITY",
    title: { type: "plain_text" as const, text: "New scan" },
    submit: { type: "plain_text" as const, text: "Start" },
    blocks: [
      {
        type: "input" as const,
        block_id: "target",
        label: { type: "plain_text" as const, text: "URL" },
        element: { type: "plain_text_input" as const, action_id: "url" },
      },
      {
        type: "input" as const,
        block_id: "profile",
        label: { type: "plain_text" as const, text: "Profile" },
        element: {
          type: "static_select" as const,
          action_id: "profile",
          options: [
            { text: { type: "plain_text" as const, text: "Quick" }, value: "quick" },
            { text: { type: "plain_text" as const, text: "Full" }, value: "full" },
          ],
        },
      },
    ],
  };
  const command = await slack.slashCommand({ user: "U0ALICE", channel: "C0SECURITY", text: "new" });
  const opened = await client.views.open({ trigger_id: command.triggerId, view: modal });
  const viewId = must(opened.view?.id);
  await assert.rejects(
    client.views.open({ trigger_id: command.triggerId, view: modal }),
    slackError("trigger_exchanged"),
  );
  const late = await slack.slashCommand({ user: "U0ALICE", channel: "C0SECURITY", text: "new" });
  now += 3001;
  await assert.rejects(
    client.views.open({ trigger_id: late.triggerId, view: modal }),
    slackError("expired_trigger_id"),
  );
  const tooLong = await slack.slashCommand({ user: "U0ALICE", channel: "C0SECURITY", text: "new" });
  await assert.rejects(
    client.views.open({
      trigger_id: tooLong.triggerId,
      view: { ...modal, title: { type: "plain_text", text: "A title far longer than 24 chars" } },
    }),
    slackError("invalid_arguments"),
  );

  bot.reply = () => ({ json: { response_action: "errors", errors: { target: "Not an allowed target" } } });
  const rejected = await slack.submitView({
    user: "U0ALICE",
    viewId,
    values: { target: { url: "https://evil.test" }, profile: { profile: "full" } },
  });
  const payload = payloadOf(last(bot.requests));
  assert.deepEqual(payload, rejected.payload);
  verify(slack.signingSecret, last(bot.requests));
  const view = payload.view as JsonObject;
  assert.equal(payload.type, "view_submission");
  assert.equal(view.id, viewId);
  assert.equal(view.callback_id, "new_scan");
  assert.equal(view.private_metadata, "C0SECURITY");
  assert.deepEqual((view.state as JsonObject).values, {
    target: { url: { type: "plain_text_input", value: "https://evil.test" } },
    profile: {
      profile: {
        type: "static_select",
        selected_option: { text: { type: "plain_text", text: "Full" }, value: "full" },
      },
    },
  });
  let [stored] = slack.views("U0ALICE");
  assert.equal(stored?.open, true);
  assert.deepEqual(stored?.errors, { target: "Not an allowed target" });

  bot.reply = () => ({});
  await slack.submitView({ user: "U0ALICE", viewId, values: { target: { url: "https://example.test" } } });
  [stored] = slack.views("U0ALICE");
  assert.equal(stored?.open, false, "an empty ack closes the modal");
  await assert.rejects(client.views.update({ view_id: viewId, view: modal }), slackError("not_found"));
});

test("views.publish sets the Home tab and app_home_opened delivers it in an Events API envelope", async (t) => {
  const { slack, bot, client } = await setup(t);
  const home = {
    type: "home" as const,
    blocks: [{ type: "section" as const, text: { type: "mrkdwn" as const, text: "Your scans" } }],
  };
  const published = await client.views.publish({ user_id: "U0ALICE", view: home });
  const viewId = must(published.view?.id);
  const republished = await client.views.publish({
    user_id: "U0ALICE",
    view: home,
    hash: published.view?.hash,
  });
  assert.equal(republished.view?.id, viewId, "the Home view keeps its ID");
  await assert.rejects(
    client.views.publish({ user_id: "U0ALICE", view: home, hash: published.view?.hash }),
    slackError("hash_conflict"),
  );

  const result = await slack.homeOpened("U0ALICE");
  const request = last(bot.requests);
  assert.equal(request.headers["content-type"], "application/json");
  verify(slack.signingSecret, request);
  const envelope = JSON.parse(request.body) as JsonObject;
  assert.deepEqual(envelope, result.envelope);
  assert.equal(envelope.type, "event_callback");
  assert.equal(envelope.event_id, result.eventId);
  assert.match(result.eventId, /^Ev/);
  const event = envelope.event as JsonObject;
  assert.equal(event.type, "app_home_opened");
  assert.equal(event.user, "U0ALICE");
  assert.equal(event.tab, "home");
  assert.match(String(event.channel), /^D/);
  assert.equal((event.view as JsonObject).id, viewId);
  assert.equal(slack.views("U0ALICE")[0]?.versions.length, 2);
});
