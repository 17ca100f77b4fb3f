import assert from "node:assert/strict";
import { test } from "node:test";
import type { ListedFinding, ProjectFindings } from "../../src/domain/findings/history.js";
import { findingsListMessage, matches } from "../../src/slack/blocks/findings-list.js";
import { parseFindingsQuery } from "../../src/slack/commands/findings.js";

const listed = (over: Partial<ListedFinding>): ListedFinding => ({
  fingerprint: "0123456789abcdef0123",
  title: "SQL Injection",
  severity: "critical",
  lastSeenScanId: "9",
  status: "open",
  ...over,
});

test("filters and severity floor parse in any order; anything else is refused with the usage", () => {
  assert.deepEqual(parseFindingsQuery([]), { filter: "open", page: 1 });
  assert.deepEqual(parseFindingsQuery(["page:3", "SEVERITY>=HIGH", "fixed"]), {
    filter: "fixed",
    minSeverity: "high",
    page: 3,
  });
  assert.throws(() => parseFindingsQuery(["closed"]), /is not a filter[\s\S]*Usage/);
  assert.throws(() => parseFindingsQuery(["page:0"]), /is not a filter/);
  assert.equal(matches("open", "new"), true);
  assert.equal(matches("accepted", "false_positive"), true);
  assert.equal(matches("open", "accepted"), false);
});

test("scanner text is escaped and cut; decided findings say by whom and until when, without a menu", () => {
  const state: ProjectFindings = {
    scanId: "9",
    endedAt: Date.UTC(2026, 0, 1),
    findings: [
      listed({ title: `<!channel> ${"x".repeat(5000)}`, location: "<https://evil|click>" }),
      listed({
        fingerprint: "ffffffffffffffffffff",
        status: "accepted",
        decision: {
          kind: "accepted",
          fingerprint: "ffffffffffffffffffff",
          reason: "behind VPN <!here>",
          requestedBy: "U1",
          approvedBy: "U2",
          decidedAt: 0,
          expiresAt: Date.UTC(2026, 3, 1),
        },
      }),
    ],
  };
  const open = findingsListMessage({ id: "p1", name: "shop" }, state, { filter: "open", page: 1 });
  const text = JSON.stringify(open.blocks);
  assert.ok(!text.includes("<!channel>") && !text.includes("<https://evil"));
  for (const block of open.blocks) {
    const body = (block as { text?: { text: string } }).text?.text ?? "";
    assert.ok(body.length <= 3000);
  }
  const accepted = findingsListMessage({ id: "p1", name: "shop" }, state, { filter: "accepted", page: 1 });
  const section = accepted.blocks.find(
    (b) => (b as { block_id?: string }).block_id === "finding:ffffffffffffffffffff",
  );
  assert.ok(section);
  assert.equal((section as { accessory?: unknown }).accessory, undefined);
  const body = JSON.stringify(section);
  assert.match(body, /Decided by <@U1>, approved by <@U2> until <!date\^/);
  assert.ok(!body.includes("<!here>"));
});
