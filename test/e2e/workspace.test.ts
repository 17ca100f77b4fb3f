import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { slackSignatureHeaders } from "../../dev/slack-emulator/index.js";
import { mismatch, requestSource } from "../../src/slack/installation.js";
import {
  eventually,
  PEOPLE,
  SURFACE_EMULATOR,
  SURFACE_ENV,
  startTestBot,
  type TestBot,
} from "../support/bot.js";

/**
 * One workspace, one app: signed requests (valid signatures, so only the installation fields can
 * give them away) for another workspace, organization or app reach no listener.
 */
const CHANNEL = "C0SECURITY";
let t: TestBot;

before(async () => {
  t = await startTestBot({ env: SURFACE_ENV, emulator: SURFACE_EMULATOR });
});
after(() => t.close());

/** Re-signs `body` (as Slack would for this app's secret) and POSTs it to the bot. */
async function postSigned(body: string, contentType: string) {
  const response = await fetch(`${t.baseUrl}/slack/events`, {
    method: "POST",
    headers: { "content-type": contentType, ...slackSignatureHeaders(t.emulator.signingSecret, body) },
    body,
  });
  return { status: response.status, body: await response.text() };
}

const form = (payload: unknown) => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
const refusals = () => t.logs.records().filter((r) => r.msg === "request for another installation refused");

/** A real slash command body as the emulator sends it, with some fields replaced. */
async function commandBody(changes: Record<string, string>): Promise<string> {
  const seen = t.emulator.ephemerals(PEOPLE.admin).length;
  const real = await t.emulator.slashCommand({ user: PEOPLE.admin, channel: CHANNEL, text: "help" });
  await eventually(() => t.emulator.ephemerals(PEOPLE.admin)[seen]);
  const params = new URLSearchParams(real.sent.body);
  for (const [key, value] of Object.entries(changes)) params.set(key, value);
  return params.toString();
}

describe("requests for another installation", () => {
  test("a slash command from another workspace, organization or app: empty ack, no answer, logged once", async () => {
    for (const [changes, field] of [
      [{ team_id: "T0OTHER" }, "team_id"],
      [{ api_app_id: "A0OTHERAPP" }, "api_app_id"],
      [{ enterprise_id: "E0OTHERORG" }, "enterprise_id"],
    ] as const) {
      const body = await commandBody({ ...changes, text: "projects" });
      const before = { calls: t.emulator.calls().length, answers: t.emulator.responseUrlPosts().length };
      const logged = refusals().length;
      for (let i = 0; i < 3; i++) {
        const sent = await postSigned(body, "application/x-www-form-urlencoded");
        assert.equal(sent.status, 200);
        assert.equal(sent.body, "", "nothing useful to the sender");
      }
      await settle();
      assert.equal(t.emulator.calls().length, before.calls, `${field}: no Web API call`);
      assert.equal(t.emulator.responseUrlPosts().length, before.answers, `${field}: no response_url answer`);
      assert.equal(refusals().length, logged + 1, `${field}: logged once for three requests`);
      assert.equal(refusals().at(-1)?.field, field);
    }
  });

  test("a click and a view submission for another workspace reach no listener", async () => {
    const click = {
      type: "block_actions",
      user: { id: PEOPLE.admin, username: "alice", name: "alice", team_id: "T0OTHER" },
      api_app_id: "A0CRASHTEST",
      container: { type: "message", message_ts: "1700000000.000100", channel_id: CHANNEL },
      trigger_id: "1.2.3",
      team: { id: "T0OTHER", domain: "other" },
      channel: { id: CHANNEL, name: "security" },
      actions: [{ type: "button", action_id: "scan_stop", block_id: "b", value: "1", action_ts: "1.1" }],
    };
    const view = {
      type: "view_submission",
      team: { id: "T0EMULATOR", domain: "crashtest-dev" },
      user: { id: PEOPLE.admin, username: "alice", name: "alice", team_id: "T0EMULATOR" },
      api_app_id: "A0OTHERAPP",
      view: {
        id: "V1",
        type: "modal",
        callback_id: "project_create",
        private_metadata: "{}",
        state: { values: {} },
      },
    };
    const calls = t.emulator.calls().length;
    for (const payload of [click, view]) {
      const sent = await postSigned(form(payload), "application/x-www-form-urlencoded");
      assert.equal(sent.status, 200);
      assert.equal(sent.body, "");
    }
    await settle();
    assert.equal(t.emulator.calls().length, calls);
  });

  test("an App Home event for another workspace publishes nothing", async () => {
    const envelope = {
      type: "event_callback",
      team_id: "T0OTHER",
      api_app_id: "A0CRASHTEST",
      event_id: "Ev0FOREIGN",
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: "T0OTHER", enterprise_id: null, user_id: "U0CRASHBOT", is_bot: true }],
      event: { type: "app_home_opened", user: PEOPLE.admin, channel: "D0ALICE", tab: "home" },
    };
    const sent = await postSigned(JSON.stringify(envelope), "application/json");
    assert.equal(sent.status, 200);
    await settle();
    assert.equal(t.emulator.calls("views.publish").length, 0);
  });

  test("a guest from another workspace in a shared channel is judged by role, not refused for the team", async () => {
    const body = await commandBody({ text: "projects" });
    const params = new URLSearchParams(body);
    // The installation fields stay ours; only the person is someone else's (a Slack Connect guest).
    params.set("user_id", PEOPLE.stranger);
    params.set("user_team", "T0OTHER");
    const logged = refusals().length;
    const sent = await postSigned(params.toString(), "application/x-www-form-urlencoded");
    assert.equal(sent.status, 200);
    // The refusal is ready at once, so it comes in the ack body.
    assert.match(sent.body, /not allowed to view/);
    assert.equal(refusals().length, logged, "not an installation refusal");
  });

  test("the installation's own requests pass; the app ID came from bots.info", () => {
    assert.ok(t.emulator.calls("auth.test").length > 0);
    assert.ok(t.emulator.calls("bots.info").length > 0);
  });
});

