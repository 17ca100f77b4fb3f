import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { retryPolicies, WebClient } from "@slack/web-api";
import { ConsoleSession } from "../../dev/console/session.js";
import { SlackEmulator } from "../../dev/slack-emulator/index.js";
import { silent } from "../support/silent.js";

const plain = (text: string) => ({ type: "plain_text" as const, text });
const button = (action_id: string, text: string) => ({
  type: "button" as const,
  action_id,
  text: plain(text),
});

/** A session on an emulator with no bot behind it: enough for rendering, numbering and refusals. */
async function start(t: TestContext) {
  const emulator = await SlackEmulator.start();
  t.after(() => emulator.close());
  let out = "";
  const session = new ConsoleSession({
    emulator,
    write: (text) => {
      out += text;
    },
    roles: new Map([["U0ALICE", ["admin"]]]),
    user: "U0ALICE",
    channel: "C0GENERAL",
    quietMs: 20,
    settleMaxMs: 1000,
  });
  t.after(() => session.close());
  const client = new WebClient(emulator.botToken, {
    slackApiUrl: emulator.apiUrl,
    retryConfig: retryPolicies.rapidRetryPolicy,
    logger: silent,
  });
  const take = () => {
    const text = out;
    out = "";
    return text;
  };
  return { emulator, session, client, take };
}

test("card edits keep button numbers; removed buttons and deleted cards cannot be pressed", async (t) => {
  const { session, client, take } = await start(t);
  const card = await client.chat.postMessage({
    channel: "C0GENERAL",
    text: "Approve?",
    blocks: [{ type: "actions", elements: [button("approve", "Approve"), button("deny", "Deny")] }],
  });
  await session.settle();
  assert.match(take(), /message 1 from @crashtest \(app\)\n {3}\[1\] Approve {2}\[2\] Deny\n/);

  await client.chat.update({
    channel: "C0GENERAL",
    ts: String(card.ts),
    text: "Approved",
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: "Approved by <@U0ALICE>" } },
      { type: "actions", elements: [button("approve", "Approve again")] },
    ],
  });
  await client.chat.update({ channel: "C0GENERAL", ts: String(card.ts), text: "Approved" });
  await session.settle();
  const edited = take();
  assert.equal(edited.match(/edited by/g)?.length, 1, "two quick edits show once, as the card is now");
  assert.match(
    edited,
    /message 1 edited by @crashtest \(app\)\n {3}Approved by @alice\n {3}\[1\] Approve again\n/,
  );

  await session.handle("press 2");
  assert.match(take(), /Cannot press \[2\]: that button is no longer there/);

  await client.chat.delete({ channel: "C0GENERAL", ts: String(card.ts) });
  await session.settle();
  assert.match(take(), /── #general · message 1 was deleted\n/);
  await session.handle("press 1");
  assert.match(take(), /Cannot press \[1\]: that message was deleted\./);
  await session.handle("thread 1");
  assert.match(take(), /Message 1 was deleted\./);
});

test("Home tabs, other people's views, failed API calls and the prompt", async (t) => {
  const { session, client, take } = await start(t);
  assert.equal(session.prompt(), "alice@#general> ");
  await client.views.publish({
    user_id: "U0ALICE",
    view: { type: "home", blocks: [{ type: "section", text: { type: "mrkdwn", text: "Your scans" } }] },
  });
  await client.views.publish({
    user_id: "U0BOB",
    view: { type: "home", blocks: [{ type: "section", text: { type: "mrkdwn", text: "Bob's scans" } }] },
  });
  await client.chat.postMessage({ channel: "C0NOWHERE", text: "lost" }).catch(() => undefined);
  await session.settle();
  const text = take();
  assert.match(text, /── Home tab of @alice\n {3}Your scans\n/);
  assert.match(text, /\(the app updated @bob's Home tab\)/);
  assert.doesNotMatch(text, /Bob's scans/);
  assert.match(text, /── ! the app's chat\.postMessage call failed: channel_not_found/);

  await session.handle("as bob");
  assert.match(take(), /You are now @bob \(no role\)\./);
  assert.equal(session.prompt(), "bob@#general> ");
  await session.handle("channel dm");
  assert.equal(session.prompt(), "bob@dm> ");
  await session.handle("as @carol");
  assert.match(take(), /No user @carol\. Users: @alice, @bob/);
});
