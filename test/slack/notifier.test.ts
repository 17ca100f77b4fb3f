import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { webApi } from "@slack/bolt";
import { MESSAGE_MAX_BLOCKS, validateBlocks } from "../../dev/slack-emulator/block-kit.js";
import { SlackEmulator } from "../../dev/slack-emulator/index.js";
import type { AppError } from "../../src/domain/errors.js";
import type { Report } from "../../src/domain/ports.js";
import { reportFromFile } from "../../src/domain/reports.js";
import type { MessageRef, ScanRecord } from "../../src/domain/scans.js";
import type { WatchNotice, WatchRecord } from "../../src/domain/watch/index.js";
import { scanCard } from "../../src/slack/blocks/cards.js";
import { reportFileName, SlackGateway, slackFailure } from "../../src/slack/gateway.js";
import { EFFECT_EVENT_TYPE, noticeMessage, SlackNotifier } from "../../src/slack/notifier.js";
import { captureLogger } from "../support/logs.js";
import { emulatorClient } from "../support/parts.js";

/** The notifier against the Slack emulator through a real Web client. */

let emulator: SlackEmulator;
let client: webApi.WebClient;
let notifier: SlackNotifier;
const logs = captureLogger();
const CHANNEL = "C0SECURITY";

before(async () => {
  emulator = await SlackEmulator.start();
  client = emulatorClient(emulator);
  notifier = new SlackNotifier({ slack: new SlackGateway(client), logger: logs.logger });
});
after(() => emulator.close());

const scan = (id: string, projectName = "web-shop"): ScanRecord => ({
  scanId: id,
  projectId: "101",
  projectName,
  targetUrl: "https://shop.example",
  backend: "crashtest",
  requestedBy: "U0ALICE",
  channel: CHANNEL,
  state: "running",
  startedAt: Date.now(),
  updatedAt: Date.now(),
});

async function postCard(record: ScanRecord): Promise<MessageRef> {
  const card = scanCard(record);
  const result = await client.chat.postMessage({ channel: CHANNEL, text: card.text, blocks: card.blocks });
  return { channel: CHANNEL, ts: String(result.ts) };
}

const subject = (id: string, projectName = "web-shop") => ({ scanId: id, projectId: "101", projectName });

const report = (format: "pdf" | "json"): Report =>
  reportFromFile({
    format,
    bytes: new TextEncoder().encode(`${format} bytes`),
    contentType: "application/octet-stream",
    fileName: `whatever.${format}`,
  });

test("thread replies carry the effect as message metadata; only the final one is broadcast", async () => {
  const card = await postCard(scan("501"));
  await notifier.post(
    card,
    subject("501"),
    { kind: "state", state: "running", rawCode: "101" },
    "state:running",
  );
  await notifier.post(
    card,
    subject("501"),
    { kind: "final", state: "finished", reportFormats: ["pdf", "json"] },
    "final",
  );
  const [state, final] = emulator.thread(CHANNEL, card.ts);
  assert.deepEqual(state?.metadata, {
    event_type: EFFECT_EVENT_TYPE,
    event_payload: { scan_id: "501", effect: "state:running" },
  });
  assert.equal(state?.replyBroadcast, false);
  assert.match(state?.text ?? "", /Scan 501 is now :arrows_counterclockwise: Running \(101\)\./);
  assert.equal(final?.replyBroadcast, true);
  assert.match(
    final?.text ?? "",
    /finished\. The findings summary and the pdf, json reports follow in this thread\./,
  );
  const args = emulator.calls("chat.postMessage").at(-1)?.args;
  assert.equal(String(args?.unfurl_links), "false");
});

test("postedEffects finds tagged replies and uploaded report files, across pages, for this scan only", async () => {
  const card = await postCard(scan("502"));
  await notifier.post(card, subject("502"), { kind: "state", state: "running" }, "state:running");
  // Noise: another scan's tag in the same thread, and people chatting.
  await notifier.post(card, subject("999"), { kind: "state", state: "running" }, "final");
  for (let i = 0; i < 230; i++)
    emulator.postAsUser({ user: "U0BOB", channel: CHANNEL, text: `chat ${i}`, threadTs: card.ts });
  await notifier.post(
    card,
    subject("502"),
    { kind: "final", state: "finished", reportFormats: ["pdf"] },
    "final",
  );
  assert.deepEqual(
    await notifier.upload(card, subject("502"), "pdf", async () => report("pdf"), "file:pdf"),
    { ok: true },
  );
  const seen = await notifier.postedEffects(card, subject("502"));
  assert.deepEqual([...seen].sort(), ["file:pdf", "final", "state:running"]);
  const pages = emulator.calls("conversations.replies");
  assert.equal(pages.length, 2, "read page by page");
  assert.equal(String(pages[0]?.args.include_all_metadata), "true");
  assert.deepEqual(
    emulator.filesIn(CHANNEL, card.ts).map((f) => f.name),
    [reportFileName("502", "pdf")],
  );
  assert.equal(reportFileName("502", "pdf"), "crashtest-scan-502.pdf");
});

test("conversations.replies hides metadata unless include_all_metadata is set (as Slack does)", async () => {
  const card = await postCard(scan("503"));
  await notifier.post(card, subject("503"), { kind: "state", state: "running" }, "state:running");
  const plain = await client.conversations.replies({ channel: CHANNEL, ts: card.ts });
  assert.equal(plain.messages?.[1]?.metadata, undefined);
  const full = await client.conversations.replies({
    channel: CHANNEL,
    ts: card.ts,
    include_all_metadata: true,
  });
  assert.equal(full.messages?.[1]?.metadata?.event_type, EFFECT_EVENT_TYPE);
  await assert.rejects(
    client.conversations.replies({ channel: CHANNEL, ts: "1.000001" }),
    /thread_not_found/,
  );
});

