import assert from "node:assert/strict";
import { test } from "node:test";
import { App, LogLevel, type ReceiverEvent } from "@slack/bolt";
import { actionRouter } from "../../src/slack/action-router.js";

/** A Bolt app fed events directly (no HTTP), with every listener error kept. */
function boltApp() {
  const receiver = { init() {}, start: async () => {}, stop: async () => {} };
  const app = new App({
    authorize: async () => ({ botToken: "xoxb-test", botId: "B0BOT", botUserId: "U0BOT" }),
    receiver: receiver as never,
    logLevel: LogLevel.ERROR,
  });
  const errors: unknown[] = [];
  app.error(async (error) => {
    errors.push(error);
  });
  const click = async (actionId: string, blockId = "card") => {
    const event: ReceiverEvent = {
      body: {
        type: "block_actions",
        team: { id: "T0TEAM" },
        user: { id: "U0ALICE", team_id: "T0TEAM" },
        api_app_id: "A0APP",
        trigger_id: "1.1",
        channel: { id: "C0CHAN" },
        actions: [{ type: "button", action_id: actionId, block_id: blockId, value: "v", action_ts: "1.2" }],
      },
      ack: async () => {},
    };
    await app.processEvent(event);
  };
  return { app, errors, click };
}

test("routed actions: each click runs every route that matches it, as separate Bolt listeners would", async () => {
  const { app, errors, click } = boltApp();
  const ran: string[] = [];
  const routed = actionRouter(app);
  routed.app.action("approve", async ({ ack, action }) => {
    await ack();
    ran.push(`card ${(action as { block_id: string }).block_id}`);
  });
  routed.app.action({ action_id: "approve", block_id: /^home-/ }, async () => {
    ran.push("home redraw");
  });
  routed.app.action("stop.scan", async ({ ack }) => {
    await ack();
    ran.push("stop");
  });
  routed.app.action("broken", async () => {
    throw new Error("boom");
  });
  routed.install();

  await click("approve", "card-7");
  assert.deepEqual(ran, ["card card-7"]);
  await click("approve", "home-7");
  assert.deepEqual(ran.slice(1).sort(), ["card home-7", "home redraw"]);
  // The ID is matched whole and literally: a dot is a dot, a prefix is no match.
  await click("stopxscan");
  await click("stop");
  assert.equal(ran.length, 3);
  await click("stop.scan");
  assert.equal(ran.at(-1), "stop");
  // A listener's failure reaches the app's error handler, as before.
  await click("broken");
  assert.equal(errors.length, 1);
  assert.match(String((errors[0] as { original?: unknown }).original ?? errors[0]), /boom/);
});

test("routed actions: the stand-in registers views and events on the real app; a second listener is refused", async () => {
  const { app, click } = boltApp();
  const routed = actionRouter(app);
  let viewed = 0;
  routed.app.view("modal", async ({ ack }) => {
    await ack();
    viewed++;
  });
  await app.processEvent({
    body: {
      type: "view_submission",
      team: { id: "T0TEAM" },
      user: { id: "U0ALICE", team_id: "T0TEAM" },
      api_app_id: "A0APP",
      view: { id: "V1", callback_id: "modal", state: { values: {} } },
    },
    ack: async () => {},
  });
  assert.equal(viewed, 1);
  assert.throws(
    () =>
      routed.app.action(
        "two",
        async () => {},
        async () => {},
      ),
    /exactly one listener/,
  );
  routed.install();
  await click("anything");
});
