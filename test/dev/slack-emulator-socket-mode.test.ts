import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { App, SocketModeReceiver } from "@slack/bolt";
import { retryPolicies, WebClient } from "@slack/web-api";
import { WebSocket } from "undici";
import {
  CONNECTIONS_OPEN,
  type JsonObject,
  SlackEmulator,
  type SlackEmulatorOptions,
} from "../../dev/slack-emulator/index.js";
import { closeServer, listenLocal, readBody } from "../support/http.js";
import { silent } from "../support/silent.js";

const CHANNEL = "C0SECURITY";

async function startEmulator(t: TestContext, options: SlackEmulatorOptions = {}) {
  const slack = await SlackEmulator.start({ ackTimeoutMs: 1000, ...options });
  t.after(() => slack.close());
  return slack;
}

function api(slack: SlackEmulator, token: string) {
  return new WebClient(token, {
    slackApiUrl: slack.apiUrl,
    retryConfig: retryPolicies.rapidRetryPolicy,
    logger: silent,
  });
}

function slackError(code: string) {
  return (error: unknown) => {
    assert.equal((error as { data?: { error?: string } }).data?.error, code);
    return true;
  };
}

/** What a Bolt handler saw: the body Bolt built from the envelope. */
interface Seen {
  kind: string;
  body: JsonObject;
}

/**
 * A small Bolt app in Socket Mode against the emulator, the way the bot builds it: the receiver's own
 * client gets slackApiUrl through installerOptions.clientOptions. Short ping timeouts keep reconnects fast.
 */
async function startBoltApp(t: TestContext, slack: SlackEmulator) {
  const seen: Seen[] = [];
  const receiver = new SocketModeReceiver({
    appToken: slack.appToken,
    logger: silent,
    clientPingTimeout: 600,
    installerOptions: { clientOptions: { slackApiUrl: slack.apiUrl } },
  });
  const app = new App({
    token: slack.botToken,
    receiver,
    logger: silent,
    clientOptions: { slackApiUrl: slack.apiUrl, retryConfig: retryPolicies.rapidRetryPolicy },
  });
  app.command("/crashtest", async ({ command, ack, client, body }) => {
    seen.push({ kind: "command", body: body as unknown as JsonObject });
    switch (command.text) {
      case "ephemeral":
        await ack({ response_type: "ephemeral", text: "only you see this" });
        return;
      case "public":
        await ack({ response_type: "in_channel", text: "everyone sees this" });
        return;
      case "string":
        await ack("plain words");
        return;
      case "silent":
        return;
      case "modal":
        await ack();
        await client.views.open({
          trigger_id: command.trigger_id,
          view: {
            type: "modal",
            callback_id: "target",
            title: { type: "plain_text", text: "Target" },
            submit: { type: "plain_text", text: "Save" },
            blocks: [
              {
                type: "input",
                block_id: "url",
                label: { type: "plain_text", text: "URL" },
                element: { type: "plain_text_input", action_id: "value" },
              },
            ],
          },
        });
        return;
      default:
        await ack();
    }
  });
  app.action("approve", async ({ ack, body }) => {
    seen.push({ kind: "action", body: body as unknown as JsonObject });
    await ack();
  });
  app.view("target", async ({ ack, view, body }) => {
    seen.push({ kind: "view", body: body as unknown as JsonObject });
    const url = view.state.values.url?.value?.value ?? "";
    if (!url.startsWith("https://")) await ack({ response_action: "errors", errors: { url: "Use https" } });
    else await ack();
  });
  app.event("app_home_opened", async ({ body }) => {
    seen.push({ kind: "event", body: body as unknown as JsonObject });
  });
  await app.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.stop();
  };
  t.after(stop);
  return { app, receiver, seen, stop };
}

const card = {
  channel: CHANNEL,
  text: "Scan 42 needs approval",
  blocks: [
    {
      type: "actions" as const,
      block_id: "scan_actions",
      elements: [
        {
          type: "button" as const,
          action_id: "approve",
          text: { type: "plain_text" as const, text: "Approve" },
          value: "scan-42",
        },
      ],
    },
  ],
};

