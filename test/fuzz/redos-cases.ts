import { isPrivateHost } from "../../src/domain/addresses.js";
import { parseInput, projectName, targetUrl } from "../../src/domain/inputs.js";
import type { Finding } from "../../src/domain/ports.js";
import { parseSubscribeArgs } from "../../src/domain/subscriptions/arguments.js";
import { TargetGuard } from "../../src/domain/targets.js";
import { cleanServerText } from "../../src/http/errors.js";
import { type HttpResponse, HttpTransport } from "../../src/http/transport.js";
import {
  type CrashtestContext,
  crashtestFailure,
  readStartResponse,
  readStatusResponse,
  scanStateOf,
} from "../../src/scanners/crashtest/responses.js";
import { dastFailure } from "../../src/scanners/dast-essentials/problems.js";
import {
  buildTargetRequest,
  checkTeamId,
  idFromLocation,
  parseScanType,
  parseTargetType,
  splitTargetUrl,
} from "../../src/scanners/dast-essentials/targets.js";
import { summarizeFindingsJson, summarizeJunit } from "../../src/scanners/findings.js";
import { parseXml } from "../../src/scanners/xml.js";
import { scanCard } from "../../src/slack/blocks/cards.js";
import { escapeText, truncate } from "../../src/slack/blocks/common.js";
import { findingsSummaryMessage, reportText } from "../../src/slack/blocks/findings.js";
import { renderParts } from "../../src/slack/errors.js";
import { parseCredentialsFile, VeracodeAccount } from "../../src/veracode/credentials.js";
import { parseExpirationTs } from "../../src/veracode/identity.js";
import {
  parseVeracodeKeyId,
  parseVeracodeSecret,
  splitRequestUrl,
  stripVeracodePrefix,
  veracodeRegion,
} from "../../src/veracode/signer.js";
import { FakeResolver } from "../support/dns.js";
import { captureLogger } from "../support/logs.js";
import { fakeKeyPair } from "../veracode/fake-veracode.js";

/**
 * Pathological 1 MB strings for every parser of outside data: runs that make a backtracking regex
 * retry from each position (spaces before a non-match, `/` or `?` before a newline, digits, parens),
 * markup that looks nested or never closes, repeated separators and entity starts.
 */
const MB = 1 << 20;
const fill = (unit: string) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);

export const INPUTS: Record<string, string> = {
  spaces: fill(" "),
  "spaces then x": `${fill(" ")}x`,
  "whitespace mix then x": `${fill("\t\n\r ")}x`,
  "slashes then x": `${fill("/")}x`,
  "query marks then a newline": `${fill("?")}\nx`,
  parens: fill("("),
  "paren digits": fill("(1"),
  "count suffixes then x": `${fill(" (1)")} x`,
  "digits then x": `${fill("1")}x`,
  "open tags": fill("<a>"),
  "open tag attributes": fill("<a "),
  "CDATA starts": fill("<![CDATA["),
  "comment starts": fill("<!--"),
  ampersands: fill("&"),
  "entity starts": fill("&a"),
  "numeric references": fill("&#1"),
  separators: fill(",;:=|"),
  "dotted labels": fill("a."),
  "square brackets": fill("["),
  quotes: fill("\"'"),
  "dashes and underscores": fill("-_"),
  "slack link starts": fill("<a|"),
  "escaped mentions": fill("&lt;@U"),
  emoji: fill("\u{1F600}"),
  "invisible characters": fill("\u200b\u0000"),
  "letters then bang": `${fill("a")}!`,
};

const xmlText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
const xmlAttr = (s: string) => xmlText(s).replace(/"/g, "&quot;");
const junit = (testcase: string) => `<testsuites><testsuite name="x">${testcase}</testsuite></testsuites>`;

const transport = new HttpTransport({
  baseUrl: "http://127.0.0.1:9",
  secrets: ["a-secret-value"],
  logger: captureLogger([], "error").logger,
  service: "Crashtest",
  logName: "crashtest",
});
const context: CrashtestContext = {
  operation: "startScan",
  subject: "project 1",
  credentialHint: "check the key",
  retry: "idempotent",
};
const dastContext = {
  operation: "createTarget",
  subject: "target x",
  retry: "idempotent" as const,
  account: new VeracodeAccount({ name: "dast", ...fakeKeyPair() }),
  targetName: "x",
};
const json = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers,
  bytes: new TextEncoder().encode(JSON.stringify(body)),
});
const guard = new TargetGuard({ resolver: new FakeResolver(), allowPrivate: false });

/** A parser whose input is built from the string outside the timed part (escaping a test document is not its work). */
interface Prepared {
  build: (s: string) => string;
  run: (input: string) => unknown;
}
export type ParserCase = ((s: string) => unknown) | Prepared;

