import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { CredentialAlert, CredentialStatus } from "../../src/domain/credential-guard.js";
import { DAY_MS } from "../../src/domain/credential-guard.js";
import { escapeText as escapeSlackText, type SlackMessage } from "../../src/slack/blocks/common.js";
import {
  credentialAlertMessage,
  credentialStatusMessage,
  describeTimeLeft,
} from "../../src/slack/blocks/credentials.js";

const EXPIRY = Date.UTC(2025, 9, 1, 12, 0, 0);

const expiry = (threshold: "7d" | "1d" | "expired", msLeft: number, label = "prod"): CredentialAlert => ({
  kind: "expiry",
  threshold,
  targetId: `account:${label}`,
  label,
  keyHint: "ab12",
  expiresAt: EXPIRY,
  msLeft,
});

/** All mrkdwn/plain texts of a message, blocks and fallback. */
function texts(message: SlackMessage): string[] {
  const out = [message.text];
  for (const block of message.blocks) {
    if ((block.type === "section" || block.type === "header") && block.text) out.push(block.text.text);
    if (block.type === "context")
      for (const element of block.elements) if ("text" in element) out.push(element.text);
  }
  return out;
}

function assertWithinLimits(message: SlackMessage) {
  assert.ok(message.text.length > 0);
  assert.ok(message.blocks.length <= 50, `${message.blocks.length} blocks`);
  for (const block of message.blocks) {
    if (block.type === "section") assert.ok((block.text?.text.length ?? 0) <= 3000);
    if (block.type === "header") assert.ok(block.text.text.length <= 150);
  }
}

describe("credentialAlertMessage", () => {
  test("expiry alert: account, last 4 of the key, exact UTC expiry, days left, rotation warning", () => {
    const message = credentialAlertMessage(expiry("7d", 6 * DAY_MS + 3_600_000));
    assertWithinLimits(message);
    const all = texts(message).join("\n");
    assert.match(
      message.text,
      /expire within 7 days: prod \(key …ab12\), 2025-10-01 12:00:00 UTC \(6 days left\)/,
    );
    assert.match(all, /\*Key ID:\* …ab12/);
    assert.match(all, /\*Expires:\* 2025-10-01 12:00:00 UTC/);
    assert.match(all, /\*Time left:\* 6 days left/);
    assert.match(all, /generating new credentials immediately revokes the old ones for every integration/);
    assert.match(all, /the bot never rotates keys itself/);
    assert.equal(message.blocks[0]?.type, "header");
  });

  test("1-day and expired alerts describe the time precisely", () => {
    assert.match(
      credentialAlertMessage(expiry("1d", 5.5 * 3_600_000)).text,
      /less than a day left \(5 hours\)/,
    );
    const expired = credentialAlertMessage(expiry("expired", -DAY_MS));
    assert.match(expired.text, /have expired: .*expired 1 day ago/);
    assert.match(texts(expired)[1] ?? "", /🚨/);
    assert.equal(describeTimeLeft(0), "expired less than a day ago");
    assert.equal(describeTimeLeft(-3.2 * DAY_MS), "expired 3 days ago");
    assert.equal(describeTimeLeft(DAY_MS), "1 day left");
  });

  test("escapes remote and configured text everywhere", () => {
    const message = credentialAlertMessage({
      kind: "check_failing",
      targetId: "account:x",
      label: "<!channel> & co",
      reason: "bad <b>thing</b> & more",
      errorKind: "unavailable",
    });
    for (const text of texts(message)) {
      assert.ok(!text.includes("<!channel>"), text);
      assert.ok(!/&(?!amp;|lt;|gt;)/.test(text), text);
    }
    assert.match(message.text, /&lt;!channel&gt; &amp; co: bad &lt;b&gt;thing&lt;\/b&gt; &amp; more/);
    assert.equal(escapeSlackText("a&b<c>"), "a&amp;b&lt;c&gt;");
  });

  test("failing check: reason and last known expiry; rotation steps only for auth failures", () => {
    const auth = credentialAlertMessage({
      kind: "check_failing",
      targetId: "account:prod",
      label: "prod",
      keyHint: "ab12",
      reason: "credentials wrong, revoked or wrong region",
      errorKind: "auth",
      lastKnownExpiresAt: EXPIRY,
    });
    const authText = texts(auth).join("\n");
    assert.match(authText, /\*Problem:\* credentials wrong, revoked or wrong region/);
    assert.match(authText, /\*Last known expiry:\* 2025-10-01 12:00:00 UTC/);
    assert.match(authText, /How to rotate/);
    assert.match(authText, /at most once a day/);
    const network = credentialAlertMessage({
      kind: "check_failing",
      targetId: "account:prod",
      label: "prod",
      reason: "Could not reach the Veracode API.",
      errorKind: "unavailable",
    });
    assert.doesNotMatch(texts(network).join("\n"), /How to rotate/);
    assert.match(texts(network).join("\n"), /\*Key ID:\* unknown/);
  });

  test("long text is cut to Slack's limits without breaking an escape", () => {
    const message = credentialAlertMessage({
      kind: "check_failing",
      targetId: "account:prod",
      label: "p".repeat(200),
      reason: "&".repeat(2000),
    });
    assertWithinLimits(message);
    const problem = message.blocks[1];
    assert.ok(problem?.type === "section" && problem.text);
    assert.match(problem.text.text, /(&amp;)+…$/);
  });

  test("links a runbook when configured, escaped", () => {
    const message = credentialAlertMessage(expiry("7d", 7 * DAY_MS), {
      runbookUrl: "https://wiki.example/rotate?a=1&b=<x>|y",
    });
    assert.match(
      texts(message).join("\n"),
      /<https:\/\/wiki\.example\/rotate\?a=1&amp;b=&lt;x&gt;%7Cy\|rotation steps>/,
    );
  });
});