test("apps.connections.open takes only the app-level token and hands out a ws:// URL on loopback", async (t) => {
  const slack = await startEmulator(t, { appToken: "xapp-1-A0TEST-1-secret" });
  assert.equal(slack.appToken, "xapp-1-A0TEST-1-secret");
  const opened = await api(slack, slack.appToken).apps.connections.open();
  assert.equal(opened.ok, true);
  const url = new URL(String(opened.url));
  assert.equal(url.protocol, "ws:");
  assert.equal(url.host, new URL(slack.url).host);
  assert.equal(url.pathname, "/link/");
  assert.ok(url.searchParams.get("ticket"));
  assert.equal(url.searchParams.get("app_id"), slack.bot.appId);

  await assert.rejects(
    api(slack, "xapp-1-A0TEST-1-wrong").apps.connections.open(),
    slackError("invalid_auth"),
  );
  await assert.rejects(
    api(slack, slack.botToken).apps.connections.open(),
    slackError("not_allowed_token_type"),
  );
  await assert.rejects(api(slack, "").apps.connections.open(), slackError("not_authed"));
  // The app-level token is no bot token.
  await assert.rejects(
    api(slack, slack.appToken).chat.postMessage({ channel: CHANNEL, text: "hi" }),
    slackError("not_allowed_token_type"),
  );
  const calls = slack.calls(CONNECTIONS_OPEN);
  assert.deepEqual(
    calls.map((c) => [c.token, c.unknown]),
    [
      [slack.appToken, false],
      ["xapp-1-A0TEST-1-wrong", false],
      [slack.botToken, false],
      [undefined, false],
    ],
  );
  assert.equal(slack.unknownCalls().length, 0);
});

test("apps.connections.open takes injected faults like any Web API method", async (t) => {
  const slack = await startEmulator(t);
  slack.injectFault(CONNECTIONS_OPEN, { kind: "slack_error", error: "invalid_auth" });
  await assert.rejects(api(slack, slack.appToken).apps.connections.open(), slackError("invalid_auth"));
  assert.equal((await api(slack, slack.appToken).apps.connections.open()).ok, true);
});

/** A raw WebSocket client (undici's, as the SDK uses) that keeps every text message. */
async function rawSocket(url: string) {
  const ws = new WebSocket(url);
  const messages: JsonObject[] = [];
  ws.addEventListener("message", (event) => {
    messages.push(JSON.parse(String(event.data)) as JsonObject);
  });
  const closed = new Promise<{ code: number }>((resolve) =>
    ws.addEventListener("close", (event) => resolve({ code: event.code })),
  );
  const opened = new Promise<boolean>((resolve) => {
    ws.addEventListener("open", () => resolve(true));
    ws.addEventListener("error", () => resolve(false));
  });
  return { ws, messages, closed, opened: await opened };
}

test("a ticket opens one connection, which starts with hello; wrong paths and tickets are refused", async (t) => {
  const slack = await startEmulator(t);
  const { url } = await api(slack, slack.appToken).apps.connections.open();
  const first = await rawSocket(String(url));
  assert.equal(first.opened, true);
  await slack.waitForSocket();
  assert.equal(slack.socketConnected, true);
  const hello = await waitFor(() => first.messages[0]);
  assert.equal(hello.type, "hello");
  assert.equal(hello.num_connections, 1);
  assert.deepEqual(hello.connection_info, { app_id: slack.bot.appId });
  assert.equal(typeof (hello.debug_info as JsonObject).host, "string");

  const reused = await rawSocket(String(url));
  assert.equal(reused.opened, false, "a ticket is good for one connection");
  const forged = await rawSocket(`${slack.url.replace("http", "ws")}/link/?ticket=forged`);
  assert.equal(forged.opened, false);
  const elsewhere = await rawSocket(`${slack.url.replace("http", "ws")}/api/chat.postMessage`);
  assert.equal(elsewhere.opened, false);

  const second = await rawSocket(String((await api(slack, slack.appToken).apps.connections.open()).url));
  assert.equal((await waitFor(() => second.messages[0])).num_connections, 2);

  // Acks for envelopes that were never sent are recorded, not fatal.
  first.ws.send(JSON.stringify({ envelope_id: "never-sent", payload: { text: "?" } }));
  const stray = await waitFor(() => slack.socketAcks()[0]);
  assert.equal(stray.unknown, true);
  assert.deepEqual(stray.payload, { text: "?" });

  first.ws.close(1000);
  assert.equal((await first.closed).code, 1000);
  await waitFor(() => slack.socketConnections().find((c) => c.id === "conn-1" && !c.open));
  assert.equal(slack.socketConnections()[0]?.closeCode, 1000);
  assert.equal(slack.socketConnected, true, "the second connection is still open");
  await slack.close();
  assert.equal((await second.closed).code, 1001, "the emulator going away closes with 1001");
});

