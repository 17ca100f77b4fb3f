import assert from "node:assert/strict";
import { test } from "node:test";
import { MESSAGE_MAX_BLOCKS, validateBlocks } from "../../dev/slack-emulator/block-kit.js";
import type { CredentialStatus } from "../../src/domain/credential-guard.js";
import type { DecisionRequest } from "../../src/domain/findings/decision-record.js";
import type { ApprovalRequest, ScanRecord } from "../../src/domain/scans.js";
import { section } from "../../src/slack/blocks/common.js";
import { homeView, noAccessView } from "../../src/slack/blocks/home.js";
import { picture } from "../support/block-picture.js";

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 1, 9);
const date = (ms: number) =>
  `<!date^${ms / 1000}^{date_short_pretty} {time}|${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC>`;

const scan = (id: string, overrides: Partial<ScanRecord>): ScanRecord => ({
  scanId: id,
  projectId: "7",
  projectName: "web-shop",
  targetUrl: "https://shop.example.com",
  backend: "crashtest",
  requestedBy: "U0ALICE",
  channel: "C1",
  card: { channel: "C1", ts: `1.${id}` },
  state: "running",
  startedAt: T0,
  updatedAt: T0,
  ...overrides,
});
const request = (id: string, by: string): ApprovalRequest => ({
  id,
  projectId: "7",
  projectName: id === "r1" ? "web-shop" : "portal",
  targetUrl: "https://shop.example.com",
  requestedBy: by,
  channel: "C1",
  card: { channel: "C1", ts: "9.1" },
  createdAt: T0,
  expiresAt: T0 + 24 * 60 * MIN,
  status: "pending",
});
const credential = (state: CredentialStatus["state"], daysLeft: number): CredentialStatus => ({
  targetId: "default",
  label: "default",
  keyHint: "1222",
  state,
  checkedAt: T0,
  expiresAt: T0 + daysLeft * 24 * 60 * MIN,
});

const decision = (id: string, by: string, hours: number): DecisionRequest => ({
  id,
  projectId: "7",
  projectName: "web-shop",
  fingerprint: "0123456789abcdef0123",
  finding: { title: "Reflected XSS <script>", severity: "high", location: "/search?q=" },
  kind: id === "d1" ? "accepted" : "false_positive",
  reason: "Behind the VPN only, fixed next sprint.",
  days: 30,
  requestedBy: by,
  channel: "C1",
  card: { channel: "C1", ts: `8.${id}` },
  createdAt: T0,
  expiresAt: T0 + hours * 60 * MIN,
  status: "pending",
});

