import assert from "node:assert/strict";
import { test } from "node:test";
import { findingsSummaryMessage } from "../../src/slack/blocks/findings.js";
import { projectList } from "../../src/slack/blocks/projects.js";

test("one of a thing reads in the singular: one finding, one project", () => {
  const findings = findingsSummaryMessage(
    { scanId: "390", projectName: "web-shop" },
    {
      counts: { critical: 0, high: 1, medium: 0, low: 0, info: 0 },
      total: 1,
      findings: [{ title: "TLS 1.1", severity: "high", category: "ssl" }],
    },
  );
  const text = JSON.stringify(findings.blocks);
  assert.match(text, /\*1 finding:\*/);
  assert.match(text, /The finding is shown\./);
  assert.doesNotMatch(text, /1 findings/);

  const one = projectList([
    {
      id: "101",
      name: "web-shop",
      url: "https://shop.example.com/",
      backend: "simulator",
      createdBy: "U0ALICE",
      createdAt: 0,
      linked: false,
    },
  ]);
  assert.match(one.text, /^1 project: web-shop/);
});
