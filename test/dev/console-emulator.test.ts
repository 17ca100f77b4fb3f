/** The emulator hooks the console relies on: change events, recorded deliveries, view clicks and closes. */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type TestContext, test } from "node:test";
import { retryPolicies, WebClient } from "@slack/web-api";
import { type EmulatorChange, SlackEmulator } from "../../dev/slack-emulator/index.js";
import { silent } from "../support/silent.js";

const plain = (text: string) => ({ type: "plain_text" as const, text });

/** A stand-in bot endpoint that records interaction payloads and acks with an empty 200. */
async function fakeBot(t: TestContext) {
  const payloads: Array<Record<string, unknown>> = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      const form = new URLSearchParams(body);
      payloads.push(JSON.parse(form.get("payload") ?? "{}") as Record<string, unknown>);
      res.writeHead(200).end();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`, payloads };
}

async function start(t: TestContext) {
  const bot = await fakeBot(t);
  const emulator = await SlackEmulator.start({ requestUrl: bot.url });
  t.after(() => emulator.close());
  const client = new WebClient(emulator.botToken, {
    slackApiUrl: emulator.apiUrl,
    retryConfig: retryPolicies.rapidRetryPolicy,
    logger: silent,
  });
  const changes: EmulatorChange[] = [];
  const off = emulator.onChange((change) => changes.push(change));
  return { emulator, client, changes, off, bot };
}

test("onChange reports messages, ephemerals, files, views and API calls in order; off stops it", async (t) => {
  const { client, changes, off } = await start(t);
  const parent = await client.chat.postMessage({ channel: "C0GENERAL", text: "card" });
  const ts = String(parent.ts);
  await client.chat.update({ channel: "C0GENERAL", ts, text: "card v2" });
  await client.chat.postMessage({ channel: "C0GENERAL", thread_ts: ts, text: "reply" });
  await client.chat.postEphemeral({ channel: "C0GENERAL", user: "U0BOB", text: "psst" });
  await client.filesUploadV2({ channel_id: "C0GENERAL", thread_ts: ts, content: "x", filename: "r.txt" });
  await client.views.publish({ user_id: "U0ALICE", view: { type: "home", blocks: [] } });
  await client.chat.delete({ channel: "C0GENERAL", ts });
  const kinds = changes.filter((c) => c.kind !== "api_call").map((c) => c.kind);
  assert.deepEqual(kinds, [
    "message_posted",
    "message_updated",
    "message_posted",
    "ephemeral_posted",
    "message_posted",
    "files_shared",
    "view_opened",
    "message_deleted",
  ]);
  const reply = changes.filter((c) => c.kind === "message_posted")[1];
  assert.deepEqual(reply && "threadTs" in reply ? reply.threadTs : undefined, ts);
  assert.ok(changes.some((c) => c.kind === "api_call" && c.method === "files.getUploadURLExternal" && c.ok));
  assert.ok(changes.some((c) => c.kind === "api_call" && c.method === "upload_url" && c.ok));

  off();
  const before = changes.length;
  await client.chat.postMessage({ channel: "C0GENERAL", text: "unseen" });
  assert.equal(changes.length, before);
});

test("a failed call is an api_call change with its error; a throwing listener does not break Slack", async (t) => {
  const { emulator, client, changes } = await start(t);
  emulator.onChange(() => {
    throw new Error("listener bug");
  });
  await assert.rejects(client.chat.postMessage({ channel: "C0NOPE", text: "x" }));
  assert.deepEqual(changes.at(-1), {
    kind: "api_call",
    method: "chat.postMessage",
    ok: false,
    error: "channel_not_found",
  });
  const ok = await client.chat.postMessage({ channel: "C0GENERAL", text: "still works" });
  assert.equal(ok.ok, true);
});

test("deliveries() records what reached the bot and how it answered", async (t) => {
  const { emulator, changes } = await start(t);
  await emulator.slashCommand({ user: "U0ALICE", channel: "C0GENERAL", text: "help me" });
  const [delivery] = emulator.deliveries();
  assert.equal(delivery?.type, "slash_command");
  assert.equal(delivery?.payload.text, "help me");
  assert.equal(delivery?.status, 200);
  assert.equal(delivery?.timedOut, false);
  assert.ok(changes.some((c) => c.kind === "delivery" && c.delivery.type === "slash_command"));
  assert.deepEqual(emulator.deliveries("block_actions"), []);
});

test("clickInView sends block_actions from a Home tab or modal; closeView closes and notifies", async (t) => {
  const { emulator, client, changes, bot } = await start(t);
  await client.views.publish({
    user_id: "U0ALICE",
    view: {
      type: "home",
      blocks: [
        {
          type: "actions",
          block_id: "b",
          elements: [{ type: "button", action_id: "new_scan", text: plain("New scan") }],
        },
      ],
    },
  });
  const home = emulator.views("U0ALICE").find((v) => v.type === "home");
  assert.ok(home);
  const click = await emulator.clickInView({ user: "U0ALICE", viewId: home.id, actionId: "new_scan" });
  assert.equal(click.status, 200);
  assert.deepEqual(click.payload.container, { type: "view", view_id: home.id });
  assert.equal((click.payload.actions as Array<{ action_id: string }>)[0]?.action_id, "new_scan");
  await assert.rejects(
    emulator.clickInView({ user: "U0BOB", viewId: home.id, actionId: "new_scan" }),
    /no view/,
  );

  const opened = await client.views.open({
    trigger_id: click.triggerId,
    view: {
      type: "modal",
      title: plain("Scan"),
      notify_on_close: true,
      blocks: [
        {
          type: "input",
          block_id: "p",
          label: plain("Project"),
          element: { type: "plain_text_input", action_id: "v" },
        },
        { type: "actions", elements: [{ type: "button", action_id: "check", text: plain("Check") }] },
      ],
    },
  });
  const modalId = String(opened.view?.id);
  const inModal = await emulator.clickInView({
    user: "U0ALICE",
    viewId: modalId,
    actionId: "check",
    values: { p: { v: "web-shop" } },
  });
  const state = (inModal.payload.view as { state: { values: unknown } }).state.values;
  assert.deepEqual(state, { p: { v: { type: "plain_text_input", value: "web-shop" } } });

  const closed = await emulator.closeView({ user: "U0ALICE", viewId: modalId });
  assert.equal(closed?.status, 200);
  assert.equal(emulator.views("U0ALICE").find((v) => v.id === modalId)?.open, false);
  assert.ok(changes.some((c) => c.kind === "view_closed" && c.viewId === modalId));
  assert.equal(bot.payloads.at(-1)?.type, "view_closed");
  assert.equal(bot.payloads.at(-1)?.is_cleared, false);
  await assert.rejects(emulator.closeView({ user: "U0ALICE", viewId: modalId }), /no open modal/);
});

test("channels(), channel(ref) and users() describe the directory", async (t) => {
  const { emulator } = await start(t);
  assert.deepEqual(
    emulator.channels().map((c) => c.name),
    ["general", "security"],
  );
  const dm = emulator.channel("U0BOB");
  assert.equal(dm?.isIm, true);
  assert.equal(dm?.imUser, "U0BOB");
  assert.equal(emulator.channel("#security")?.id, "C0SECURITY");
  assert.equal(emulator.channel("nope"), undefined);
  assert.deepEqual(
    emulator.users().map((u) => u.id),
    ["U0ALICE", "U0BOB", "U0CRASHBOT"],
  );
  assert.deepEqual(emulator.userGroups(), [{ id: "S0APPROVERS", handle: "approvers", users: ["U0ALICE"] }]);
});