/** Runs a parser on an input; what it returns or throws does not matter here, only how long it takes. */
export const PARSERS: Record<string, ParserCase> = {
  "subscribe: the string as every option": (s) => {
    for (const key of ["", "severity>=", "events=", "digest=", "tz=", "quiet=", "urgent="]) {
      try {
        parseSubscribeArgs(key === "" ? [s] : ["web-shop", `${key}${s}`]);
      } catch {}
    }
  },
  "subscribe: the string split like a command": (s) => parseSubscribeArgs(s.split(" ")),
  "JUnit: testcase name": {
    build: (s) => junit(`<testcase name="${xmlAttr(s)}" classname="c"><failure type="high"/></testcase>`),
    run: summarizeJunit,
  },
  "JUnit: testcase classname": {
    build: (s) => junit(`<testcase name="n" classname="${xmlAttr(s)}"><failure type="high"/></testcase>`),
    run: summarizeJunit,
  },
  "JUnit: failure type": {
    build: (s) => junit(`<testcase name="n"><failure type="${xmlAttr(s)}"/></testcase>`),
    run: summarizeJunit,
  },
  "JUnit: failure message": {
    build: (s) => junit(`<testcase name="n"><failure type="high" message="${xmlAttr(s)}"/></testcase>`),
    run: summarizeJunit,
  },
  "JUnit: failure text": {
    build: (s) => junit(`<testcase name="n"><failure>${xmlText(s)}</failure></testcase>`),
    run: summarizeJunit,
  },
  "JUnit: the string as the document": (s) => summarizeJunit(s),
  "XML reader: attribute and text": { build: (s) => `<a b="${xmlAttr(s)}">${xmlText(s)}</a>`, run: parseXml },
  "JSON findings: every field": {
    build: (s) =>
      JSON.stringify({
        findings: { [s]: [{ finding_description_slug: s, information: s }] },
        descriptions: [{ slug: s, title: s, baseScore: s }],
      }),
    run: summarizeFindingsJson,
  },
  "JSON findings: the string as the document": (s) => summarizeFindingsJson(s),
  "target URL": (s) => {
    for (const value of [
      s,
      `https://${s}`,
      `<${s}`,
      `<https://a.example|${s}>`,
      `${s}.example.com`,
      `https://x.example/${s}`,
    ]) {
      try {
        parseInput(targetUrl(false), value, "target URL", "usage");
      } catch {
        // refused: fine
      }
    }
  },
  "project name": (s) => projectName.safeParse(s),
  "private host": (s) => [isPrivateHost(s), isPrivateHost(`[${s}]`), isPrivateHost(`${s}.internal`)],
  "target check (DNS)": (s) =>
    Promise.allSettled([
      guard.check(`https://${s}`),
      guard.checkProject({ url: "https://x.example.com/", options: { api_spec_url: s, description: s } }),
    ]),
  "Crashtest responses": (s) => {
    for (const run of [
      () => readStartResponse(transport, json(409, { message: s, data: { scan_id: s } }), context),
      () =>
        readStatusResponse(
          transport,
          json(200, { data: { status: { status_code: 103, status_description: s } } }),
          context,
          "1",
        ),
      () => crashtestFailure(transport, json(500, { message: s }), context),
      () => scanStateOf(999, s),
    ]) {
      try {
        run();
      } catch {
        // refused: fine
      }
    }
  },
  "HTTP error texts": (s) => cleanServerText(s, (text) => transport.scrub(text)),
  "DAST Essentials problem details": (s) =>
    dastFailure(transport, json(400, { title: s, detail: s, errors: [{ code: s, detail: s }] }), dastContext),
  "DAST Essentials location header": (s) => idFromLocation({ headers: { location: s } }),
  "DAST Essentials target request": (s) => {
    for (const run of [
      () => parseTargetType(s),
      () => parseScanType(s),
      () => checkTeamId(s),
      () => splitTargetUrl(`https://x.example/${s}`),
      () =>
        buildTargetRequest(
          { name: "shop", url: "https://x.example/", options: { description: s } },
          { targetType: "WEB_APP", scanType: "QUICK" },
        ),
    ]) {
      try {
        run();
      } catch {
        // refused: fine
      }
    }
  },
  "Veracode credentials file": (s) => {
    for (const text of [s, `[${s}]`, `[default]\nveracode_api_key_id = ${s}\n`, `[default]\n${s}`]) {
      try {
        parseCredentialsFile(text);
      } catch {
        // refused: fine
      }
    }
  },
  "Veracode identity timestamps": (s) => {
    for (const value of [s, `2026-01-01T00:00:00.${s}`, `2026-01-01T00:00:00${s}`]) {
      try {
        parseExpirationTs(value);
      } catch {
        // refused: fine
      }
    }
  },
  "Veracode signer inputs": (s) => {
    for (const run of [
      () => splitRequestUrl(`https://${s}`),
      () => splitRequestUrl(`https://api.veracode.com/${s}`),
      () => parseVeracodeKeyId(s),
      () => parseVeracodeSecret(s),
      () => veracodeRegion(s),
      () => stripVeracodePrefix(s),
    ]) {
      try {
        run();
      } catch {
        // refused: fine
      }
    }
  },
  "Slack text builders": (s) => [
    reportText(s, 280),
    escapeText(s).length,
    truncate(s, 3000),
    renderParts([s]).length,
  ],
  "Slack findings summary and scan card": (s) => {
    const finding: Finding = { title: s, severity: "high", category: s, detail: s };
    findingsSummaryMessage(
      { scanId: "1", projectName: s },
      {
        counts: { critical: 0, high: 10, medium: 0, low: 0, info: 0 },
        total: 10,
        findings: Array(10).fill(finding),
      },
    );
    scanCard({
      scanId: "1",
      projectId: "1",
      projectName: s,
      targetUrl: s,
      backend: "crashtest",
      requestedBy: "U1",
      channel: "C1",
      state: "running",
      rawCode: s,
      startedAt: 0,
      updatedAt: 0,
    });
  },
};
