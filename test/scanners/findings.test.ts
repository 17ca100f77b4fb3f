import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { AppError } from "../../src/domain/errors.js";
import { SEVERITIES, type Severity } from "../../src/domain/ports.js";
import {
  FIELD_MAX_CHARS,
  severityFromScore,
  summarizeFindingsJson,
  summarizeJunit,
  summarizeReport,
} from "../../src/scanners/findings.js";
import { captureLogger } from "../support/logs.js";
import { sharedFile } from "../support/shared.js";

function assertSortedBySeverity(severities: Severity[]) {
  const ranks = severities.map((severity) => SEVERITIES.indexOf(severity));
  assert.deepEqual(
    ranks,
    [...ranks].sort((a, b) => a - b),
  );
}

test("summarises the real full findings report (oracle recomputed here from the file)", (t) => {
  const file = sharedFile(t, "fixtures/crashtest/findings-full.json");
  if (!file) return;
  const text = readFileSync(file, "utf8");

  // Independent walk of the raw JSON with DefectDojo's thresholds (dojo/tools/crashtest_security/parser.py).
  const raw = JSON.parse(text) as {
    data: {
      findings: Record<string, Array<{ finding_description_slug: string }>>;
      descriptions: Array<{ slug: string; baseScore: number }>;
    };
  };
  const scores = new Map(raw.data.descriptions.map((d) => [d.slug, d.baseScore]));
  const expected: Record<string, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  let total = 0;
  for (const list of Object.values(raw.data.findings)) {
    for (const finding of list) {
      const score = scores.get(finding.finding_description_slug);
      assert.notEqual(score, undefined, "the fixture README says every slug has a description");
      const s = score ?? 0;
      const severity = s === 0 ? "info" : s < 4 ? "low" : s < 7 ? "medium" : s < 9 ? "high" : "critical";
      expected[severity] = (expected[severity] ?? 0) + 1;
      total += 1;
    }
  }
  // The counts computed once by hand from the file; guards the walk above as well.
  assert.deepEqual(expected, { critical: 5, high: 9, medium: 33, low: 4, info: 2 });
  assert.equal(total, 53);

  const log = captureLogger();
  const summary = summarizeFindingsJson(text, { logger: log.logger });
  assert.deepEqual(summary.counts, expected);
  assert.equal(summary.total, 53);
  assert.equal(summary.findings.length, 53);
  assertSortedBySeverity(summary.findings.map((f) => f.severity));
  const top = summary.findings[0];
  assert.equal(top?.severity, "critical");
  assert.ok(top?.title && top.title.length > 0 && top.score !== undefined && top.score >= 9);
  assert.equal(log.lines.length, 0, "no assumed severities");
});

test("summarises the real empty findings report without an envelope", (t) => {
  const file = sharedFile(t, "fixtures/crashtest/findings-empty.json");
  if (!file) return;
  const summary = summarizeFindingsJson(readFileSync(file));
  assert.deepEqual(summary, {
    counts: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
    total: 0,
    findings: [],
    // What was covered: every check the report lists, without findings too.
    checks: [
      "commandinjection",
      "csrf",
      "cve",
      "deserialization",
      "fileinclusion",
      "fingerprinting",
      "fuzzer",
      "portscan",
      "sqlinjection",
      "ssl",
      "xss",
      "xxe",
    ],
  });
});

