import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { retryPolicies, WebClient, WebClientEvent } from "@slack/web-api";
import {
  SlackEmulator,
  type SlackEmulatorOptions,
  UPLOAD_URL_TARGET,
} from "../../dev/slack-emulator/index.js";
import { silent } from "../support/silent.js";

const TS = /^\d{10}\.\d{6}$/;

async function start(t: TestContext, options: SlackEmulatorOptions = {}) {
  const slack = await SlackEmulator.start(options);
  t.after(() => slack.close());
  return { slack, client: webClient(slack) };
}

/** Keeps the WebClient from printing the error responses these tests provoke on purpose. */

/** The real WebClient, pointed at the emulator, with the fast retry policy tests are meant to use. */
function webClient(slack: SlackEmulator, token = slack.botToken): WebClient {
  return new WebClient(token, {
    slackApiUrl: slack.apiUrl,
    retryConfig: retryPolicies.rapidRetryPolicy,
    logger: silent,
  });
}

/** Matches the WebClient's platform error for a Slack error code. */
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

const section = (text: string) => ({ type: "section" as const, text: { type: "mrkdwn" as const, text } });
const button = (actionId: string, text: string, value: string) => ({
  type: "button" as const,
  action_id: actionId,
  text: { type: "plain_text" as const, text },
  value,
});

test("chat.postMessage stores messages with monotonic ts, threads replies and broadcasts only when asked", async (t) => {
  const { slack, client } = await start(t);
  const parent = await client.chat.postMessage({
    channel: "C0SECURITY",
    text: "Scan started",
    blocks: [section("Scan *42* started")],
  });
  const parentTs = must(parent.ts);
  assert.equal(parent.channel, "C0SECURITY");
  assert.match(parentTs, TS);
  assert.equal(parent.message?.text, "Scan started");
  assert.equal(parent.message?.bot_id, slack.bot.botId);

  const reply = await client.chat.postMessage({
    channel: "C0SECURITY",
    thread_ts: parentTs,
    text: "50% done",
  });
  const broadcast = await client.chat.postMessage({
    channel: "C0SECURITY",
    thread_ts: parentTs,
    text: "Scan finished",
    reply_broadcast: true,
  });
  assert.ok(must(reply.ts) > parentTs && must(broadcast.ts) > must(reply.ts));
  assert.equal(reply.message?.thread_ts, parentTs);

  const stored = must(slack.message("C0SECURITY", parentTs));
  assert.equal(stored.replyCount, 2);
  assert.equal(stored.latestReply, broadcast.ts);
  assert.deepEqual(stored.replyUsers, [slack.bot.userId]);
  assert.equal(typeof stored.blocks?.[0]?.block_id, "string", "Slack generates block_ids");
  assert.deepEqual(
    slack.thread("C0SECURITY", parentTs).map((m) => m.text),
    ["50% done", "Scan finished"],
  );
  assert.deepEqual(
    slack.channelMessages("#security").map((m) => m.text),
    ["Scan started", "Scan finished"],
  );

  const [call] = slack.calls("chat.postMessage");
  assert.equal(call?.token, slack.botToken);
  assert.deepEqual(
    call?.args.blocks,
    [section("Scan *42* started")],
    "form-encoded blocks are recorded parsed",
  );
});

