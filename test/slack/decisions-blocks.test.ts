import assert from "node:assert/strict";
import { test } from "node:test";
import { MESSAGE_MAX_BLOCKS, validateBlocks, validateView } from "../../dev/slack-emulator/block-kit.js";
import type { DecisionRequest } from "../../src/domain/findings/decisions.js";
import {
  acceptanceExpiredMessage,
  decisionButtons,
  decisionCard,
  decisionMenu,
  readFindingRef,
} from "../../src/slack/blocks/decisions.js";
import {
  decisionModal,
  readDecisionModal,
  readDecisionModalMetadata,
} from "../../src/slack/views/decision-modal.js";

const request: DecisionRequest = {
  id: "0f8fad5b-d9cb-469f-a165-70867728950e",
  projectId: "101",
  projectName: "web-shop",
  fingerprint: "fp-1",
  finding: { title: "<!channel> SQL `injection`", severity: "high", location: "POST /login <@U123>" },
  kind: "accepted",
  reason: `${"<!here> ".repeat(100)}`,
  days: 90,
  requestedBy: "U0CAROL",
  channel: "C0SEC",
  createdAt: 0,
  expiresAt: 86_400_000,
  status: "pending",
};

test("cards and lines escape scanner and user text and stay within Block Kit limits", () => {
  for (const status of ["pending", "approved", "denied", "withdrawn", "expired"] as const) {
    const card = decisionCard({ ...request, status, decidedBy: "U0BOB", decidedAt: 1, validUntil: 2 });
    assert.deepEqual(validateBlocks(card.blocks, MESSAGE_MAX_BLOCKS), [], status);
    const text = JSON.stringify(card.blocks);
    assert.doesNotMatch(text, /<!channel>|<!here>|<@U123>/, "no mention survives");
  }
  assert.deepEqual(validateBlocks(acceptanceExpiredMessage(request).blocks, MESSAGE_MAX_BLOCKS), []);
  assert.deepEqual(validateView(decisionModal({ ...request, kind: "accepted", ttlHours: 24 }) as never), []);
});

test("button values carry IDs only and are read back through one schema", () => {
  const [accept] = decisionButtons("101", "crashtest:sqli:/login:user:POST");
  assert.ok(accept);
  assert.deepEqual(readFindingRef(accept.value), {
    projectId: "101",
    fingerprint: "crashtest:sqli:/login:user:POST",
  });
  const menu = decisionMenu("101", "fp-1");
  assert.deepEqual(readFindingRef(menu?.options[0]?.value), {
    projectId: "101",
    fingerprint: "fp-1",
    kind: "accepted",
  });
  assert.equal(decisionMenu("101", "f".repeat(140)), undefined, "an option value is at most 150 characters");
  for (const forged of [
    '{"p":"1","f":"<@U1>"}',
    '{"p":"1","f":"x","extra":1}',
    "not json",
    '{"p":"1"}',
    42,
  ]) {
    assert.equal(readFindingRef(forged), undefined, String(forged));
  }
});

test("the form's metadata and values are read back, anything else refused", () => {
  const view = decisionModal({ ...request, kind: "false_positive", channel: "C0SEC", ttlHours: 24 });
  assert.deepEqual(readDecisionModalMetadata(view.private_metadata), {
    projectId: "101",
    fingerprint: "fp-1",
    kind: "false_positive",
    channel: "C0SEC",
  });
  assert.equal(readDecisionModalMetadata('{"p":"1","f":"x","k":"a","c":"nope"}'), undefined);
  assert.deepEqual(
    readDecisionModal({
      reason: { value: { value: "because" } },
      expiry: { value: { selected_option: { value: "180" } } },
    }),
    { reason: "because", days: 180 },
  );
  assert.deepEqual(readDecisionModal({ expiry: { value: { selected_option: { value: "7" } } } }), {
    reason: "",
  });
});
