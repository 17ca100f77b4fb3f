import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { MESSAGE_MAX_BLOCKS, validateBlocks } from "../../dev/slack-emulator/block-kit.js";
import type { Finding, FindingsSummary } from "../../src/domain/ports.js";
import { summarizeFindingsJson } from "../../src/scanners/findings.js";
import { ACTIONS } from "../../src/slack/blocks/cards.js";
import { FINDINGS_LIMITS, findingsSummaryMessage } from "../../src/slack/blocks/findings.js";
import { picture } from "../support/block-picture.js";
import { sharedFile } from "../support/shared.js";

const subject = { scanId: "4711", projectName: "web-shop" };

function texts(blocks: unknown): string {
  return JSON.stringify(blocks);
}

test("the real findings report: counts once, types grouped with places, the scanner's fix and links, what next", (t) => {
  const file = sharedFile(t, "fixtures/crashtest/findings-full.json");
  if (!file) return;
  const summary = summarizeFindingsJson(readFileSync(file));
  const message = findingsSummaryMessage(subject, summary, { format: "json" });
  assert.deepEqual(validateBlocks(message.blocks as unknown[], MESSAGE_MAX_BLOCKS), []);
  const lines = picture(message.blocks);
  assert.equal(
    message.text,
    "Findings of scan 4711 (web-shop): 53 (5 critical, 9 high, 33 medium, 4 low, 2 info)",
  );
  assert.deepEqual(lines.slice(0, 3), [
    "*Findings* · scan 4711 · *web-shop*",
    "*53 findings:* :rotating_light: 5 critical · :red_circle: 9 high · :large_orange_circle: 33 medium · :large_yellow_circle: 4 low · :large_blue_circle: 2 info",
    "---",
  ]);
  // The counts appear once: no second block of per-severity fields.
  assert.equal(lines.filter((l) => l.includes("5 critical")).length, 1);
  // Grouped by type, most severe first, with the places the report names.
  assert.equal(
    lines[3],
    "*:rotating_light: Critical · 2 × SQL Injection*: `/vulnerabilities/sqli/ (id)`, `/vulnerabilities/brute/ (username)`",
  );
  assert.match(
    lines[4] ?? "",
    /^\*Fix:\* The simple answer is: Sanitize the users input before sending it to the database\./,
  );
  assert.ok((lines[4] ?? "").length <= FINDINGS_LIMITS.fixChars + 10, "the fix is one short line");
  assert.equal(
    lines[5],
    "<https://wiki.crashtest-security.com/sql-injections|How to fix> · <https://www.owasp.org/index.php/Testing_for_SQL_Injection_(OTG-INPVAL-005)|OWASP>",
  );
  assert.ok(lines.includes("*:red_circle: High · 3 × SSL Protocol Version*"), "a type without places");
  // What next: the rest, the files, the command, and a Rescan button with the scan ID only.
  assert.match(
    lines.at(-2) ?? "",
    /^\*What next:\* Showing the 10 most severe finding types \(\d+ of 53 findings\)\. The report files are attached in this thread; `\/crashtest report 4711 json` has every finding\. After a fix, press \*Rescan\*\.$/,
  );
  assert.equal(lines.at(-1), "[Rescan] [Review findings]");
  assert.match(texts(message.blocks), new RegExp(`"action_id":"${ACTIONS.rescan}","value":"4711"`));
});

test("zero findings says so plainly, and what was covered when the report tells", (t) => {
  const file = sharedFile(t, "fixtures/crashtest/findings-empty.json");
  if (!file) return;
  const message = findingsSummaryMessage(subject, summarizeFindingsJson(readFileSync(file)));
  assert.deepEqual(picture(message.blocks), [
    "*Findings* · scan 4711 · *web-shop*",
    "*No findings.* The scanner found nothing to report in this scan.",
    "Checks run: commandinjection, csrf, cve, deserialization, fileinclusion, fingerprinting, fuzzer, portscan, sqlinjection, ssl, xss, xxe.",
  ]);
  const silent = findingsSummaryMessage(subject, {
    counts: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
    total: 0,
    findings: [],
    scannerErrors: { count: 2, checks: 40 },
  });
  assert.deepEqual(picture(silent.blocks).slice(1), [
    "*No findings.* The scanner found nothing to report in this scan.",
    ":warning: 2 of 40 checks could not run.",
  ]);
});

test("report links are rebuilt from parsed http(s) URLs; labels and places are inert", () => {
  const finding: Finding = {
    title: "XSS <!here>",
    severity: "high",
    category: "xss",
    slug: "xss",
    location: { path: "/a`b<@U1>", parameter: "q" },
    remediation: {
      howToFix: "Escape <b>output</b>\nand *validate*",
      references: [
        { label: "ok|<!channel>", url: "https://example.com/a|b>c" },
        { label: "bad", url: "javascript:alert(1)" },
      ],
    },
  };
  const summary: FindingsSummary = {
    counts: { critical: 0, high: 2, medium: 0, low: 0, info: 0 },
    total: 2,
    findings: [finding, { ...finding, location: { path: "/other" } }],
  };
  const lines = picture(findingsSummaryMessage(subject, summary).blocks);
  assert.equal(lines[3], "*:red_circle: High · 2 × XSS &lt;!here&gt;*: `/a'b&lt;@U1&gt; (q)`, `/other`");
  assert.equal(lines[4], "*Fix:* Escape &lt;b&gt;output&lt;/b&gt; and *validate*");
  assert.equal(lines[5], "<https://example.com/a%7Cb%3Ec|ok/&lt;!channel&gt;>");
});

test("many places: the first few, then how many more", () => {
  const findings: Finding[] = Array.from({ length: 9 }, (_, i) => ({
    title: "Open Redirect",
    severity: "medium",
    category: "fuzzer",
    slug: "open-redirect",
    location: { path: `/r${i}` },
  }));
  const summary: FindingsSummary = {
    counts: { critical: 0, high: 0, medium: 9, low: 0, info: 0 },
    total: 9,
    findings,
  };
  const lines = picture(findingsSummaryMessage(subject, summary).blocks);
  assert.equal(
    lines[3],
    "*:large_orange_circle: Medium · 9 × Open Redirect*: `/r0`, `/r1`, `/r2`, `/r3`, `/r4` and 4 more",
  );
  assert.match(lines.at(-2) ?? "", /All 9 findings are shown\./);
});