test("chat.update keeps every version and only edits the bot's own messages", async (t) => {
  const { slack, client } = await start(t);
  const posted = await client.chat.postMessage({
    channel: "C0GENERAL",
    text: "Approve scan 42?",
    blocks: [section("Approve?"), { type: "actions", elements: [button("approve", "Approve", "42")] }],
  });
  const ts = must(posted.ts);
  const updated = await client.chat.update({ channel: "C0GENERAL", ts, text: "Approve scan 42? (reminder)" });
  assert.equal(updated.ts, ts);
  await client.chat.update({ channel: "C0GENERAL", ts, text: "Approved by alice", blocks: [] });

  const message = must(slack.message("C0GENERAL", ts));
  assert.deepEqual(
    message.versions.map((v) => v.text),
    ["Approve scan 42?", "Approve scan 42? (reminder)", "Approved by alice"],
  );
  assert.equal(message.versions[1]?.blocks?.length, 2, "omitted blocks are kept");
  assert.equal(message.blocks, undefined, "an empty blocks array removes them");

  const human = slack.postAsUser({ user: "U0ALICE", channel: "C0GENERAL", text: "hello" });
  await assert.rejects(
    client.chat.update({ channel: "C0GENERAL", ts: human.ts, text: "edited" }),
    slackError("cant_update_message"),
  );
  await assert.rejects(
    client.chat.update({ channel: "C0GENERAL", ts: "1600000000.000001", text: "x" }),
    slackError("message_not_found"),
  );
  await assert.rejects(
    client.chat.update({ channel: "C0NOPE", ts, text: "x" }),
    slackError("channel_not_found"),
  );
});

test("chat.postEphemeral is stored for one user only and checks channel membership", async (t) => {
  const { slack, client } = await start(t, {
    channels: [
      { id: "C0GENERAL", name: "general" },
      { id: "C0INCIDENT", name: "incident", isPrivate: true, members: ["U0ALICE"] },
    ],
  });
  const sent = await client.chat.postEphemeral({ channel: "C0GENERAL", user: "U0ALICE", text: "only you" });
  assert.match(must(sent.message_ts), TS);
  const [ephemeral] = slack.ephemerals("U0ALICE");
  assert.equal(ephemeral?.text, "only you");
  assert.equal(ephemeral?.ts, sent.message_ts);
  assert.equal(ephemeral?.source, "chat.postEphemeral");
  assert.deepEqual(slack.ephemerals("U0BOB"), []);
  assert.deepEqual(slack.channelMessages("C0GENERAL"), []);

  await assert.rejects(
    client.chat.postEphemeral({ channel: "C0INCIDENT", user: "U0BOB", text: "x" }),
    slackError("user_not_in_channel"),
  );
  await assert.rejects(
    client.chat.postEphemeral({ channel: "C0GENERAL", user: "U0NOBODY", text: "x" }),
    slackError("user_not_found"),
  );
});

test("Block Kit limits and missing text are rejected with Slack's errors, and limits themselves pass", async (t) => {
  const { slack, client } = await start(t);
  const post = (blocks: unknown) =>
    client.apiCall("chat.postMessage", { channel: "C0GENERAL", text: "t", blocks });

  await assert.rejects(post(Array.from({ length: 51 }, () => section("x"))), (error: unknown) => {
    const data = (error as { data: { error: string; errors: string[] } }).data;
    assert.equal(data.error, "invalid_blocks");
    assert.deepEqual(data.errors, ["no more than 50 items allowed [json-pointer:/blocks]"]);
    return true;
  });
  await assert.rejects(post([section("x".repeat(3001))]), (error: unknown) => {
    const data = (error as { data: { errors: string[] } }).data;
    assert.deepEqual(data.errors, ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]);
    return true;
  });
  await assert.rejects(
    post([{ type: "actions", elements: [button("a", "b".repeat(76), "v".repeat(2001))] }]),
    (error: unknown) => {
      const data = (error as { data: { errors: string[] } }).data;
      assert.deepEqual(data.errors, [
        "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
        "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]",
      ]);
      return true;
    },
  );
  await assert.rejects(post("not json"), slackError("invalid_blocks_format"));
  await assert.rejects(client.apiCall("chat.postMessage", { channel: "C0GENERAL" }), slackError("no_text"));

  const atLimits = [
    ...Array.from({ length: 49 }, () => section("x".repeat(3000))),
    { type: "actions", elements: [button("a", "b".repeat(75), "v".repeat(2000))] },
  ];
  await post(atLimits);
  assert.equal(slack.channelMessages("C0GENERAL").length, 1);
});