test("summarises the real JUnit fragments: failures only, type is the severity", (t) => {
  const file = sharedFile(t, "fixtures/crashtest/junit-fragments.xml");
  if (!file) return;
  const summary = summarizeJunit(readFileSync(file));
  assert.deepEqual(summary.counts, { critical: 1, high: 1, medium: 0, low: 0, info: 0 });
  assert.deepEqual(
    summary.findings.map((f) => [f.severity, f.title, f.category]),
    [
      ["critical", "Command Injection", "commandinjection"],
      ["high", "Transport Layer Security (TLS/SSL)", "ssl"],
    ],
  );
  assert.match(summary.findings[0]?.detail ?? "", /echo crashtest-security\$\(\(12\*12\)\)'$/);
});

test("grades baseScore at the documented boundaries", () => {
  const cases: Array<[number, Severity]> = [
    [0, "info"],
    [0.1, "low"],
    [3.9, "low"],
    [4, "medium"],
    [6.9, "medium"],
    [7, "high"],
    [8.9, "high"],
    [9, "critical"],
    [10, "critical"],
  ];
  for (const [score, severity] of cases) assert.equal(severityFromScore(score), severity, String(score));
});

const inlineReport = {
  message: "scan_findings_retrieved",
  data: {
    findings: {
      xss: [
        { service_type: "xss", finding_description_slug: "xss-reflected", information: "payload <b>" },
        { service_type: "xss", finding_description_slug: "mystery-check" },
      ],
      ssl: [{ service_type: "ssl", finding_description_slug: "ssl-sweet32" }],
      sqlinjection: [{ service_type: "sqlinjection", finding_description_slug: "sqli" }],
      csrf: null,
      cve: [],
    },
    descriptions: [
      { slug: "xss-reflected", title: "Reflected XSS", baseScore: 6.1 },
      { slug: "ssl-sweet32", title: "SSL SWEET32", baseScore: "3.7" },
      { slug: "sqli", title: "SQL Injection", baseScore: 9.8 },
    ],
  },
};

test("joins findings to descriptions; an unknown slug counts as info with a logged note", () => {
  const log = captureLogger();
  const summary = summarizeFindingsJson(JSON.stringify(inlineReport), { logger: log.logger });
  assert.deepEqual(summary.counts, { critical: 1, high: 0, medium: 1, low: 1, info: 1 });
  assert.deepEqual(
    summary.findings.map((f) => [f.severity, f.title, f.category, f.score]),
    [
      ["critical", "SQL Injection", "sqlinjection", 9.8],
      ["medium", "Reflected XSS", "xss", 6.1],
      ["low", "SSL SWEET32", "ssl", 3.7],
      ["info", "mystery-check", "xss", undefined],
    ],
  );
  assert.equal(summary.findings[1]?.detail, "payload <b>");
  const notes = log.records();
  assert.equal(notes.length, 1);
  assert.equal(notes[0]?.slug, "mystery-check");

  const bare = summarizeFindingsJson(JSON.stringify(inlineReport.data));
  assert.deepEqual(bare.counts, summary.counts);
});

test("rejects JSON that is not a findings report", () => {
  for (const text of ["{", '{"message":"x"}', '{"findings":{"xss":[{}]},"descriptions":[]}', "[]"]) {
    assert.throws(
      () => summarizeFindingsJson(text),
      (error: unknown) => error instanceof AppError && error.kind === "unavailable",
      text,
    );
  }
});

test("reads inline JUnit: ignores errors and skipped, decodes entities and CDATA", () => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<!-- generated -->
<testsuites tests="6">
  <testsuite name='Crashtest Security Suite'>
    <testcase classname="xss.crashtest.cloud" name="Cross-Site Scripting (3)">
      <failure type="medium" message="payload &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#65;&#x42;"/>
    </testcase>
    <testcase classname="sqlinjection.crashtest.cloud" name="SQL Injection (1)">
      <failure type="CRITICAL"><![CDATA[id=1' OR '1'='1 <raw>]]></failure>
    </testcase>
    <testcase classname="portscan.crashtest.cloud" name="Port Scan (1)"><error message="scanner crashed"/></testcase>
    <testcase classname="fuzzer.crashtest.cloud" name="Fuzzer (1)"><skipped/></testcase>
    <testcase classname="ssl.crashtest.cloud" name="TLS (2)"><failure type="warning" message="odd type"/></testcase>
    <testcase classname="xxe.crashtest.cloud" name="XXE (1)"/>
  </testsuite>
</testsuites>`;
  const log = captureLogger();
  const summary = summarizeJunit(new TextEncoder().encode(xml), { logger: log.logger });
  assert.deepEqual(summary.counts, { critical: 1, high: 0, medium: 1, low: 0, info: 1 });
  assert.deepEqual(
    summary.findings.map((f) => [f.severity, f.title, f.detail]),
    [
      ["critical", "SQL Injection", "id=1' OR '1'='1 <raw>"],
      ["medium", "Cross-Site Scripting", 'payload <script>alert("x")</script> & AB'],
      ["info", "TLS", "odd type"],
    ],
  );
  assert.equal(log.records()[0]?.type, "warning");
});

test("refuses JUnit with a DTD, and XML that is not a test report", () => {
  const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>
<testsuites><testsuite><testcase name="a"><failure type="high" message="&lol2;"/></testcase></testsuite></testsuites>`;
  for (const xml of [bomb, "<html><body/></html>", "<testsuites><testcase/></testsuites>", "not xml"]) {
    assert.throws(
      () => summarizeJunit(xml),
      (error: unknown) => error instanceof AppError && error.kind === "unavailable",
      xml,
    );
  }
});

test("summarizeReport picks the reader by format and refuses PDFs", () => {
  const report = (format: "json" | "xml" | "pdf", text: string) => ({
    format,
    bytes: new TextEncoder().encode(text),
    contentType: "x",
    fileName: "x",
  });
  assert.equal(summarizeReport(report("json", JSON.stringify(inlineReport))).total, 4);
  assert.equal(
    summarizeReport(
      report("xml", '<testsuite><testcase name="a"><failure type="low"/></testcase></testsuite>'),
    ).counts.low,
    1,
  );
  assert.throws(
    () => summarizeReport(report("pdf", "%PDF-1.4")),
    (error: unknown) => error instanceof AppError && error.kind === "unsupported",
  );
});

