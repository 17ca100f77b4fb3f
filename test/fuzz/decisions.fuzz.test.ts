import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { readFindingRef } from "../../src/slack/blocks/decisions.js";
import { readDecisionModal, readDecisionModalMetadata } from "../../src/slack/views/decision-modal.js";

/** What a decision button, menu or form echoes back is read without throwing, and only IDs get through. */

const ID = /^[A-Za-z0-9!#$%()*+,\-./:;=?@[\]^_{|}~]+$/;
const hostile = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: "grapheme", maxLength: 60 }),
  fc.constantFrom("<!channel>", "<@U0ALICE>", "&lt;", "\u202e", "\u0000", "`", "' OR 1=1 --", "../.."),
);
const refLike = fc.record(
  {
    p: fc.oneof(hostile, fc.constant("101"), fc.integer()),
    f: fc.oneof(hostile, fc.constant("0123456789abcdef0123"), fc.constant(null)),
    k: fc.oneof(fc.constantFrom("a", "f", "x"), hostile),
    c: fc.oneof(fc.constantFrom("C0SEC", "D0DM", "nope"), hostile),
    extra: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);
const raw = fc.oneof(
  refLike.map((v) => JSON.stringify(v)),
  hostile,
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.jsonValue({ maxDepth: 3 }),
);

test("finding references: never a throw, only IDs without markup or spaces", () => {
  fc.assert(
    fc.property(raw, (value) => {
      const ref = readFindingRef(value);
      if (ref === undefined) return;
      assert.match(ref.projectId, ID);
      assert.match(ref.fingerprint, ID);
      assert.ok(ref.projectId.length <= 100 && ref.fingerprint.length <= 256);
    }),
    { numRuns: 2000 },
  );
});

test("the form's metadata and values: never a throw; a channel ID, a kind and bounded days only", () => {
  fc.assert(
    fc.property(raw, fc.jsonValue({ maxDepth: 4 }), (metadata, values) => {
      const read = readDecisionModalMetadata(metadata);
      if (read) {
        assert.match(read.channel, /^[CGD][A-Z0-9]{2,20}$/);
        assert.ok(["accepted", "false_positive"].includes(read.kind));
      }
      const { reason, days } = readDecisionModal(values);
      assert.equal(typeof reason, "string");
      assert.ok(days === undefined || [30, 90, 180].includes(days));
    }),
    { numRuns: 2000 },
  );
});