test("an upload Slack refuses for good comes back as a reason; a transient failure throws retryable", async () => {
  const card = await postCard(scan("504"));
  emulator.injectFault("files.getUploadURLExternal", { kind: "slack_error", error: "file_uploads_disabled" });
  assert.deepEqual(
    await notifier.upload(card, subject("504"), "pdf", async () => report("pdf"), "file:pdf"),
    {
      ok: false,
      reason: "file uploads are disabled in this workspace (file_uploads_disabled)",
    },
  );
  emulator.injectFault("files.completeUploadExternal", { kind: "slack_error", error: "internal_error" });
  await assert.rejects(
    notifier.upload(card, subject("504"), "json", async () => report("json"), "file:json"),
    (error: AppError) => error.retryable && /internal_error/.test(error.message),
  );
  assert.equal(emulator.filesIn(CHANNEL, card.ts).length, 0);
});

test("Slack errors: permanent ones are marked so, the rest are retryable", async () => {
  await assert.rejects(
    notifier.post({ channel: "C0NOPE", ts: "1.1" }, subject("505"), { kind: "gone", reason: "x" }, "gone"),
    (error: AppError) => !error.retryable && /channel_not_found/.test(error.userMessage),
  );
  const platform = (error: string) => new webApi.WebAPIPlatformError({ ok: false, error });
  assert.equal(slackFailure(platform("fatal_error"), "x").retryable, true);
  assert.equal(slackFailure(new Error("socket hang up"), "x").retryable, true);
  assert.equal(slackFailure(platform("message_not_found"), "x").retryable, false);
});

test("updateCard edits the card in place; a watch that gave up gets a note with the resume command", async () => {
  const record = scan("506");
  const card = await postCard(record);
  const watch = {
    scanId: "506",
    state: "running",
    phase: "ended",
    outcome: "watch_failed",
    lastError: "Crashtest <is> down",
  } as WatchRecord;
  await notifier.updateCard(card, { ...record, card }, watch);
  const shown = emulator.message(CHANNEL, card.ts);
  assert.equal(shown?.versions.length, 2);
  const blocks = JSON.stringify(shown?.blocks);
  assert.match(
    blocks,
    /Not watched any more \(Crashtest &lt;is&gt; down\)\. `\/crashtest scan status 506` watches it again\./,
  );
});

test("every notice renders to valid blocks and escapes names from outside", () => {
  const notices: WatchNotice[] = [
    { kind: "state", state: "running" },
    { kind: "final", state: "finished", reportFormats: ["pdf", "json"] },
    { kind: "final", state: "stopped", reportFormats: [] },
    { kind: "final", state: "failed", rawCode: "104", reportFormats: [] },
    {
      kind: "summary",
      format: "json",
      summary: { counts: { critical: 0, high: 0, medium: 0, low: 0, info: 0 }, total: 0, findings: [] },
    },
    { kind: "summary_unavailable", reason: "unreadable" },
    {
      kind: "files_refused",
      refused: [
        { format: "pdf", reason: "file uploads are disabled in this workspace (file_uploads_disabled)" },
        { format: "json", reason: "file uploads are disabled in this workspace (file_uploads_disabled)" },
      ],
    },
    { kind: "watch_failed", reason: "Crashtest <!channel> is down", attempts: 6 },
    { kind: "gone", reason: "Crashtest does not know scan 7." },
  ];
  for (const notice of notices) {
    const message = noticeMessage(subject("7", "<!here> shop"), notice);
    assert.deepEqual(validateBlocks(message.blocks as unknown[], MESSAGE_MAX_BLOCKS), [], notice.kind);
    assert.ok(message.text.length > 0);
    assert.doesNotMatch(JSON.stringify(message), /<!here>|<!channel>/, notice.kind);
  }
  const refused = noticeMessage(subject("7"), notices[6] as WatchNotice);
  assert.match(JSON.stringify(refused.blocks), /`\/crashtest report 7 pdf` · `\/crashtest report 7 json`/);
  assert.match(
    refused.text,
    /could not be posted here: file uploads are disabled in this workspace \(file_uploads_disabled\)\./,
  );
});

test("after a crash only the bot's own replies and files count: look-alikes posted by people do not", async () => {
  const card = await postCard(scan("507"));
  // A person copies the bot's effect tag and shares files named like the bot's reports.
  emulator.postAsUser({
    user: "U0BOB",
    channel: CHANNEL,
    threadTs: card.ts,
    text: "Scan 507 finished.",
    metadata: { event_type: EFFECT_EVENT_TYPE, event_payload: { scan_id: "507", effect: "final" } },
  });
  emulator.postAsUser({
    user: "U0BOB",
    channel: CHANNEL,
    threadTs: card.ts,
    text: "here is the report",
    files: [{ name: reportFileName("507", "pdf") }, { name: reportFileName("507", "json") }],
  });
  assert.deepEqual([...(await notifier.postedEffects(card, subject("507")))], []);
  // So the bot still posts its own, and then finds exactly those.
  await notifier.post(
    card,
    subject("507"),
    { kind: "final", state: "finished", reportFormats: ["pdf"] },
    "final",
  );
  assert.deepEqual(
    await notifier.upload(card, subject("507"), "pdf", async () => report("pdf"), "file:pdf"),
    { ok: true },
  );
  assert.deepEqual([...(await notifier.postedEffects(card, subject("507")))].sort(), ["file:pdf", "final"]);
  const botFiles = emulator.filesIn(CHANNEL, card.ts).filter((f) => f.user === undefined);
  assert.deepEqual(
    botFiles.map((f) => f.name),
    [reportFileName("507", "pdf")],
  );
});
