import * as z from "zod";
import { AppError } from "../domain/errors.js";
import { parseOutside } from "../domain/outside.js";
import {
  type Finding,
  type FindingsSummary,
  type Logger,
  type Remediation,
  type ReportFile,
  SEVERITIES,
  type Severity,
} from "../domain/ports.js";
import { locationFromText } from "./location.js";
import { descendants, parseXml, XmlError } from "./xml.js";

/**
 * Findings summaries from Crashtest reports: the JSON findings report (shapes as DefectDojo's
 * importer reads them, https://github.com/DefectDojo/django-DefectDojo/blob/master/dojo/tools/crashtest_security/parser.py) and the JUnit XML report (as OWASP Benchmark's
 * CrashtestReader reads it, github.com/OWASP-Benchmark/BenchmarkJava). Both give counts by severity
 * and every finding sorted most severe first.
 */

export interface SummaryOptions {
  /** Receives notes about findings whose severity had to be assumed. */
  logger?: Logger;
}

/**
 * A finding carries no severity: its description's `baseScore` maps to one by DefectDojo's rule
 * (https://github.com/DefectDojo/django-DefectDojo/blob/master/dojo/tools/crashtest_security/parser.py).
 */
export function severityFromScore(score: number): Severity {
  if (score <= 0) return "info";
  if (score < 4) return "low";
  if (score < 7) return "medium";
  if (score < 9) return "high";
  return "critical";
}

function summarize(findings: Finding[]): FindingsSummary {
  const counts: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const finding of findings) counts[finding.severity] += 1;
  const rank = (severity: Severity) => SEVERITIES.indexOf(severity);
  // Array.sort is stable, so equal findings keep report order.
  const sorted = [...findings].sort(
    (a, b) => rank(a.severity) - rank(b.severity) || (b.score ?? -1) - (a.score ?? -1),
  );
  return { counts, total: findings.length, findings: sorted };
}

/**
 * Report fields are attacker-influenced (a scanned site chooses what findings quote) and Slack shows at
 * most a few hundred characters of each, so every field is cut to these lengths before anything else
 * (trimming, pattern matching) touches it.
 */
export const FIELD_MAX_CHARS = {
  title: 500,
  category: 200,
  detail: 2000,
  slug: 200,
  howToFix: 1500,
  referenceUrl: 500,
} as const;

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never end on the first half of a surrogate pair.
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return text.slice(0, end);
}

/**
 * "Command Injection (1)" → "Command Injection": the number counts occurrences of a check, it is not
 * part of the title. Index arithmetic, not a pattern: `\s*\(\d+\)\s*$` backtracks quadratically on a
 * long run of spaces.
 */
function junitTitle(name: string): string {
  const title = cut(name, FIELD_MAX_CHARS.title).trimEnd();
  const open = title.lastIndexOf("(");
  if (open === -1 || !title.endsWith(")")) return title;
  return /^\d+$/.test(title.slice(open + 1, -1)) ? title.slice(0, open).trimEnd() : title;
}

function textOf(input: string | Uint8Array): string {
  return typeof input === "string" ? input : Buffer.from(input).toString("utf8");
}

function unreadable(kind: string, reason: string): AppError {
  return new AppError("unavailable", `The ${kind} report could not be read.`, {
    detail: `${kind} report: ${reason}`,
  });
}

// ---- JSON findings report ----

const Score = z.union([
  z.number(),
  z
    .string()
    .regex(/^\s*-?\d+(\.\d+)?\s*$/)
    .transform(Number),
]);

// Plain objects: only the fields the summary reads are validated and kept; the report's other fields
// (request details, timestamps, …) are neither checked nor copied.
const JsonFinding = z.object({
  finding_description_slug: z.string(),
  information: z.string().optional(),
});

// Remediation fields are optional and never a reason to refuse the report: an odd value is dropped.
const OptionalText = z.string().optional().catch(undefined);