describe("echoed payload fields are schema-checked", () => {
  test("a project modal whose private_metadata is not what the bot wrote creates nothing", async () => {
    const projects = async () => (await t.bot.store.entries("projects")).length;
    const before = await projects();
    for (const metadata of [
      '{"channel":123}',
      '{"channel":"C0SECURITY","extra":1}',
      "not json",
      '{"channel":"<@U1>"}',
    ]) {
      const payload = {
        type: "view_submission",
        team: { id: "T0EMULATOR", domain: "crashtest-dev" },
        user: { id: PEOPLE.operator, username: "carol", name: "carol", team_id: "T0EMULATOR" },
        api_app_id: "A0CRASHTEST",
        trigger_id: "1.2.3",
        view: {
          id: "V0FORGED",
          type: "modal",
          callback_id: "project_create",
          private_metadata: metadata,
          state: {
            values: {
              name: { value: { type: "plain_text_input", value: "forged" } },
              url: { value: { type: "plain_text_input", value: "https://forged.example.com" } },
            },
          },
        },
        response_urls: [],
      };
      const sent = await postSigned(form(payload), "application/x-www-form-urlencoded");
      assert.equal(sent.status, 200);
      assert.match(sent.body, /"response_action":"errors"/, metadata);
      assert.match(sent.body, /no longer valid/);
    }
    await settle();
    assert.equal(await projects(), before, "no project created");
  });
});

describe("installation fields", () => {
  const ours = { teamId: "T0EMULATOR", appId: "A0CRASHTEST" };
  test("read from where Bolt reads them, never from the user's team", () => {
    assert.deepEqual(
      requestSource({ team: { id: "T1" }, user: { team_id: "T2" }, api_app_id: "A1", enterprise: null }),
      { teamId: "T1", enterpriseId: undefined, appId: "A1" },
    );
    assert.deepEqual(
      requestSource({
        team_id: "T9",
        api_app_id: "A1",
        authorizations: [{ team_id: "T1", enterprise_id: "E1" }],
      }),
      { teamId: "T1", enterpriseId: "E1", appId: "A1" },
    );
    assert.equal(requestSource({ team: { id: "T1" }, view: { app_installed_team_id: "T3" } }).teamId, "T3");
    assert.deepEqual(requestSource("junk"), { teamId: undefined, enterpriseId: undefined, appId: undefined });
  });

  test("missing fields refuse; an organization pin accepts its workspaces", () => {
    assert.equal(
      mismatch({ teamId: "T0EMULATOR", enterpriseId: undefined, appId: "A0CRASHTEST" }, ours),
      undefined,
    );
    assert.equal(
      mismatch({ teamId: undefined, enterpriseId: undefined, appId: "A0CRASHTEST" }, ours),
      "team_id",
    );
    assert.equal(
      mismatch({ teamId: "T0EMULATOR", enterpriseId: undefined, appId: undefined }, ours),
      "api_app_id",
    );
    const org = { teamId: "E0ORG", enterpriseId: "E0ORG", appId: "A0CRASHTEST" };
    assert.equal(mismatch({ teamId: "T5", enterpriseId: "E0ORG", appId: "A0CRASHTEST" }, org), undefined);
    assert.equal(
      mismatch({ teamId: "T5", enterpriseId: "E0OTHER", appId: "A0CRASHTEST" }, org),
      "enterprise_id",
    );
  });
});

describe("SLACK_TEAM_ID / SLACK_APP_ID override what auth.test says", () => {
  test("a bot pinned to another workspace refuses this one's commands", async () => {
    const pinned = await startTestBot({
      env: { ...SURFACE_ENV, SLACK_TEAM_ID: "T0PRODUCTION", SLACK_APP_ID: "A0CRASHTEST" },
      emulator: SURFACE_EMULATOR,
    });
    try {
      assert.equal(pinned.emulator.calls("bots.info").length, 0, "nothing to learn");
      const sent = await pinned.emulator.slashCommand({ user: PEOPLE.admin, channel: CHANNEL, text: "help" });
      assert.equal(sent.status, 200);
      await settle();
      assert.equal(pinned.emulator.ephemerals(PEOPLE.admin).length, 0);
      assert.equal(pinned.emulator.responseUrlPosts().length, 0);
      assert.ok(pinned.logs.records().some((r) => r.msg === "request for another installation refused"));
    } finally {
      await pinned.close();
    }
  });
});