test("deliveries go over Socket Mode once Bolt is connected; results keep the HTTP shape", async (t) => {
  const slack = await startEmulator(t);
  const bolt = await startBoltApp(t, slack);
  assert.equal(slack.socketConnected, true);
  assert.equal(slack.calls(CONNECTIONS_OPEN)[0]?.token, slack.appToken);

  const ephemeral = await slack.slashCommand({ user: "U0ALICE", channel: CHANNEL, text: "ephemeral" });
  assert.equal(ephemeral.status, 200);
  assert.equal(ephemeral.transport, "socket");
  assert.equal(ephemeral.timedOut, false);
  assert.deepEqual(ephemeral.json, { response_type: "ephemeral", text: "only you see this" });
  assert.equal(slack.ephemerals("U0ALICE").at(-1)?.text, "only you see this");
  assert.equal(slack.ephemerals("U0ALICE").at(-1)?.source, "ack");

  // The envelope: slash_commands with the form fields as an object, as Slack sends them.
  const envelope = JSON.parse(ephemeral.sent.body) as JsonObject;
  assert.equal(envelope.type, "slash_commands");
  assert.equal(envelope.accepts_response_payload, true);
  assert.equal(envelope.envelope_id, ephemeral.envelopeId);
  const fields = envelope.payload as JsonObject;
  assert.equal(fields.text, "ephemeral");
  assert.equal(fields.response_url, ephemeral.responseUrl);
  assert.equal(fields.trigger_id, ephemeral.triggerId);
  assert.deepEqual(bolt.seen[0]?.body, fields, "Bolt hands the payload to the listener unchanged");

  await slack.slashCommand({ user: "U0ALICE", channel: CHANNEL, text: "public" });
  assert.equal(slack.channelMessages(CHANNEL).at(-1)?.text, "everyone sees this");
  const plain = await slack.slashCommand({ user: "U0ALICE", channel: CHANNEL, text: "string" });
  assert.deepEqual(plain.json, { text: "plain words" });
  assert.equal(slack.ephemerals("U0ALICE").at(-1)?.text, "plain words");

  // An empty ack is an empty body, as over HTTP.
  const empty = await slack.slashCommand({ user: "U0ALICE", channel: CHANNEL, text: "nothing" });
  assert.equal(empty.status, 200);
  assert.equal(empty.body, "");
  assert.equal(empty.json, undefined);
  const acks = slack.socketAcks();
  assert.deepEqual(acks.at(-1)?.payload, {}, "Bolt acks with an empty payload object");
  assert.equal(acks.at(-1)?.envelopeId, empty.envelopeId);
  assert.equal(acks.at(-1)?.type, "slash_commands");

  const deliveries = slack.deliveries("slash_command");
  assert.equal(deliveries.length, 4);
  assert.ok(deliveries.every((d) => d.transport === "socket" && d.status === 200 && d.envelopeId));
});