const JsonDescription = z.object({
  slug: z.string(),
  title: z.string().optional(),
  baseScore: Score.optional(),
  how_to_fix: OptionalText,
  reference_resolution: OptionalText,
  reference_owasp: OptionalText,
});

/** A reference link the card may show: http(s) only, of sane length, parsed (no javascript: or mailto:). */
function referenceUrl(value: string | undefined): string | undefined {
  const text = value?.trim();
  if (text === undefined || text === "" || text.length > FIELD_MAX_CHARS.referenceUrl) return undefined;
  try {
    const url = new URL(text);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function remediationOf(description: z.infer<typeof JsonDescription>): Remediation | undefined {
  const howToFix = cut(description.how_to_fix ?? "", FIELD_MAX_CHARS.howToFix).trim();
  const references: Remediation["references"] = [];
  const resolution = referenceUrl(description.reference_resolution);
  if (resolution !== undefined) references.push({ label: "How to fix", url: resolution });
  const owasp = referenceUrl(description.reference_owasp);
  if (owasp !== undefined && owasp !== resolution) references.push({ label: "OWASP", url: owasp });
  if (howToFix === "" && references.length === 0) return undefined;
  return { ...(howToFix === "" ? {} : { howToFix }), references };
}

const FindingsBody = z.object({
  // One array per scanner key (ssl, xss, ...); a missing or null list means no findings.
  findings: z.record(z.string(), z.array(JsonFinding).nullable()),
  descriptions: z.array(JsonDescription),
});

// The API wraps the body in {message, data}; an empty report comes without the envelope (DefectDojo's
// crashtest_security test samples, github.com/DefectDojo/django-DefectDojo unittests/scans/crashtest_security).
const FindingsReport = z.union([
  z.object({ data: FindingsBody }).transform((report) => report.data),
  FindingsBody,
]);

/**
 * Summarises a JSON findings report. A finding carries no severity: it is joined to its description
 * by slug and graded by `baseScore`. A finding without a (scored) description counts as 'info' so
 * totals stay right without inventing risk, and a warning names the slug so the gap is noticed.
 */
export function summarizeFindingsJson(
  input: string | Uint8Array,
  options: SummaryOptions = {},
): FindingsSummary {
  let json: unknown;
  try {
    json = JSON.parse(textOf(input));
  } catch {
    throw unreadable("JSON findings", "invalid JSON");
  }
  const body = parseOutside(FindingsReport, json, (problem) => unreadable("JSON findings", problem));

  const descriptions = new Map<string, z.infer<typeof JsonDescription>>();
  const remediations = new Map<string, Remediation | undefined>();
  for (const description of body.descriptions) {
    if (descriptions.has(description.slug)) continue;
    descriptions.set(description.slug, description);
    remediations.set(description.slug, remediationOf(description));
  }
  const unscored = new Map<string, number>();
  const findings: Finding[] = [];
  for (const [category, list] of Object.entries(body.findings)) {
    for (const item of list ?? []) {
      const description = descriptions.get(item.finding_description_slug);
      const score = description?.baseScore;
      if (score === undefined) {
        unscored.set(item.finding_description_slug, (unscored.get(item.finding_description_slug) ?? 0) + 1);
      }
      const detail =
        item.information === undefined ? undefined : cut(item.information, FIELD_MAX_CHARS.detail);
      const location = detail === undefined ? undefined : locationFromText(detail);
      const remediation = remediations.get(item.finding_description_slug);
      findings.push({
        title: cut(description?.title ?? item.finding_description_slug, FIELD_MAX_CHARS.title),
        severity: score === undefined ? "info" : severityFromScore(score),
        category: cut(category, FIELD_MAX_CHARS.category),
        slug: cut(item.finding_description_slug, FIELD_MAX_CHARS.slug),
        ...(score === undefined ? {} : { score }),
        ...(detail === undefined ? {} : { detail }),
        ...(location === undefined ? {} : { location }),
        ...(remediation === undefined ? {} : { remediation }),
      });
    }
  }
  for (const [slug, count] of unscored) {
    options.logger?.warn("crashtest finding has no scored description; counted as info", { slug, count });
  }
  // Every category is listed, empty ones included: they are the checks that ran.
  const checks = Object.keys(body.findings)
    .slice(0, 100)
    .map((key) => cut(key, FIELD_MAX_CHARS.category));
  return { ...summarize(findings), checks };
}

// ---- JUnit XML report ----

const TestCase = z.looseObject({ name: z.string(), classname: z.string().optional() });
const Failure = z.looseObject({ type: z.string().optional(), message: z.string().optional() });

function isSeverity(value: string): value is Severity {
  return (SEVERITIES as readonly string[]).includes(value);
}

/**
 * Summarises a JUnit report: each `<failure>` of a `<testcase>` is one finding and its `type` is the
 * severity. `<error>` (a scanner error) and `<skipped>` are not findings and are ignored. An unknown
 * or missing type counts as 'info' with a warning, like an unscored JSON finding.
 */
export function summarizeJunit(input: string | Uint8Array, options: SummaryOptions = {}): FindingsSummary {
  let root: ReturnType<typeof parseXml>;
  try {
    root = parseXml(textOf(input));
  } catch (error) {
    if (error instanceof XmlError) throw unreadable("XML (JUnit)", error.message);
    throw error;
  }
  if (root.name !== "testsuites" && root.name !== "testsuite") {
    throw unreadable("XML (JUnit)", `root element is <${root.name}>, not <testsuites>`);
  }
  const unknownTypes = new Map<string, number>();
  const findings: Finding[] = [];
  let checks = 0;
  let errors = 0;
  for (const element of descendants(root, "testcase")) {
    const testcase = parseOutside(TestCase, element.attributes, () =>
      unreadable("XML (JUnit)", "a <testcase> has no name"),
    );
    checks += 1;
    if (element.children.some((child) => child.name === "error")) errors += 1;
    for (const child of element.children) {
      if (child.name !== "failure") continue;
      const failure = parseOutside(Failure, child.attributes, (problem) =>
        unreadable("XML (JUnit)", `a <failure> has odd attributes (${problem})`),
      );
      const type = cut(failure.type ?? "", 40)
        .trim()
        .toLowerCase();
      if (!isSeverity(type)) unknownTypes.set(type, (unknownTypes.get(type) ?? 0) + 1);
      const detail = cut(failure.message ?? child.text.trim(), FIELD_MAX_CHARS.detail);
      const classname = cut(testcase.classname ?? "", FIELD_MAX_CHARS.category);
      const category = classname.endsWith(".crashtest.cloud")
        ? classname.slice(0, -".crashtest.cloud".length)
        : classname;
      const location = detail === "" ? undefined : locationFromText(detail);
      findings.push({
        title: junitTitle(testcase.name),
        severity: isSeverity(type) ? type : "info",
        category,
        // The testcase names the check ("Command Injection (1)", the number counts occurrences) and
        // the classname its scanner: together the check's stable name.
        slug: cut(
          category === "" ? junitTitle(testcase.name) : `${category}/${junitTitle(testcase.name)}`,
          FIELD_MAX_CHARS.slug,
        ),
        ...(detail === "" ? {} : { detail }),
        ...(location === undefined ? {} : { location }),
      });
    }
  }
  for (const [type, count] of unknownTypes) {
    options.logger?.warn("junit failure type is not a severity; counted as info", {
      type: type.slice(0, 40),
      count,
    });
  }
  const summary = summarize(findings);
  return errors === 0 ? summary : { ...summary, scannerErrors: { count: errors, checks } };
}

/** Summary of a downloaded report, when its format carries findings (not PDF). */
export function summarizeReport(report: ReportFile, options: SummaryOptions = {}): FindingsSummary {
  if (report.format === "json") return summarizeFindingsJson(report.bytes, options);
  if (report.format === "xml") return summarizeJunit(report.bytes, options);
  throw new AppError(
    "unsupported",
    `A ${report.format} report cannot be summarised; use the JSON or XML report.`,
  );
}
