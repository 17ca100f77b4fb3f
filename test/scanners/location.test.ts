import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { summarizeFindingsJson, summarizeJunit } from "../../src/scanners/findings.js";
import { locationFromText } from "../../src/scanners/location.js";
import { sharedFile } from "../support/shared.js";

test("reads URL, parameter and method from each sentence pattern of the real reports", () => {
  assert.deepEqual(
    locationFromText(
      'Found command injection in parameter "ip" with method "post" for URL "https://dvwa.dev.crashtest.cloud/vulnerabilities/exec/", with payload "; echo x"',
    ),
    {
      url: "https://dvwa.dev.crashtest.cloud/vulnerabilities/exec/",
      path: "/vulnerabilities/exec/",
      parameter: "ip",
      method: "POST",
    },
  );
  assert.deepEqual(
    locationFromText(
      "Found boolean-based blind sqlinjection for parameter id (GET) on https://h.example/vulnerabilities/sqli/ with payload Submit=Submit&id=xyz' AND 1=1",
    ),
    {
      url: "https://h.example/vulnerabilities/sqli/",
      path: "/vulnerabilities/sqli/",
      parameter: "id",
      method: "GET",
    },
  );
  assert.deepEqual(
    locationFromText(
      "Found possible XSS vulnerability on site h.example/vulnerabilities/xss_s/. The parameter 'txtName' seems vulnerable for payload '<svg>'",
    ),
    { path: "/vulnerabilities/xss_s/", parameter: "txtName" },
  );
  assert.deepEqual(
    locationFromText(
      "Retrieved https://h.example/about.php by using a GET request on the URL without prior knowledge.",
    ),
    { url: "https://h.example/about.php", path: "/about.php", method: "GET" },
  );
  assert.deepEqual(locationFromText("The X-Frame-Options header is not set for URL https://h.example/."), {
    url: "https://h.example/",
    path: "/",
  });
  assert.deepEqual(
    locationFromText(
      "Found command injection in GET parameter 'BenchmarkTest00407' for URL 'https://vespiary.de:8443/benchmark/cmdi-00/BenchmarkTest00407', with payload 'x'",
    ),
    {
      url: "https://vespiary.de:8443/benchmark/cmdi-00/BenchmarkTest00407",
      path: "/benchmark/cmdi-00/BenchmarkTest00407",
      parameter: "BenchmarkTest00407",
      method: "GET",
    },
  );
  assert.equal(locationFromText("TLS 1.1 is offered by the server."), undefined);
});

test("never reads a location out of the attack payload", () => {
  assert.equal(
    locationFromText('Found XSS with payload "parameter \\"evil\\" method post https://evil.example/x"'),
    undefined,
  );
  const location = locationFromText(
    'Found XXE in parameter "xml" with payload "https://evil.example/ method put"',
  );
  assert.deepEqual(location, { parameter: "xml" });
});

test("pathological sentences stay bounded", () => {
  const long = `${"parameter ".repeat(5000)}${"https://".repeat(5000)}${"(GET".repeat(5000)}`;
  const location = locationFromText(long);
  assert.ok((location?.url?.length ?? 0) <= 1000);
});

test("every located finding of the real JSON report has a path; its slugs are the report's", (t) => {
  const file = sharedFile(t, "fixtures/crashtest/findings-full.json");
  if (!file) return;
  const text = readFileSync(file, "utf8");
  const raw = JSON.parse(text) as {
    data: { findings: Record<string, Array<{ finding_description_slug: string }>> };
  };
  const slugs = Object.values(raw.data.findings)
    .flat()
    .map((f) => f.finding_description_slug)
    .sort();
  const summary = summarizeFindingsJson(text);
  assert.deepEqual(summary.findings.map((f) => f.slug).sort(), slugs);

  const injection = summary.findings.find((f) => f.slug === "command-injection");
  assert.deepEqual(injection?.location, {
    url: "https://dvwa.dev.crashtest.cloud/vulnerabilities/exec/",
    path: "/vulnerabilities/exec/",
    parameter: "ip",
    method: "POST",
  });
  const fuzzer = summary.findings.filter((f) => f.slug === "fuzzer").map((f) => f.location?.path);
  assert.equal(fuzzer.length, 10);
  assert.ok(fuzzer.includes("/.git/") && fuzzer.includes("/phpinfo.php"));
  const xss = summary.findings.filter((f) => f.slug === "xss").map((f) => f.location?.parameter);
  assert.deepEqual(xss.sort(), ["data", "name", "text", "title", "txtName"]);
  // TLS findings name no place: their sentence tells them apart (fingerprint.ts).
  assert.equal(summary.findings.find((f) => f.slug === "ssl-sweet32")?.location, undefined);
});

test("the real JUnit fragments carry slug and location", (t) => {
  const file = sharedFile(t, "fixtures/crashtest/junit-fragments.xml");
  if (!file) return;
  const summary = summarizeJunit(readFileSync(file, "utf8"));
  const injection = summary.findings.find((f) => f.category === "commandinjection");
  assert.equal(injection?.slug, "commandinjection/Command Injection");
  assert.equal(injection?.location?.parameter, "BenchmarkTest00407");
  assert.equal(injection?.location?.method, "GET");
  assert.equal(injection?.location?.path, "/benchmark/cmdi-00/BenchmarkTest00407");
  const tls = summary.findings.find((f) => f.category === "ssl");
  assert.equal(tls?.slug, "ssl/Transport Layer Security (TLS/SSL)");
  assert.equal(tls?.location, undefined);
});