test("filesUploadV2 through the real WebClient stores the bytes, name and thread of the report", async (t) => {
  const { slack, client } = await start(t);
  const parent = await client.chat.postMessage({ channel: "C0SECURITY", text: "Scan 42 finished" });
  const parentTs = must(parent.ts);
  const bytes = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x2d, 0x00, 0xff, 0xfe, 0x0a, 0x80]);

  const result = await client.filesUploadV2({
    channel_id: "C0SECURITY",
    thread_ts: parentTs,
    file: bytes,
    filename: "scan-42.pdf",
    initial_comment: "Report for scan 42",
  });
  assert.equal(result.ok, true);

  const [file, ...others] = slack.filesIn("C0SECURITY", parentTs);
  assert.deepEqual(others, []);
  assert.equal(file?.name, "scan-42.pdf");
  assert.deepEqual(file?.bytes, bytes);
  assert.equal(file?.declaredLength, bytes.length);
  assert.equal(file?.initialComment, "Report for scan 42");
  const [reply] = slack.thread("C0SECURITY", parentTs);
  assert.deepEqual(reply?.fileIds, [file?.id]);
  assert.equal(reply?.text, "Report for scan 42");
  assert.equal(slack.message("C0SECURITY", parentTs)?.replyCount, 1);
  assert.equal(slack.channelMessages("C0SECURITY").length, 1, "the report went into the thread only");

  assert.deepEqual(
    slack.calls().map((c) => c.method),
    ["chat.postMessage", "files.getUploadURLExternal", UPLOAD_URL_TARGET, "files.completeUploadExternal"],
  );
  const response = must(slack.calls("files.getUploadURLExternal")[0]).response as { upload_url: string };
  const uploadUrl = response.upload_url;
  assert.ok(uploadUrl.startsWith(`${slack.url}/upload/`), uploadUrl);
});

test("the upload URL takes raw bytes; completing a file that was never uploaded fails", async (t) => {
  const { slack, client } = await start(t);
  const json = Buffer.from('{"findings":[]}');
  const target = await client.files.getUploadURLExternal({ filename: "findings.json", length: json.length });
  const upload = await fetch(must(target.upload_url), { method: "POST", body: json });
  assert.equal(upload.status, 200);
  assert.equal(await upload.text(), `OK - ${json.length}`);
  await client.files.completeUploadExternal({
    files: [{ id: must(target.file_id), title: "Findings" }],
    channel_id: "C0GENERAL",
  });
  const [file] = slack.filesIn("C0GENERAL");
  assert.equal(file?.title, "Findings");
  assert.deepEqual(file?.bytes, json);

  const never = await client.files.getUploadURLExternal({ filename: "x.txt", length: 1 });
  await assert.rejects(
    client.files.completeUploadExternal({ files: [{ id: must(never.file_id) }], channel_id: "C0GENERAL" }),
    slackError("file_not_found"),
  );
});

test("injected Slack errors and upload URL failures reach the caller", async (t) => {
  const { slack, client } = await start(t);
  slack.injectFault("files.getUploadURLExternal", { kind: "slack_error", error: "file_uploads_disabled" });
  await assert.rejects(
    client.filesUploadV2({ channel_id: "C0GENERAL", content: "report", filename: "r.txt" }),
    slackError("file_uploads_disabled"),
  );
  assert.deepEqual(slack.filesIn("C0GENERAL"), []);

  slack.injectFault(UPLOAD_URL_TARGET, { kind: "http_error", status: 503 });
  await client.filesUploadV2({ channel_id: "C0GENERAL", content: "report", filename: "r.txt" });
  assert.deepEqual(
    slack.calls(UPLOAD_URL_TARGET).map((c) => c.status),
    [503, 200],
    "the WebClient retried the upload",
  );
  assert.equal(slack.filesIn("C0GENERAL")[0]?.bytes?.toString(), "report");

  slack.injectFault("auth.test", {
    kind: "slack_error",
    error: "account_inactive",
    times: Number.POSITIVE_INFINITY,
  });
  await assert.rejects(client.auth.test(), slackError("account_inactive"));
  await assert.rejects(client.auth.test(), slackError("account_inactive"));
  slack.clearFaults();
  assert.equal((await client.auth.test()).ok, true);
});

