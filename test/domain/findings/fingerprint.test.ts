import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  FINGERPRINT_HEX_CHARS,
  fingerprint,
  normalizedPlace,
} from "../../../src/domain/findings/fingerprint.js";
import type { Finding } from "../../../src/domain/ports.js";
import { summarizeFindingsJson } from "../../../src/scanners/findings.js";
import { sharedFile } from "../../support/shared.js";

const base: Finding = {
  title: "SQL Injection",
  severity: "critical",
  category: "sqlinjection",
  slug: "sql-injection",
  detail: "Found sqlinjection for parameter id (GET) on https://h.example/sqli/?id=1 with payload 1' OR 1=1",
  location: {
    url: "https://h.example/sqli/?id=1&Submit=Submit",
    path: "/sqli/",
    parameter: "id",
    method: "GET",
  },
};

test("a fingerprint is 20 hex characters and ignores query values, payload and severity", () => {
  const print = fingerprint("crashtest", base);
  assert.match(print, new RegExp(`^[0-9a-f]{${FINGERPRINT_HEX_CHARS}}$`));
  const again: Finding = {
    ...base,
    severity: "high",
    detail: "Found sqlinjection for parameter id (GET) on https://h.example/sqli/ with payload other",
    location: { url: "https://other-host.example/sqli?Submit=x&id=99", parameter: "id", method: "get" },
  };
  assert.equal(fingerprint("crashtest", again), print);
});

test("scanner type, check, path, query names, parameter and method each tell findings apart", () => {
  const print = fingerprint("crashtest", base);
  const variants: Finding[] = [
    { ...base, slug: "xss" },
    { ...base, location: { ...base.location, url: "https://h.example/other/?id=1&Submit=Submit" } },
    { ...base, location: { ...base.location, url: "https://h.example/sqli/?id=1" } },
    { ...base, location: { ...base.location, parameter: "name" } },
    { ...base, location: { ...base.location, method: "POST" } },
  ];
  for (const variant of variants) assert.notEqual(fingerprint("crashtest", variant), print);
  assert.notEqual(fingerprint("dast-essentials", base), print);
});

test("without a place, the scanner's sentence minus volatile tokens is the location", () => {
  const tls = (detail: string): Finding => ({
    title: "TLS",
    severity: "high",
    category: "ssl",
    slug: "ssl-protocol-version",
    detail,
  });
  assert.notEqual(
    fingerprint("crashtest", tls("TLS 1.0 is offered by the server.")),
    fingerprint("crashtest", tls("TLS 1.1 is offered by the server.")),
  );
  assert.equal(
    fingerprint("crashtest", tls("Session 0c8a2f3e-1b2c-4d5e-8f90-123456789abc   leaked")),
    fingerprint("crashtest", tls("session 7b2ce902-f15b-41d2-b306-74011d8d442e leaked")),
  );
});

test("normalized place: path without trailing slash, sorted query names", () => {
  assert.equal(normalizedPlace({ url: "https://h.example//a//b/?z=1&a=2&z=3" }), "/a/b?a&z");
  assert.equal(normalizedPlace({ path: "/xss_s/" }), "/xss_s");
  assert.equal(normalizedPlace(undefined), "");
});

test("the real report: fingerprints are stable across a re-read and tell its 53 findings apart", (t) => {
  const file = sharedFile(t, "fixtures/crashtest/findings-full.json");
  if (!file) return;
  const text = readFileSync(file, "utf8");
  const prints = summarizeFindingsJson(text).findings.map((f) => fingerprint("crashtest", f));
  assert.deepEqual(
    summarizeFindingsJson(text).findings.map((f) => fingerprint("crashtest", f)),
    prints,
  );
  assert.equal(new Set(prints).size, 53);
});