test("clicks, view submissions and events arrive as interactive and events_api envelopes", async (t) => {
  const slack = await startEmulator(t);
  const bolt = await startBoltApp(t, slack);
  const posted = await api(slack, slack.botToken).chat.postMessage(card);
  const click = await slack.click({
    user: "U0BOB",
    channel: CHANNEL,
    messageTs: String(posted.ts),
    actionId: "approve",
  });
  assert.equal(click.status, 200);
  assert.equal(click.body, "");
  const clickEnvelope = JSON.parse(click.sent.body) as JsonObject;
  assert.equal(clickEnvelope.type, "interactive");
  assert.equal(clickEnvelope.accepts_response_payload, true);
  assert.deepEqual(clickEnvelope.payload, click.payload, "the same JSON as the HTTP payload field");
  assert.deepEqual(bolt.seen.find((s) => s.kind === "action")?.body, click.payload);

  // A modal, opened with the command's trigger_id, then submitted: the ack's response_action applies.
  await slack.slashCommand({ user: "U0BOB", channel: CHANNEL, text: "modal" });
  const modal = await waitFor(() => slack.views("U0BOB").find((v) => v.type === "modal" && v.open));
  const refused = await slack.submitView({
    user: "U0BOB",
    viewId: modal.id,
    values: { url: { value: "ftp://x" } },
  });
  assert.equal(refused.status, 200);
  assert.deepEqual(refused.json, { response_action: "errors", errors: { url: "Use https" } });
  assert.equal(slack.views("U0BOB").find((v) => v.id === modal.id)?.open, true);
  assert.deepEqual(slack.views("U0BOB").find((v) => v.id === modal.id)?.errors, { url: "Use https" });
  const accepted = await slack.submitView({
    user: "U0BOB",
    viewId: modal.id,
    values: { url: { value: "https://shop.example" } },
  });
  assert.equal(accepted.body, "");
  assert.equal(slack.views("U0BOB").find((v) => v.id === modal.id)?.open, false, "an empty ack closes it");
  assert.equal((JSON.parse(accepted.sent.body) as JsonObject).type, "interactive");

  const home = await slack.homeOpened("U0BOB", { retryNum: 1, retryReason: "timeout" });
  assert.equal(home.status, 200);
  const eventEnvelope = JSON.parse(home.sent.body) as JsonObject;
  assert.equal(eventEnvelope.type, "events_api");
  assert.equal(eventEnvelope.accepts_response_payload, false);
  assert.equal(eventEnvelope.retry_attempt, 1);
  assert.equal(eventEnvelope.retry_reason, "timeout");
  assert.deepEqual(eventEnvelope.payload, home.envelope, "the same Events API envelope as over HTTP");
  await waitFor(() => bolt.seen.find((s) => s.kind === "event"));
  assert.deepEqual(bolt.seen.find((s) => s.kind === "event")?.body, home.envelope);
});

test("no ack within ackTimeoutMs is a timeout; a late ack is recorded as late", async (t) => {
  const slack = await startEmulator(t, { ackTimeoutMs: 200 });
  const { url } = await api(slack, slack.appToken).apps.connections.open();
  const client = await rawSocket(String(url));
  await waitFor(() => client.messages[0]);
  const result = await slack.slashCommand({ user: "U0ALICE", channel: CHANNEL, text: "slow" });
  assert.equal(result.timedOut, true);
  assert.equal(result.status, 0);
  assert.ok(result.elapsedMs >= 190);
  const envelope = await waitFor(() => client.messages.find((m) => m.type === "slash_commands"));
  client.ws.send(JSON.stringify({ envelope_id: envelope.envelope_id, payload: { text: "too late" } }));
  client.ws.send(JSON.stringify({ envelope_id: envelope.envelope_id }));
  const late = await waitFor(() => (slack.socketAcks().length === 2 ? slack.socketAcks() : undefined));
  assert.deepEqual(
    late.map((a) => [a.late, a.duplicate, a.unknown]),
    [
      [true, false, false],
      [true, false, false],
    ],
  );
  assert.equal(slack.ephemerals("U0ALICE").length, 0, "a late ack is not shown");
  assert.equal(slack.deliveries()[0]?.timedOut, true);
});

test("a duplicate ack is recorded as such and changes nothing", async (t) => {
  const slack = await startEmulator(t);
  const { url } = await api(slack, slack.appToken).apps.connections.open();
  const client = await rawSocket(String(url));
  await waitFor(() => client.messages[0]);
  client.ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as JsonObject;
    if (message.type !== "slash_commands") return;
    client.ws.send(JSON.stringify({ envelope_id: message.envelope_id, payload: { text: "first" } }));
    client.ws.send(JSON.stringify({ envelope_id: message.envelope_id, payload: { text: "second" } }));
  });
  const result = await slack.slashCommand({ user: "U0ALICE", channel: CHANNEL, text: "x" });
  assert.deepEqual(result.json, { text: "first" });
  const acks = await waitFor(() => (slack.socketAcks().length === 2 ? slack.socketAcks() : undefined));
  assert.deepEqual(
    acks.map((a) => a.duplicate),
    [false, true],
  );
  assert.deepEqual(
    slack.ephemerals("U0ALICE").map((m) => m.text),
    ["first"],
  );
});