test("a 429 with Retry-After is waited out by the real WebClient", async (t) => {
  const { slack, client } = await start(t);
  slack.injectFault("chat.postMessage", { kind: "rate_limited", retryAfterSec: 1 });
  const announced: number[] = [];
  client.on(WebClientEvent.RATE_LIMITED, (seconds: number) => announced.push(seconds));

  const started = performance.now();
  const sent = await client.chat.postMessage({ channel: "C0GENERAL", text: "after the limit" });
  const elapsed = performance.now() - started;

  assert.equal(sent.ok, true);
  assert.ok(elapsed >= 950, `waited ${elapsed} ms`);
  assert.deepEqual(announced, [1]);
  const attempts = slack.calls("chat.postMessage");
  assert.deepEqual(
    attempts.map((c) => [c.status, c.fault]),
    [
      [429, "rate_limited"],
      [200, undefined],
    ],
  );
  assert.deepEqual(attempts[0]?.response, { ok: false, error: "ratelimited" });
  assert.equal(slack.channelMessages("C0GENERAL").length, 1);

  slack.injectFault("auth.test", { kind: "rate_limited", retryAfterSec: 7 });
  const raw = await fetch(`${slack.apiUrl}auth.test`, { method: "POST" });
  assert.equal(raw.status, 429);
  assert.equal(raw.headers.get("retry-after"), "7");
});

test("5xx answers are retried by the WebClient and delays slow the answer down", async (t) => {
  const { slack, client } = await start(t);
  slack.injectFault("chat.postMessage", { kind: "http_error", status: 503, times: 2 });
  await client.chat.postMessage({ channel: "C0GENERAL", text: "eventually" });
  assert.deepEqual(
    slack.calls("chat.postMessage").map((c) => c.status),
    [503, 503, 200],
  );
  assert.equal(slack.channelMessages("C0GENERAL").length, 1, "failed attempts stored nothing");

  slack.injectFault("auth.test", { kind: "delay", ms: 300 });
  const started = performance.now();
  await client.auth.test();
  assert.ok(performance.now() - started >= 290);
});

test("tokens come from the Authorization header or the token field, and bodies may be JSON", async (t) => {
  const { slack } = await start(t);
  await assert.rejects(webClient(slack, "xoxb-forged").auth.test(), slackError("invalid_auth"));

  const anonymous = await fetch(`${slack.apiUrl}auth.test`, { method: "POST" });
  assert.deepEqual(await anonymous.json(), { ok: false, error: "not_authed" });

  const form = await fetch(`${slack.apiUrl}chat.postMessage`, {
    method: "POST",
    body: new URLSearchParams({ token: slack.botToken, channel: "C0GENERAL", text: "via form" }),
  });
  assert.equal(((await form.json()) as { ok: boolean }).ok, true);

  const json = await fetch(`${slack.apiUrl}chat.postMessage`, {
    method: "POST",
    headers: { authorization: `Bearer ${slack.botToken}`, "content-type": "application/json; charset=utf-8" },
    body: JSON.stringify({ channel: "C0GENERAL", text: "via json", blocks: [section("json")] }),
  });
  assert.equal(((await json.json()) as { ok: boolean }).ok, true);
  assert.deepEqual(
    slack.channelMessages("C0GENERAL").map((m) => m.text),
    ["via form", "via json"],
  );
  assert.equal(slack.channelMessages("C0GENERAL")[1]?.blocks?.length, 1);

  const broken = await fetch(`${slack.apiUrl}chat.postMessage`, {
    method: "POST",
    headers: { authorization: `Bearer ${slack.botToken}`, "content-type": "application/json" },
    body: "{",
  });
  assert.deepEqual(await broken.json(), { ok: false, error: "invalid_json" });
});