test("JUnit titles lose the occurrence count, and report fields are cut before anything else reads them", () => {
  const junit = (name: string, extra = "") =>
    summarizeJunit(
      `<testsuites><testsuite><testcase name="${name}" classname="x.crashtest.cloud"${extra}><failure type="high"/></testcase></testsuite></testsuites>`,
    ).findings[0];
  assert.equal(junit("Command Injection (12)")?.title, "Command Injection");
  assert.equal(junit("Command Injection   (1)  ")?.title, "Command Injection");
  assert.equal(junit("Cookie (HttpOnly)")?.title, "Cookie (HttpOnly)");
  assert.equal(junit("Weird (1) name")?.title, "Weird (1) name");
  assert.equal(junit("(3)")?.title, "");
  assert.equal(junit("n")?.category, "x");

  // 200k spaces before a non-match froze the bot for 15 s with the old /\s*\(\d+\)\s*$/.
  assert.equal(junit(`XSS${" ".repeat(200_000)}x (2)`)?.title, "XSS");
  const long = "é".repeat(10_000);
  const cut = summarizeJunit(
    `<testsuites><testcase name="${long}" classname="${long}"><failure type="low" message="${long}"/></testcase></testsuites>`,
  ).findings[0];
  assert.equal(cut?.title.length, FIELD_MAX_CHARS.title);
  assert.equal(cut?.category.length, FIELD_MAX_CHARS.category);
  assert.equal(cut?.detail?.length, FIELD_MAX_CHARS.detail);

  const emoji = "\u{1F600}".repeat(FIELD_MAX_CHARS.detail);
  const json = summarizeFindingsJson(
    JSON.stringify({
      findings: { [long]: [{ finding_description_slug: "s", information: `x${emoji}` }] },
      descriptions: [{ slug: "s", title: long, baseScore: 5 }],
    }),
  ).findings[0];
  assert.equal(json?.title.length, FIELD_MAX_CHARS.title);
  assert.equal(json?.category.length, FIELD_MAX_CHARS.category);
  // Never cut between the two halves of a surrogate pair.
  assert.equal(json?.detail?.length, FIELD_MAX_CHARS.detail - 1);
  assert.ok(json?.detail?.endsWith("\u{1F600}"));
});

test("the real JSON report's remediation: how to fix and http(s) references per slug", (t) => {
  const file = sharedFile(t, "fixtures/crashtest/findings-full.json");
  if (!file) return;
  const text = readFileSync(file, "utf8");
  const raw = JSON.parse(text) as {
    data: { descriptions: Array<{ slug: string; how_to_fix?: string; reference_resolution?: string }> };
  };
  const sweet32 = raw.data.descriptions.find((d) => d.slug === "ssl-sweet32");
  const summary = summarizeFindingsJson(text);
  const finding = summary.findings.find((f) => f.slug === "ssl-sweet32");
  assert.equal(finding?.remediation?.howToFix, sweet32?.how_to_fix);
  assert.deepEqual(finding?.remediation?.references[0], {
    label: "How to fix",
    url: "https://wiki.crashtest-security.com/prevent-ssl-sweet32",
  });
  assert.equal(finding?.remediation?.references[1]?.label, "OWASP");
  for (const f of summary.findings) {
    for (const reference of f.remediation?.references ?? []) assert.match(reference.url, /^https?:\/\//);
    assert.ok((f.remediation?.howToFix?.length ?? 0) <= FIELD_MAX_CHARS.howToFix);
  }
});

test("remediation keeps only http(s) links of sane length and cuts long advice", () => {
  const report = {
    findings: { xss: [{ finding_description_slug: "xss", information: "x" }] },
    descriptions: [
      {
        slug: "xss",
        title: "XSS",
        baseScore: 6,
        how_to_fix: "a".repeat(5000),
        reference_resolution: "javascript:alert(1)",
        reference_owasp: `https://owasp.example/${"p".repeat(600)}`,
      },
    ],
  };
  const [finding] = summarizeFindingsJson(JSON.stringify(report)).findings;
  assert.equal(finding?.remediation?.howToFix?.length, FIELD_MAX_CHARS.howToFix);
  assert.deepEqual(finding?.remediation?.references, []);
  const odd = {
    ...report,
    descriptions: [{ slug: "xss", baseScore: 6, how_to_fix: 7, reference_owasp: null }],
  };
  assert.equal(summarizeFindingsJson(JSON.stringify(odd)).findings[0]?.remediation, undefined);
});

test("JUnit <error> test cases are counted as scanner errors of all checks, never as findings", () => {
  const xml = `<testsuites><testsuite name="s">
    <testcase classname="xss.crashtest.cloud" name="XSS (1)"><error message="timeout"/></testcase>
    <testcase classname="ssl.crashtest.cloud" name="TLS (1)"><failure type="high" message="TLS 1.0"/></testcase>
    <testcase classname="xxe.crashtest.cloud" name="XXE (1)"/>
  </testsuite></testsuites>`;
  const summary = summarizeJunit(xml);
  assert.equal(summary.total, 1);
  assert.deepEqual(summary.scannerErrors, { count: 1, checks: 3 });
  assert.equal(summarizeJunit(xml.replace(/<error[^>]*\/>/, "")).scannerErrors, undefined);
});
