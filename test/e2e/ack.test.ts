import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { AuditEntry } from "../../src/domain/audit.js";
import { ACK_BUDGET_MS } from "../../src/slack/commands/listener.js";
import { openStore } from "../../src/store/index.js";
import {
  eventually,
  PEOPLE,
  SURFACE_EMULATOR,
  SURFACE_ENV,
  startTestBot,
  type TestBot,
  visibleText,
} from "../support/bot.js";

/** Slash commands answer in the ack when they can, through response_url when they are slow. */
const CHANNEL = "C0SECURITY";
const dir = mkdtempSync(path.join(tmpdir(), "chatops-ack-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("answers", () => {
  let t: TestBot;
  before(async () => {
    t = await startTestBot({
      env: { ...SURFACE_ENV, REQUIRE_APPROVAL: "false", SIMULATOR_QUEUE_SECONDS: "600" },
      emulator: SURFACE_EMULATOR,
    });
  });
  after(() => t.close());

  test("a quick reply (help, a typo, a refusal) comes in the ack body; no response_url post", async () => {
    const posts = t.emulator.responseUrlPosts().length;
    for (const [user, text, expected] of [
      [PEOPLE.operator, "help", /scan start/],
      [PEOPLE.operator, "scna", /did you mean/i],
      [PEOPLE.stranger, "projects", /not allowed to view/],
    ] as const) {
      const sent = await t.emulator.slashCommand({ user, channel: CHANNEL, text });
      assert.equal(sent.status, 200);
      const body = sent.json as { response_type?: string; text?: string; blocks?: unknown[] };
      assert.equal(body.response_type, "ephemeral", text);
      assert.match(visibleText(body), expected);
      assert.equal(sent.ackError, undefined, "Slack accepts the ack body as a message");
    }
    assert.equal(t.emulator.responseUrlPosts().length, posts, "no second round trip");
  });

  test("slow work acks empty within the budget and answers through response_url", async () => {
    assert.match(
      visibleText(
        (
          await t.emulator.slashCommand({
            user: PEOPLE.operator,
            channel: CHANNEL,
            text: "project create shop https://shop.example.com",
          })
        ).json as object,
      ),
      /created/,
    );
    // Posting the scan card takes 1 s: far beyond the budget.
    t.emulator.injectFault("chat.postMessage", { kind: "delay", ms: 1000, times: 1 });
    const posts = t.emulator.responseUrlPosts().length;
    const sent = await t.emulator.slashCommand({
      user: PEOPLE.operator,
      channel: CHANNEL,
      text: "scan start shop",
    });
    assert.equal(sent.status, 200);
    assert.equal(sent.body, "", "acked empty");
    assert.ok(sent.elapsedMs < ACK_BUDGET_MS + 700, `acked in ${sent.elapsedMs} ms`);
    const answer = await eventually(() => t.emulator.responseUrlPosts()[posts]);
    assert.match(JSON.stringify(answer.body), /started/);
  });

  test("the per-command log line is debug; a state change is one info line", async () => {
    const records = t.logs.records();
    assert.ok(records.some((r) => r.msg === "slash command" && r.level === "debug"));
    assert.ok(!records.some((r) => r.msg === "slash command" && r.level === "info"));
    assert.equal(records.filter((r) => r.msg === "scan.start" && r.level === "info").length, 1);
  });
});

test("audit entries still in the batch window are written when the bot stops", async () => {
  const url = `sqlite://${path.join(dir, "audit.sqlite")}`;
  const t = await startTestBot({
    env: { ...SURFACE_ENV, STORE_URL: url },
    emulator: SURFACE_EMULATOR,
    // A window no stop could outlast: only the shutdown flush can write the entry.
    overrides: { audit: { batchMs: 600_000 } },
  });
  let stopped = false;
  try {
    const sent = await t.emulator.slashCommand({ user: PEOPLE.stranger, channel: CHANNEL, text: "projects" });
    assert.match(sent.body, /not allowed/);
    // Straight to shutdown, inside the batch window.
    await t.close();
    stopped = true;
  } finally {
    if (!stopped) await t.close();
  }
  const store = await openStore({ url });
  try {
    const rows = (await store.entries<AuditEntry | AuditEntry[]>("audit")).flatMap(([, v]) =>
      Array.isArray(v) ? v : [v],
    );
    assert.ok(
      rows.some((e) => e.user === PEOPLE.stranger && e.action === "projects" && e.outcome === "denied"),
      JSON.stringify(rows),
    );
  } finally {
    await store.close();
  }
});