test("unknown methods answer unknown_method and are recorded for the test to notice", async (t) => {
  const { slack, client } = await start(t);
  await client.auth.test();
  await assert.rejects(
    client.apiCall("admin.users.list", { channel: "C0GENERAL" }),
    slackError("unknown_method"),
  );
  const unknown = slack.unknownCalls();
  assert.equal(unknown.length, 1);
  assert.equal(unknown[0]?.method, "admin.users.list");
  assert.equal(unknown[0]?.args.channel, "C0GENERAL");
});

test("directory methods answer with Slack's shapes", async (t) => {
  const { slack, client } = await start(t, {
    users: [{ id: "U0ALICE", name: "alice", realName: "Alice Admin", isAdmin: true }],
    userGroups: [{ id: "S0SEC", handle: "security", users: ["U0ALICE"] }],
  });
  const auth = await client.auth.test();
  assert.equal(auth.user_id, slack.bot.userId);
  assert.equal(auth.bot_id, slack.bot.botId);
  assert.equal(auth.team_id, slack.team.id);

  const { user } = await client.users.info({ user: "U0ALICE" });
  assert.equal(user?.real_name, "Alice Admin");
  assert.equal(user?.is_admin, true);
  await assert.rejects(client.users.info({ user: "U0GHOST" }), slackError("user_not_found"));

  assert.deepEqual((await client.usergroups.users.list({ usergroup: "S0SEC" })).users, ["U0ALICE"]);
  await assert.rejects(client.usergroups.users.list({ usergroup: "S0NONE" }), slackError("no_such_subteam"));

  const info = await client.conversations.info({ channel: "C0SECURITY" });
  assert.equal(info.channel?.name, "security");
  assert.equal(info.channel?.is_member, true);

  const dm = await client.conversations.open({ users: "U0ALICE" });
  const dmId = must(dm.channel?.id);
  assert.match(dmId, /^D/);
  assert.equal((await client.conversations.open({ users: "U0ALICE" })).channel?.id, dmId, "the same DM");
  await client.chat.postMessage({ channel: dmId, text: "hi in DM" });
  const byUser = await client.chat.postMessage({ channel: "U0ALICE", text: "also in DM" });
  assert.equal(byUser.channel, dmId);
  assert.equal(slack.channelMessages(dmId).length, 2);
});

test("chat.delete, membership and archived channels", async (t) => {
  const { slack, client } = await start(t, {
    channels: [
      { id: "C0GENERAL", name: "general" },
      { id: "C0QUIET", name: "quiet", botIsMember: false },
      { id: "C0OLD", name: "old", isArchived: true },
    ],
  });
  await assert.rejects(
    client.chat.postMessage({ channel: "C0QUIET", text: "x" }),
    slackError("not_in_channel"),
  );
  await assert.rejects(client.chat.postMessage({ channel: "C0OLD", text: "x" }), slackError("is_archived"));

  const parent = must((await client.chat.postMessage({ channel: "general", text: "parent" })).ts);
  const reply = must(
    (await client.chat.postMessage({ channel: "C0GENERAL", thread_ts: parent, text: "r" })).ts,
  );
  await client.chat.delete({ channel: "C0GENERAL", ts: reply });
  assert.equal(slack.message("C0GENERAL", parent)?.replyCount, 0);
  assert.equal(slack.message("C0GENERAL", reply), undefined);
  const human = slack.postAsUser({ user: "U0BOB", channel: "C0GENERAL", text: "mine" });
  await assert.rejects(
    client.chat.delete({ channel: "C0GENERAL", ts: human.ts }),
    slackError("cant_delete_message"),
  );
});

test("close() shuts the server and its open connections", async () => {
  const slack = await SlackEmulator.start();
  const client = webClient(slack);
  await client.auth.test();
  await slack.close();
  await assert.rejects(fetch(`${slack.apiUrl}auth.test`, { method: "POST" }));
});