test("the Home per viewer: own requests, decisions, running with elapsed and link, scheduled, results with counts", () => {
  const now = T0 + 12 * MIN;
  const view = homeView({
    now,
    scans: [
      { scan: scan("41", { runningAt: T0 }), link: "<https://slack.example/p41|card>" },
      {
        scan: scan("40", { state: "finished", runningAt: T0 - 70 * MIN, endedAt: T0 - 6 * MIN }),
        link: "<https://slack.example/p40|card>",
        findings: { counts: { critical: 0, high: 2, medium: 1, low: 0, info: 0 }, total: 3 },
      },
      {
        scan: scan("39", {
          state: "failed",
          rawText: "Target unreachable",
          startedAt: T0 - 110 * MIN,
          endedAt: T0 - 100 * MIN,
        }),
      },
    ],
    approvals: [
      { request: request("r1", "U0ME"), decidable: "withdraw" },
      { request: request("r2", "U0OTHER"), decidable: "decide" },
    ],
    decisions: [
      { request: decision("d2", "U0OTHER", 30), mine: false },
      { request: decision("d1", "U0ME", 20), mine: true, link: "<https://slack.example/p8|card>" },
    ],
    credentials: [credential("7d", 5)],
    upcoming: [section("*Next scheduled scans*"), section("*portal* · daily at 02:00")],
  });
  assert.deepEqual(validateBlocks(view.blocks as unknown[], 100), []);
  const lines = picture(view.blocks);
  const expires = date(T0 + 24 * 60 * MIN);
  assert.deepEqual(lines.slice(3), [
    "*Your pending requests* (1)",
    `*web-shop* in <#C1> · expires ${expires}`,
    "[Withdraw]",
    "---",
    "*Approvals you can decide* (1)",
    `*portal* · requested by <@U0OTHER> in <#C1> · expires ${expires}`,
    "[Approve] [Deny]",
    "---",
    "*Finding decisions waiting* (2)",
    `risk acceptance · *web-shop* · *Reflected XSS &lt;script&gt;* (high) · /search?q= · yours · expires ${date(T0 + 20 * 60 * MIN)} · decide on its <https://slack.example/p8|card>`,
    `false positive · *web-shop* · *Reflected XSS &lt;script&gt;* (high) · /search?q= · asked by <@U0OTHER> · expires ${date(T0 + 30 * 60 * MIN)} · in <#C1>`,
    "---",
    "*Running scans* (1)",
    "*web-shop* · scan 41 · :arrows_counterclockwise: *Running for 12 min* · <https://slack.example/p41|card>",
    "---",
    "*Next scheduled scans*",
    "*portal* · daily at 02:00",
    "---",
    "*Recent results*",
    "*web-shop* · scan 40 · :white_check_mark: *Finished in 1 h 04 min* · :red_circle: 2 high · :large_orange_circle: 1 medium · <https://slack.example/p40|card>",
    "*web-shop* · scan 39 · :x: *Failed after 10 min:* Target unreachable",
    "---",
    "*Veracode credentials*",
    `*default* (key …1222): :warning: expires ${date(T0 + 5 * 24 * 60 * MIN)} (4 days left): ask an admin to create a new API credential in Veracode and give it to the bot before then`,
  ]);
  assert.ok(view.blocks.length <= 100 && view.blocks.length < MESSAGE_MAX_BLOCKS * 2);
});

test("many finding decisions: the ten that expire first, and how many more", () => {
  const many = Array.from({ length: 14 }, (_, i) => ({
    request: decision(`d${i + 3}`, "U0OTHER", 40 - i),
    mine: false,
  }));
  const view = homeView({ now: T0, scans: [], approvals: [], decisions: many, credentials: [] });
  assert.deepEqual(validateBlocks(view.blocks as unknown[], 100), []);
  const lines = picture(view.blocks);
  const at = lines.indexOf("*Finding decisions waiting* (14)");
  const listed = lines.slice(at + 1, at + 11);
  assert.ok(
    listed.every((line) => line.startsWith("false positive · ")),
    listed.join("\n"),
  );
  assert.ok(listed[0]?.includes(`expires ${date(T0 + 27 * 60 * MIN)}`), listed[0]);
  assert.equal(lines[at + 11], "…and 4 more.");
});

test("credential health speaks Slack words; nothing points at the README", () => {
  const off = picture(homeView({ now: T0, scans: [], approvals: [], credentials: undefined }).blocks);
  assert.equal(off.at(-1), "Not watched: the bot has no Veracode API credentials to check.");
  const states = picture(
    homeView({
      now: T0,
      scans: [],
      approvals: [],
      credentials: [credential("expired", -1), { ...credential("failing", 3), reason: "HTTP 401 <!here>" }],
    }).blocks,
  );
  assert.match(states.at(-2) ?? "", /expired: scanner calls signed with it fail until an admin replaces it/);
  assert.match(states.at(-1) ?? "", /could not check it \(HTTP 401 &lt;!here&gt;\): ask an admin/);
  const none = JSON.stringify(noAccessView([], T0));
  for (const text of [
    JSON.stringify(homeView({ now: T0, scans: [], approvals: [], credentials: [] })),
    none,
  ]) {
    assert.doesNotMatch(text, /README/);
  }
});

test("an empty Home says what is empty", () => {
  const lines = picture(homeView({ now: T0, scans: [], approvals: [], credentials: [] }).blocks);
  for (const empty of [
    "You have no scan request waiting for approval.",
    "Nothing waits for your approval.",
    "No risk acceptance or false positive waits for a decision.",
    "No scans are running.",
    "No finished scans yet.",
  ]) {
    assert.ok(lines.includes(empty), empty);
  }
});
