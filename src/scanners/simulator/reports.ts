import type { Severity } from "../../domain/ports.js";
import { severityFromScore } from "../findings.js";

/**
 * Reports the simulator serves, built from one small catalogue so the three formats agree: the JSON
 * findings report in the real sample's shape and JUnit XML as DefectDojo's Crashtest parser reads them
 * (github.com/DefectDojo/django-DefectDojo, dojo/tools/crashtest_security), and a one-page PDF.
 */

export interface ReportSubject {
  projectName: string;
  targetUrl: string;
  scanId: string;
}

interface CatalogueEntry {
  scanner: string;
  slug: string;
  title: string;
  baseScore: number;
  information: string;
}

/** The twelve scanner keys of the real report; each is present even when empty. */
const SCANNERS = [
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
] as const;

// Messages quote payloads with markup and quotes on purpose: consumers must escape them.
const CATALOGUE: readonly CatalogueEntry[] = [
  {
    scanner: "commandinjection",
    slug: "command-injection",
    title: "Command Injection",
    baseScore: 9.8,
    information: `Found command injection in parameter "ip" for URL "{url}/exec", with payload "; echo crashtest-security$((12*12))"`,
  },
  {
    scanner: "ssl",
    slug: "tls-deprecated",
    title: "Transport Layer Security (TLS/SSL)",
    baseScore: 7.5,
    information: "TLS 1.1 is offered by the server. This version of TLS is deprecated.",
  },
  {
    scanner: "xss",
    slug: "xss-reflected",
    title: "Cross-Site Scripting (Reflected)",
    baseScore: 6.1,
    information: `Found reflected XSS in parameter 'q' on "{url}/search" with payload "<script>alert(1)</script>" & friends`,
  },
  {
    scanner: "ssl",
    slug: "ssl-sweet32",
    title: "SSL SWEET32",
    baseScore: 5.9,
    information: "64 bit block ciphers are offered by the server.",
  },
  {
    scanner: "portscan",
    slug: "open-port",
    title: "Open Port",
    baseScore: 2.6,
    information: "Port 8080/tcp is open.",
  },
  {
    scanner: "fingerprinting",
    slug: "fingerprint-web-server",
    title: "Web Server Fingerprint",
    baseScore: 0,
    information: "Found nginx running in version 1.18.0.",
  },
];

/** What the simulated reports contain, for tests that check a client against them. */
export const SIMULATED_COUNTS: Readonly<Record<Severity, number>> = CATALOGUE.reduce(
  (counts, entry) => {
    counts[severityFromScore(entry.baseScore)] += 1;
    return counts;
  },
  { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
);

function information(entry: CatalogueEntry, subject: ReportSubject): string {
  return entry.information.replaceAll("{url}", subject.targetUrl.replace(/\/+$/, ""));
}

export function buildJsonReport(subject: ReportSubject, createdAt: Date): string {
  const findings: Record<string, unknown[]> = Object.fromEntries(SCANNERS.map((scanner) => [scanner, []]));
  for (const entry of CATALOGUE) {
    findings[entry.scanner]?.push({
      service_type: entry.scanner,
      finding_description_slug: entry.slug,
      information: information(entry, subject),
      details: { request: { has_findings: false } },
      // The real reports carry microseconds.
      created_at: createdAt.toISOString().replace("Z", "000Z"),
    });
  }
  const descriptions = CATALOGUE.map((entry) => ({
    slug: entry.slug,
    title: entry.title,
    baseScore: entry.baseScore,
    description: `${entry.title} (simulated).`,
  }));
  return JSON.stringify({ message: "scan_findings_retrieved", data: { findings, descriptions } });
}

function xmlAttr(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;");
}

export function buildJunitReport(subject: ReportSubject): string {
  const cases: string[] = [];
  const counters = new Map<string, number>();
  for (const entry of CATALOGUE) {
    const n = (counters.get(entry.title) ?? 0) + 1;
    counters.set(entry.title, n);
    cases.push(
      `    <testcase classname="${entry.scanner}.crashtest.cloud" name="${xmlAttr(`${entry.title} (${n})`)}">`,
      `      <failure message="${xmlAttr(information(entry, subject))}" type="${severityFromScore(entry.baseScore)}"/>`,
      "    </testcase>",
    );
  }
  // Scanners without findings appear as passed checks, as in the real report.
  const passed = SCANNERS.filter((scanner) => !CATALOGUE.some((entry) => entry.scanner === scanner));
  for (const scanner of passed) {
    cases.push(`    <testcase classname="${scanner}.crashtest.cloud" name="${scanner} checks (1)"/>`);
  }
  const head = `tests="${CATALOGUE.length + passed.length}" disabled="0" errors="0" failures="${CATALOGUE.length}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="" ${head} time="42">`,
    `  <testsuite name="Crashtest Security Suite" ${head} skipped="0" time="42">`,
    ...cases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}

/** PDF literal strings escape \ ( ); anything outside printable ASCII is replaced (Helvetica, no font embedding). */
function pdfText(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, "?").replace(/[\\()]/g, (c) => `\\${c}`);
}

/**
 * A real one-page PDF 1.4: catalog, pages, page, a standard Type1 font and one content stream, with
 * a cross-reference table whose byte offsets are computed as the file is assembled.
 */
function buildPdf(lines: readonly string[]): Uint8Array {
  const content = [
    "BT",
    "/F1 11 Tf",
    "14 TL",
    "56 780 Td",
    ...lines.map((line) => `(${pdfText(line.slice(0, 100))}) Tj T*`),
    "ET",
  ].join("\n");
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    `<< /Length ${Buffer.byteLength(content, "latin1")} >>\nstream\n${content}\nendstream`,
  ];
  // The second line's high bytes mark the file as binary for transfer tools (PDF spec 7.5.2).
  let out = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n";
  const offsets: number[] = [];
  objects.forEach((body, index) => {
    offsets.push(Buffer.byteLength(out, "latin1"));
    out += `${index + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, "latin1");
  // Each xref entry is exactly 20 bytes: 10-digit offset, 5-digit generation, type, space, newline.
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new Uint8Array(Buffer.from(out, "latin1"));
}

export function buildPdfReport(subject: ReportSubject): Uint8Array {
  const counts = Object.entries(SIMULATED_COUNTS)
    .map(([severity, count]) => `${count} ${severity}`)
    .join(", ");
  return buildPdf([
    "Crashtest Security report (simulated)",
    `Project: ${subject.projectName}`,
    `Target: ${subject.targetUrl}`,
    `Scan: ${subject.scanId}`,
    `Findings: ${counts}`,
    "",
    ...CATALOGUE.map((entry) => `[${severityFromScore(entry.baseScore)}] ${entry.title}`),
  ]);
}