describe("credentialStatusMessage", () => {
  const NOW = EXPIRY - 3 * DAY_MS;
  const status = (label: string, fields: Partial<CredentialStatus>): CredentialStatus => ({
    targetId: `account:${label}`,
    label,
    state: "ok",
    checkedAt: NOW - 3_600_000,
    ...fields,
  });

  test("lists each account with state, expiry and time left", () => {
    const message = credentialStatusMessage(
      [
        status("ci", { keyHint: "cd02", state: "7d", expiresAt: EXPIRY, daysLeft: 3 }),
        status("prod", {
          keyHint: "ab12",
          state: "failing",
          reason: "credentials wrong, revoked or wrong region",
          expiresAt: EXPIRY,
        }),
        status("old", { keyHint: "ef34", state: "expired", expiresAt: NOW - DAY_MS, daysLeft: -1 }),
      ],
      NOW,
    );
    assertWithinLimits(message);
    const all = texts(message).join("\n");
    assert.match(
      all,
      /\*ci\* \(key …cd02\): ⚠️ Expires within 7 days\nExpires 2025-10-01 12:00:00 UTC \(3 days left\)/,
    );
    assert.match(
      all,
      /\*prod\* \(key …ab12\): ❗ Check failing\nLast known expiry: 2025-10-01 12:00:00 UTC\ncredentials wrong/,
    );
    assert.match(all, /\*old\* \(key …ef34\): 🚨 Expired\nExpires .*expired 1 day ago/);
    assert.match(message.text, /1 ⚠️ Expires within 7 days, 1 ❗ Check failing, 1 🚨 Expired/);
  });

  test("an empty list says so", () => {
    const message = credentialStatusMessage([], NOW);
    assert.match(message.text, /No Veracode API credentials are being watched/);
    assert.equal(message.blocks.length, 1);
  });

  test("never exceeds 50 blocks", () => {
    const many = Array.from({ length: 60 }, (_, i) => status(`account-${i}`, { expiresAt: EXPIRY }));
    const message = credentialStatusMessage(many, NOW);
    assertWithinLimits(message);
    assert.equal(message.blocks.length, 50);
    assert.match(texts(message).at(-1) ?? "", /and 12 more accounts/);
    const exactly = credentialStatusMessage(many.slice(0, 49), NOW);
    assert.equal(exactly.blocks.length, 50);
    assert.doesNotMatch(texts(exactly).join("\n"), /more accounts/);
  });
});
