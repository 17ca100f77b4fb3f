import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { reportFileName } from "../../src/slack/gateway.js";
import { FakeTcs } from "../scanners/dast-essentials/fake-tcs.js";
import {
  commandReply,
  eventually,
  PEOPLE,
  SURFACE_EMULATOR,
  SURFACE_ENV,
  startTestBot,
  type TestBot,
  visibleText,
} from "../support/bot.js";
import { fakeKeyPair } from "../veracode/fake-veracode.js";

/**
 * The same scan flow as with Crashtest, through the real bot with SCANNER=dast-essentials against a
 * stateful TCS fake that checks every request's HMAC signature.
 */
const CHANNEL = "C0SECURITY";
const keys = fakeKeyPair();
let tcs: FakeTcs;
let t: TestBot;

before(async () => {
  tcs = await FakeTcs.start({ [keys.apiId]: keys.secretHex });
  t = await startTestBot({
    emulator: SURFACE_EMULATOR,
    env: {
      ...SURFACE_ENV,
      SCANNER: "dast-essentials",
      DAST_API_URL: tcs.apiUrl,
      VERACODE_API_KEY_ID: keys.apiKeyId,
      VERACODE_API_KEY_SECRET: keys.apiKeySecret,
      VERACODE_CREDENTIALS_FILE: "/nonexistent/credentials",
      VERACODE_API_URL: "http://127.0.0.1:9",
      ALERT_CHANNEL: CHANNEL,
      REQUIRE_APPROVAL: "false",
      SCAN_POLL_INTERVAL_SECONDS: "1",
      SCAN_WATCH_TICK_SECONDS: "1",
      REPORT_FORMATS: "pdf,junit",
    },
  });
});
after(async () => {
  await t.close();
  await tcs.close();
});

async function command(user: string, text: string) {
  return visibleText(await commandReply(t, user, CHANNEL, text));
}

test("create target, start, card, threaded updates, summary and reports in the thread", async () => {
  const created = await command(
    PEOPLE.operator,
    "project create shop https://shop.example.com scan_type=QUICK",
  );
  assert.match(created, /Project \*shop\* created/);
  const [target] = [...tcs.targets.values()];
  assert.equal(target?.name, "shop");
  assert.equal(target?.url, "shop.example.com");

  const started = await command(PEOPLE.operator, "scan start shop");
  assert.match(started, /started/);
  const card = await eventually(() =>
    t.emulator.channelMessages(CHANNEL).find((m) => /^Scan \S+ of shop/.test(m.text)),
  );
  const [run] = [...tcs.runs.values()];
  assert.ok(run, "an analysis run was started");
  assert.ok(card.text.includes(run.analysis_run_id));

  tcs.setStatus(run.analysis_run_id, "FINISHED");
  const files = await eventually(() => {
    const names = t.emulator.filesIn(CHANNEL, card.ts).map((f) => f.name);
    return names.length === 2 ? names : undefined;
  }, 15_000);
  assert.ok(files.some((name) => name.endsWith(".pdf")));
  assert.ok(files.some((name) => name.endsWith(".xml")));
  const thread = t.emulator.thread(CHANNEL, card.ts).map(visibleText).join("\n");
  assert.match(thread, /Finished/);
  assert.match(thread, /Findings/);
  assert.match(visibleText(t.emulator.message(CHANNEL, card.ts)), /Finished/);
  // On request, the same report has the same name as the watcher's upload (reconciliation finds it).
  const requested = await command(PEOPLE.operator, `report ${run.analysis_run_id} junit`);
  assert.match(requested, /report of scan .* uploaded/);
  const names = t.emulator.filesIn(CHANNEL, card.ts).map((f) => f.name);
  assert.equal(names.length, 3);
  assert.equal(
    names[2],
    names.find((name) => name.endsWith(".xml")),
  );
  assert.equal(names[2], reportFileName(run.analysis_run_id, "xml"));
  assert.deepEqual(tcs.rejections, [], "every request carried a valid HMAC signature");
  assert.ok(!t.logs.text().includes(keys.apiKeySecret));
});

test("schedules: the bot's own beside DAST Essentials' platform schedules of the project, read-only", async () => {
  const [target] = [...tcs.targets.values()];
  assert.ok(target);
  tcs.profiles.set("prof-e2e", {
    analysis_profile_id: "prof-e2e",
    target_id: target.target_id,
    name: "nightly",
    schedule: { frequency: "DAILY", interval: 1, timezone: "Europe/Berlin", time: "03:00", status: "ACTIVE" },
  });
  const made = await command(PEOPLE.operator, "schedule shop daily at 02:00 tz=Europe/Berlin");
  assert.match(made, /every day at 02:00 Europe\/Berlin/);
  const listed = await command(PEOPLE.operator, "schedules shop");
  assert.match(listed, /every day at 02:00 Europe\/Berlin/);
  assert.match(
    listed,
    /Schedules on the scanning platform[\s\S]*\*shop\*: DAILY at 03:00 Europe\/Berlin · ACTIVE/,
  );
  assert.ok(tcs.calls.includes("GET /analysis_profiles/prof-e2e/schedule"));
  assert.deepEqual(tcs.rejections, []);
});
