import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { after, before, test } from "node:test";
import { webApi } from "@slack/bolt";
import { SlackEmulator, UPLOAD_URL_TARGET } from "../../dev/slack-emulator/index.js";
import { AppError } from "../../src/domain/errors.js";
import {
  reportFileName,
  type SlackError,
  SlackGateway,
  slackFailure,
  type UploadFile,
} from "../../src/slack/gateway.js";
import { emulatorClient } from "../support/parts.js";

/** The one Slack gateway against the Slack emulator through a real Web client. */

let emulator: SlackEmulator;
let slack: SlackGateway;
const CHANNEL = "C0SECURITY";

before(async () => {
  emulator = await SlackEmulator.start();
  const client = emulatorClient(emulator);
  slack = new SlackGateway(client, { uploadRetry: { retries: 4, factor: 1, minTimeout: 1, maxTimeout: 5 } });
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
  // Asked once per message: the second look-up is answered from what the first one learned.
  assert.equal(emulator.calls("chat.getPermalink").filter((c) => c.args.message_ts === ref.ts).length, 1);
  // A message Slack does not know: the label alone, no made-up link.
  assert.equal(await slack.linkTo({ channel: CHANNEL, ts: "1.000001" }, "card"), "card");
});

/** `size` bytes made lazily in 64 KiB chunks (never whole in memory); counts how often it is opened. */
function generated(size: number) {
  const chunk = Buffer.alloc(64 * 1024, "r");
  const hash = createHash("sha256");
  for (let left = size; left > 0; left -= chunk.length)
    hash.update(chunk.subarray(0, Math.min(left, chunk.length)));
  const opened: Readable[] = [];
  const file: UploadFile = {
    name: "big.pdf",
    title: "big",
    open: async () => {
      const body = Readable.from(
        (function* () {
          for (let left = size; left > 0; left -= chunk.length)
            yield chunk.subarray(0, Math.min(left, chunk.length));
        })(),
      );
      opened.push(body);
      return { size, body };
    },
  };
  return { file, opened, sha256: hash.digest("hex") };
}

test("a stream goes to Slack's upload URL with its announced length, then is shared in the thread", async () => {
  const card = await slack.post(CHANNEL, { text: "card", blocks: [] });
  const size = 5 * 1024 * 1024 + 123;
  const { file, sha256 } = generated(size);
  await slack.upload({ channel: CHANNEL, threadTs: card.ts }, file, { comment: "the report" });
  const asked = emulator.calls("files.getUploadURLExternal").at(-1);
  assert.equal(String(asked?.args.length), String(size));
  const [shared] = emulator.filesIn(CHANNEL, card.ts);
  assert.equal(shared?.receivedSize, size);
  assert.equal(shared?.sha256, sha256);
  assert.equal(shared?.name, "big.pdf");
  // The Web client's filesUploadV2 was not used: it would have sent multipart form data.
  assert.equal(emulator.calls("files.upload").length, 0);
});

test("a failed upload URL POST opens the file again and retries; Retry-After is honoured", async () => {
  const card = await slack.post(CHANNEL, { text: "card", blocks: [] });
  emulator.injectFault(UPLOAD_URL_TARGET, { kind: "http_error", status: 502, times: 2 });
  emulator.injectFault(UPLOAD_URL_TARGET, { kind: "rate_limited", retryAfterSec: 1 });
  const { file, opened } = generated(300_000);
  const started = Date.now();
  await slack.upload({ channel: CHANNEL, threadTs: card.ts }, file);
  assert.ok(Date.now() - started >= 1000, "waited the Retry-After second");
  assert.equal(opened.length, 4, "one download per attempt");
  assert.ok(opened.slice(0, 3).every((body) => body.destroyed));
  assert.equal(emulator.filesIn(CHANNEL, card.ts).length, 1);
});

test("a report stream that fails mid-way keeps its own error, and nothing is shared", async () => {
  const card = await slack.post(CHANNEL, { text: "card", blocks: [] });
  const tooLarge = new AppError("unsupported", "The report is larger than REPORT_MAX_BYTES.");
  const file: UploadFile = {
    name: "broken.pdf",
    title: "broken",
    open: async () => ({
      size: 1_000_000,
      body: Readable.from(
        (async function* () {
          yield Buffer.alloc(100_000);
          throw tooLarge;
        })(),
      ),
    }),
  };
  await assert.rejects(
    slack.upload({ channel: CHANNEL, threadTs: card.ts }, file),
    (error) => error === tooLarge,
  );
  assert.equal(emulator.filesIn(CHANNEL, card.ts).length, 0);
});

test("when Slack refuses before the bytes move, the opened download is let go", async () => {
  emulator.injectFault("files.getUploadURLExternal", { kind: "slack_error", error: "file_uploads_disabled" });
  const { file, opened } = generated(1_000_000);
  await assert.rejects(slack.upload({ channel: CHANNEL }, file), (error: SlackError) => {
    return error.uploadRefusal === "file uploads are disabled in this workspace (file_uploads_disabled)";
  });
  assert.equal(opened.length, 1);
  assert.ok(opened[0]?.destroyed, "the scanner connection is released");
});

test("one auth.test answers both the installation check and the bot's own user ID", async () => {
  const client = new webApi.WebClient(emulator.botToken, {
    slackApiUrl: emulator.apiUrl,
    logLevel: webApi.LogLevel.ERROR,
  });
  const fresh = new SlackGateway(client);
  const before = emulator.calls("auth.test").length;
  const [who, bot] = await Promise.all([fresh.identity(), fresh.botUserId()]);
  assert.equal(who.userId, bot);
  assert.ok(who.teamId.length > 0);
  assert.ok(who.botId, "auth.test names the bot, so bots.info can name the app");
  assert.ok((await fresh.appIdOf(who.botId)).length > 0);
  await fresh.botUserId();
  assert.equal(emulator.calls("auth.test").length - before, 1);
});

test("a failed auth.test is asked again next time, never cached", async () => {
  const client = new webApi.WebClient(emulator.botToken, {
    slackApiUrl: emulator.apiUrl,
    retryConfig: { retries: 0 },
    logLevel: webApi.LogLevel.ERROR,
  });
  const fresh = new SlackGateway(client);
  emulator.injectFault("auth.test", { kind: "slack_error", error: "account_inactive", times: 1 });
  await assert.rejects(fresh.identity(), (error: SlackError) => error.code === "account_inactive");
  assert.ok((await fresh.identity()).userId.length > 0);
});
