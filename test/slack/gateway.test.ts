import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { webApi } from "@slack/bolt";
import { SlackEmulator } from "../../dev/slack-emulator/index.js";
import { reportFileName, SlackGateway, slackFailure } from "../../src/slack/gateway.js";

/** The one Slack gateway against the Slack emulator through a real Web client. */

let emulator: SlackEmulator;
let slack: SlackGateway;
const CHANNEL = "C0SECURITY";

before(async () => {
  emulator = await SlackEmulator.start();
  const client = new webApi.WebClient(emulator.botToken, {
    slackApiUrl: emulator.apiUrl,
    retryConfig: webApi.retryPolicies.rapidRetryPolicy,
    logLevel: webApi.LogLevel.ERROR,
  });
  slack = new SlackGateway(client, { uploadRetry: webApi.retryPolicies.rapidRetryPolicy });
});
after(() => emulator.close());

const platform = (error: string) => new webApi.WebAPIPlatformError({ ok: false, error });

test("one classifier over the Web client's typed errors", () => {
  const notInChannel = slackFailure(platform("not_in_channel"), "chat.postMessage");
  assert.equal(notInChannel.kind, "validation");
  assert.equal(notInChannel.retryable, false);
  assert.equal(notInChannel.code, "not_in_channel");
  assert.match(notInChannel.userMessage, /not in this channel \(not_in_channel\)\. Invite it/);

  const refused = slackFailure(platform("file_uploads_disabled"), "files.getUploadURLExternal");
  assert.equal(refused.uploadRefusal, "file uploads are disabled in this workspace (file_uploads_disabled)");
  assert.equal(refused.retryable, false);

  const limited = slackFailure(new webApi.WebAPIRateLimitedError(7), "chat.update");
  assert.equal(limited.kind, "rate_limited");
  assert.equal(limited.retryAfterMs, 7000);
  assert.equal(limited.retryable, true);

  const http = slackFailure(new webApi.WebAPIHTTPError(503, "Service Unavailable", {}), "chat.update");
  assert.equal(http.retryable, true);
  assert.match(http.message, /HTTP 503/);

  const network = slackFailure(new webApi.WebAPIRequestError(new Error("socket hang up")), "chat.update");
  assert.equal(network.kind, "unavailable");
  assert.equal(network.retryable, true);
  assert.match(network.message, /socket hang up/);

  const bug = slackFailure(platform("invalid_blocks"), "chat.postMessage");
  assert.equal(bug.retryable, false);
  // A look-alike object is not a Slack answer: nothing is read from its shape.
  const shape = slackFailure({ data: { error: "not_in_channel" } }, "chat.postMessage");
  assert.equal(shape.code, undefined);
  assert.equal(shape.retryable, true);
});

test("errors from the emulator come back classified, with Slack's code", async () => {
  await assert.rejects(slack.post("C0NOPE", { text: "x", blocks: [] }), (error: unknown) => {
    const failure = slackFailure(error, "again");
    return failure.code === "channel_not_found" && !failure.retryable && failure === error;
  });
});

test("one report name, whatever the scanner calls the file", () => {
  assert.equal(reportFileName("390", "pdf"), "crashtest-scan-390.pdf");
  assert.equal(reportFileName("run-1", "xml"), "crashtest-scan-run-1.xml");
  assert.equal(reportFileName("../x y", "json"), "crashtest-scan-___x_y.json");
});

test("the command fallback posts ephemerals through the gateway, without empty blocks", async () => {
  await slack.ephemeral(CHANNEL, emulator.users()[0]?.id ?? "", { text: "hello", blocks: [] });
  const call = emulator.calls("chat.postEphemeral").at(-1);
  assert.equal(call?.status, 200);
  assert.equal(call?.args.blocks, undefined);
});

test("findByMetadata finds the bot's own card only, never a person's message with the same metadata", async () => {
  const metadata = { event_type: "crashtest_scan_card", event_payload: { scan_id: "777" } };
  emulator.postAsUser({ user: "U0BOB", channel: CHANNEL, text: "Scan 777 of web-shop", metadata });
  assert.equal(await slack.findByMetadata(CHANNEL, metadata), undefined);
  const own = await slack.post(CHANNEL, { text: "Scan 777 of web-shop", blocks: [] }, { metadata });
  assert.deepEqual(await slack.findByMetadata(CHANNEL, metadata), own);
  // auth.test was asked once, however many look-ups.
  await slack.findByMetadata(CHANNEL, metadata);
  assert.equal(emulator.calls("auth.test").length, 1);
});

test("permalinks come from chat.getPermalink", async () => {
  const ref = await slack.post(CHANNEL, { text: "card", blocks: [] });
  const link = await slack.permalink(ref);
  assert.equal(
    link,
    `https://${emulator.team.domain}.slack.com/archives/${CHANNEL}/p${ref.ts.replace(".", "")}`,
  );
  assert.equal(await slack.linkTo(ref, "card"), `<${link}|card>`);
  // A message Slack does not know: the label alone, no made-up link.
  assert.equal(await slack.linkTo({ channel: CHANNEL, ts: "1.000001" }, "card"), "card");
});