test("transport: http keeps deliveries on HTTP, socket without a client fails, requestUrl forces HTTP", async (t) => {
  const requests: string[] = [];
  const { createServer } = await import("node:http");
  const server = createServer(async (req, res) => {
    requests.push((await readBody(req)).toString("utf8"));
    res.end();
  });
  const endpoint = `${await listenLocal(server)}/slack/events`;
  t.after(() => closeServer(server));

  const slack = await startEmulator(t, { transport: "socket" });
  await assert.rejects(
    slack.slashCommand({ user: "U0ALICE", channel: CHANNEL, text: "x" }),
    /no Socket Mode connection/,
  );
  assert.match(slack.deliveries()[0]?.error ?? "", /no Socket Mode connection/);
  const forced = await slack.slashCommand({
    user: "U0ALICE",
    channel: CHANNEL,
    text: "y",
    requestUrl: endpoint,
  });
  assert.equal(forced.transport, "http");
  assert.equal(requests.length, 1);

  await startBoltApp(t, slack);
  slack.transport = "http";
  slack.requestUrl = endpoint;
  const viaHttp = await slack.slashCommand({ user: "U0ALICE", channel: CHANNEL, text: "z" });
  assert.equal(viaHttp.transport, "http");
  assert.equal(requests.length, 2);
  slack.transport = "auto";
  assert.equal(
    (await slack.slashCommand({ user: "U0ALICE", channel: CHANNEL, text: "w" })).transport,
    "socket",
  );
  assert.equal(requests.length, 2);
});

test("pings are answered, so the SDK's heartbeat keeps one connection open", async (t) => {
  const slack = await startEmulator(t);
  await startBoltApp(t, slack);
  // clientPingTimeout 600 ms: a ping every 200 ms; without pongs the SDK drops the socket after ~800 ms.
  await sleep(1300);
  const [only, ...others] = slack.socketConnections();
  assert.equal(others.length, 0, "no reconnect");
  assert.equal(only?.open, true);
  assert.ok((only?.pings ?? 0) >= 4, `pings answered: ${only?.pings}`);
  slack.pingSockets(); // server pings are answered by the client; the connection stays up
  await sleep(50);
  assert.equal(slack.socketConnected, true);
});

test("disconnect (refresh_requested) makes the SDK reconnect with a new URL; deliveries resume", async (t) => {
  const slack = await startEmulator(t);
  await startBoltApp(t, slack);
  assert.equal(slack.requestSocketDisconnect("refresh_requested"), 1);
  await waitFor(() => slack.socketConnections()[1]?.open, 4000);
  assert.equal(slack.socketConnections()[0]?.open, false);
  assert.equal(slack.socketConnections()[0]?.closeCode, 1000, "the client closed cleanly");
  assert.equal(slack.calls(CONNECTIONS_OPEN).length, 2);
  const result = await slack.slashCommand({ user: "U0ALICE", channel: CHANNEL, text: "ephemeral" });
  assert.equal(result.status, 200);
  assert.equal(slack.socketConnections()[1]?.envelopes, 1);

  // A dropped connection (no close frame) also ends in a reconnect.
  assert.equal(slack.dropSockets(), 1);
  await waitFor(() => slack.socketConnections()[2]?.open, 4000);
  assert.equal(slack.socketConnections()[1]?.closeCode, 1006);
});

test("stopping the Bolt app closes its socket with 1000 and does not reconnect", async (t) => {
  const slack = await startEmulator(t);
  const bolt = await startBoltApp(t, slack);
  await bolt.stop();
  await waitFor(() => !slack.socketConnected);
  assert.equal(slack.socketConnections()[0]?.closeCode, 1000);
  await sleep(500);
  assert.equal(slack.calls(CONNECTIONS_OPEN).length, 1);
});

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 2000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}
