import assert from "node:assert/strict";
import { test } from "node:test";
import { MESSAGE_MAX_BLOCKS, validateBlocks } from "../../dev/slack-emulator/block-kit.js";
import type { Finding, FindingsSummary, Severity } from "../../src/domain/ports.js";
import { SEVERITIES } from "../../src/domain/ports.js";
import type { KnownBlock } from "../../src/slack/blocks/common.js";
import {
  FINDINGS_LIMITS,
  findingsSummaryMessage,
  findingsUnavailableMessage,
  reportText,
} from "../../src/slack/blocks/findings.js";

const subject = { scanId: "390", projectName: "web-shop" };

function summaryOf(findings: Finding[]): FindingsSummary {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) counts[f.severity] += 1;
  const rank = (s: Severity) => SEVERITIES.indexOf(s);
  return {
    counts,
    total: findings.length,
    findings: [...findings].sort((a, b) => rank(a.severity) - rank(b.severity)),
  };
}

/** Every piece of text the blocks hold. */
function texts(blocks: KnownBlock[]): string[] {
  const out: string[] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === "object") {
      for (const [key, inner] of Object.entries(value)) {
        if (key === "text" && typeof inner === "string") out.push(inner);
        else walk(inner);
      }
    }
  };
  walk(blocks);
  return out;
}

test("counts by severity, most severe first, with a plain-text fallback", () => {
  const message = findingsSummaryMessage(
    subject,
    summaryOf([
      { title: "Open Port", severity: "low", category: "portscan", score: 2.6 },
      {
        title: "Command Injection",
        severity: "critical",
        category: "commandinjection",
        score: 9.8,
        detail: "ip=;id",
      },
      { title: "TLS 1.1", severity: "high", category: "ssl" },
    ]),
  );
  assert.equal(
    message.text,
    "Findings of scan 390 (web-shop): 3 (1 critical, 1 high, 0 medium, 1 low, 0 info)",
  );
  const all = texts(message.blocks);
  // The counts once, in one line (no second copy in fields).
  assert.match(
    all[0] ?? "",
    /\*3 findings:\* :rotating_light: 1 critical · :red_circle: 1 high · :large_yellow_circle: 1 low$/,
  );
  assert.equal(all.filter((t) => /critical/i.test(t) && /\d/.test(t) && !t.includes("·")).length, 0);
  const listed = all.filter((t) => t.includes("Command Injection") || t.includes("TLS"));
  assert.match(listed[0] ?? "", /Critical · Command Injection\*\n`ip=;id`/);
  assert.match(listed[1] ?? "", /High · TLS 1.1\*/);
  assert.match(all.at(-3) ?? "", /All 3 findings are shown\. .*`\/crashtest report 390 json`/);
  assert.deepEqual(all.slice(-2), ["Rescan", "Review findings"]);
  assert.deepEqual(validateBlocks(message.blocks as unknown[], MESSAGE_MAX_BLOCKS), []);
});

test("no findings: one short block", () => {
  const message = findingsSummaryMessage(subject, summaryOf([]));
  assert.equal(message.blocks.length, 1);
  assert.match(texts(message.blocks)[0] ?? "", /No findings/);
});

test("attacker-controlled report text cannot mention, link, format or break out", () => {
  const evil: Finding = {
    title: "<!channel> <@U0ADMIN> *urgent*",
    severity: "critical",
    category: "xss</code>`",
    detail:
      'payload "<script>alert(1)</script>" & <https://evil.example|click here>\n\n*Fake header*\u202Egnp.exe` `<!here>\u0000',
  };
  const message = findingsSummaryMessage(subject, summaryOf([evil]), { top: 5 });
  for (const text of texts(message.blocks)) {
    assert.ok(!/<[!@#]|<https?:/.test(text), `live markup in: ${text}`);
    assert.ok(!text.includes("\u202E") && !text.includes("\u0000"), "invisible characters removed");
  }
  const block = texts(message.blocks).find((t) => t.includes("script")) ?? "";
  assert.match(block, /&lt;!channel&gt; &lt;@U0ADMIN&gt;/);
  assert.match(
    block,
    /`payload "&lt;script&gt;alert\(1\)&lt;\/script&gt;" &amp; &lt;https:\/\/evil.example\|click here&gt; \*Fake header\* gnp.exe' '&lt;!here&gt;`/,
  );
  // Flattened: the detail cannot start a line of its own.
  assert.equal(block.split("\n").length, 2);
});

test("hundreds of huge findings stay within Block Kit limits and the message budget", () => {
  const big = "A<&>".repeat(5000);
  const findings: Finding[] = Array.from({ length: 300 }, (_, i) => ({
    title: `${big}${i}`,
    severity: SEVERITIES[i % 5] as Severity,
    category: big,
    score: 5,
    detail: big,
  }));
  const message = findingsSummaryMessage(subject, summaryOf(findings), { top: 500 });
  assert.ok(message.blocks.length <= MESSAGE_MAX_BLOCKS);
  assert.deepEqual(validateBlocks(message.blocks as unknown[], MESSAGE_MAX_BLOCKS), []);
  const total = texts(message.blocks).reduce((n, t) => n + t.length, 0);
  assert.ok(total <= FINDINGS_LIMITS.messageChars, `${total} characters`);
  assert.ok(
    texts(message.blocks).some((t) =>
      /Showing the \d+ most severe finding types \(\d+ of 300 findings\)/.test(t),
    ),
  );
  for (const text of texts(message.blocks)) {
    assert.ok(text.length <= 3000);
    assert.doesNotMatch(text, /&(?!amp;|lt;|gt;)/, "no entity cut in half");
  }
});

test("the list is capped at the top 10 by default", () => {
  const findings = Array.from({ length: 25 }, (_, i) => ({
    title: `Finding ${i}`,
    severity: "medium" as const,
    category: "x",
  }));
  const message = findingsSummaryMessage(subject, summaryOf(findings));
  assert.equal(texts(message.blocks).filter((t) => t.includes("Finding ")).length, 10);
  assert.ok(
    texts(message.blocks).some((t) =>
      t.includes("Showing the 10 most severe finding types (10 of 25 findings)"),
    ),
  );
});

test("reportText cuts before escaping and never inside a character", () => {
  assert.equal(reportText("&&&&&&", 4), "&amp;&amp;&amp;…");
  assert.equal(reportText("a😀b", 2), "a…");
  assert.equal(reportText(" line\none\ttab ", 100), "line one tab");
});

test("summary unavailable: the reason is escaped and the report command given", () => {
  const message = findingsUnavailableMessage(subject, "bad <!channel> report");
  assert.match(texts(message.blocks)[0] ?? "", /bad &lt;!channel&gt; report.*`\/crashtest report 390 json`/s);
  assert.doesNotMatch(message.text, /<!channel>/);
});
