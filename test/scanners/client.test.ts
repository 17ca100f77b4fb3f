import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { readReport } from "../../src/domain/reports.js";
import { parseRouteOverrides } from "../../src/scanners/crashtest/routes.js";
import { createCrashtestScanner } from "../../src/scanners/crashtest/scanner.js";
import { summarizeReport } from "../../src/scanners/findings.js";
import { SIMULATED_COUNTS } from "../../src/scanners/simulator/reports.js";
import { captureLogger } from "../support/logs.js";
import { errorText, harness, rejectsWith } from "./harness.js";

const spec = { name: "shop", url: "https://shop.example.test" };

test("runs a project through create, scan, status, reports and delete", async (t) => {
  const { sim, scanner } = await harness(t, { simulator: { timing: { queueSeconds: 5, runSeconds: 30 } } });
  assert.deepEqual(scanner.reportFormats, ["json", "pdf", "xml"]);

  const project = await scanner.createProject(spec);
  assert.deepEqual(project, { id: "101", ...spec });
  const started = await scanner.startScan(project.id);
  assert.deepEqual(started, { scanId: "390", alreadyRunning: false });
  const ref = { projectId: project.id, scanId: started.scanId };

  assert.deepEqual(await scanner.getScanStatus(ref), {
    scanId: "390",
    state: "queued",
    rawCode: "100",
    rawText: "Queued",
  });
  sim.clock.advance(5_000);
  assert.equal((await scanner.getScanStatus(ref)).state, "running");
  await rejectsWith(scanner.getReport(ref, "json"), "conflict");
  sim.clock.advance(30_000);
  assert.deepEqual(await scanner.getScanStatus(ref), {
    scanId: "390",
    state: "finished",
    rawCode: "102",
    rawText: "Finished",
  });

  const json = await scanner.getReport(ref, "json");
  assert.equal(json.contentType, "application/json");
  assert.equal(json.fileName, "crashtest-scan-390.json");
  assert.deepEqual(summarizeReport(await readReport(json)).counts, SIMULATED_COUNTS);
  const junit = await scanner.getReport(ref, "xml");
  assert.equal(junit.fileName, "crashtest-scan-390.xml");
  assert.match(junit.contentType, /xml/);
  assert.deepEqual(summarizeReport(await readReport(junit)).counts, SIMULATED_COUNTS);
  const pdf = await scanner.getReport(ref, "pdf");
  assert.equal(pdf.contentType, "application/pdf");
  const pdfBytes = (await readReport(pdf)).bytes;
  assert.equal(Buffer.from(pdfBytes.subarray(0, 8)).toString("latin1"), "%PDF-1.4");
  await rejectsWith(scanner.getReport(ref, "csv"), "unsupported");

  await scanner.deleteProject(project.id);
  await rejectsWith(scanner.startScan(project.id), "not_found");

  const paths = sim.requests.map((r) => `${r.method} ${r.path}`);
  assert.ok(paths.includes("POST /teams/1/projects"));
  assert.ok(
    paths.includes("GET /teams/1/projects/101/scans/390/report/xml"),
    "junit is the API's xml report",
  );
  assert.ok(paths.includes("DELETE /teams/1/projects/101"));
});

test("getProject reads a project the scanner has; an unknown one is not_found", async (t) => {
  const { sim, scanner } = await harness(t);
  const project = await scanner.createProject(spec);
  assert.deepEqual(await scanner.getProject(project.id), { id: project.id, ...spec });
  await rejectsWith(scanner.getProject("999999"), "not_found");
  assert.ok(sim.requests.some((r) => `${r.method} ${r.path}` === `GET /teams/1/projects/${project.id}`));
});

test("sends the key in the API_KEY header only, and Content-Length: 0 on body-less POSTs", async (t) => {
  const { sim, scanner } = await harness(t);
  const project = await scanner.createProject(spec);
  await scanner.startScan(project.id);

  for (const request of sim.requests) {
    assert.equal(request.headers.api_key, "[REDACTED]", "the simulator saw the key header");
    assert.ok(!request.path.includes(sim.apiKey) && !request.path.includes("?"), request.path);
  }
  const create = sim.requests.find((r) => r.operation === "createProject");
  assert.equal(create?.headers["content-type"], "application/json");
  assert.deepEqual(JSON.parse(create?.body ?? ""), spec);
  const start = sim.requests.find((r) => r.operation === "startScan");
  assert.equal(start?.headers["content-length"], "0");
  assert.equal(start?.body, "");
});

test("a start while a scan runs returns the running scan's ID; stop and failure end scans", async (t) => {
  const { sim, scanner } = await harness(t);
  const project = await scanner.createProject(spec);
  const first = await scanner.startScan(project.id);
  assert.deepEqual(await scanner.startScan(project.id), { scanId: first.scanId, alreadyRunning: true });

  const ref = { projectId: project.id, scanId: first.scanId };
  await scanner.stopScan(ref);
  const stopped = await scanner.getScanStatus(ref);
  assert.deepEqual([stopped.state, stopped.rawCode], ["stopped", "103"]);
  const again = await rejectsWith(scanner.stopScan(ref), "conflict");
  assert.match(again.userMessage, /not running/);

  const second = await scanner.startScan(project.id);
  assert.equal(second.alreadyRunning, false);
  sim.failScan(second.scanId);
  const failed = await scanner.getScanStatus({ projectId: project.id, scanId: second.scanId });
  assert.deepEqual([failed.state, failed.rawCode, failed.rawText], ["failed", "104", "Error Occurred"]);
});

test("maps refusals to typed errors: auth, not_found, conflict, validation", async (t) => {
  const { scanner } = await harness(t);
  await rejectsWith(scanner.getScanStatus({ projectId: "999", scanId: "1" }), "not_found");
  await scanner.createProject(spec);
  await rejectsWith(scanner.createProject(spec), "conflict");
  const invalid = await rejectsWith(scanner.createProject({ name: "x", url: "not a url" }), "validation");
  assert.match(invalid.userMessage, /The given data was invalid/);
});

test("rejects IDs that could change the path before sending anything", async (t) => {
  const { sim, scanner } = await harness(t);
  await rejectsWith(scanner.startScan("../../admin"), "validation");
  await rejectsWith(scanner.getScanStatus({ projectId: "101", scanId: "1/../2" }), "validation");
  assert.equal(sim.requests.length, 0);
});

test("a 401 is not retried and points at CRASHTEST_API_KEY without quoting it", async (t) => {
  const wrongKey = "ct-wrong-key-0123456789abcdef";
  const { sim, scanner, log, delays } = await harness(t, { scanner: { apiKey: wrongKey } });
  sim.addProject({ name: "shop", url: spec.url });
  const error = await rejectsWith(scanner.startScan("101"), "auth");
  assert.match(error.userMessage, /check CRASHTEST_API_KEY/);
  assert.equal(sim.requests.length, 1);
  assert.deepEqual(delays, []);
  assert.ok(!errorText(error).includes(wrongKey));
  assert.ok(!log.text().includes(wrongKey));
});

test("retries transient failures of idempotent calls with exponential backoff and jitter", async (t) => {
  const { sim, scanner, log, delays } = await harness(t);
  const project = await scanner.createProject(spec);
  const { scanId } = await scanner.startScan(project.id);
  sim.requests.length = 0;
  sim.faults.inject("scanStatus", { kind: "status", status: 503 }, 3);
  sim.faults.inject("scanStatus", { kind: "reset" }, 1);
  sim.faults.inject("scanStatus", { kind: "status", status: 500 }, 1);

  assert.equal((await scanner.getScanStatus({ projectId: project.id, scanId })).state, "queued");
  assert.equal(sim.requests.length, 6, "five retries after the first attempt");
  // random() = 0.5 gives three quarters of each doubling step (500 ms base).
  assert.deepEqual(delays, [375, 750, 1500, 3000, 6000]);
  assert.equal(log.records().filter((r) => r.msg === "crashtest request failed; retrying").length, 5);
});

test("the sixth transient failure surfaces as an unavailable error", async (t) => {
  const { sim, scanner, delays } = await harness(t);
  const project = await scanner.createProject(spec);
  const { scanId } = await scanner.startScan(project.id);
  sim.requests.length = 0;
  sim.faults.inject("scanStatus", { kind: "status", status: 502 }, 6);

  const error = await rejectsWith(scanner.getScanStatus({ projectId: project.id, scanId }), "unavailable");
  assert.equal(error.retryable, true);
  assert.equal(sim.requests.length, 6);
  assert.equal(delays.length, 5);
});

test("network errors are retried too, and unreachable hosts surface after five retries", async (t) => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));

  const delays: number[] = [];
  const log = captureLogger();
  const apiKey = "ct-unreachable-key-abcdef0123";
  const scanner = createCrashtestScanner({
    logger: log.logger,
    baseUrl: `http://127.0.0.1:${port}`,
    apiKey,
    teamId: "1",
    retry: { sleep: async (ms) => void delays.push(ms), random: () => 0 },
  });
  t.after(() => scanner.close());
  const error = await rejectsWith(scanner.getScanStatus({ projectId: "1", scanId: "2" }), "unavailable");
  assert.match(error.userMessage, /cannot be reached/);
  assert.deepEqual(delays, [250, 500, 1000, 2000, 4000]);
  assert.ok(!log.text().includes(apiKey) && !errorText(error).includes(apiKey));
});

test("a hanging server times out and the call is retried", async (t) => {
  const { sim, scanner } = await harness(t);
  const project = await scanner.createProject(spec);
  const { scanId } = await scanner.startScan(project.id);
  sim.requests.length = 0;
  sim.faults.inject("scanStatus", { kind: "hang" }, 1);
  assert.equal((await scanner.getScanStatus({ projectId: project.id, scanId })).state, "queued");
  assert.equal(sim.requests.length, 2);
});

test("start-scan POSTs are not retried once sent, since a retry could start a second scan", async (t) => {
  const { sim, scanner, delays } = await harness(t);
  const project = await scanner.createProject(spec);
  sim.requests.length = 0;

  for (const fault of [{ kind: "status", status: 503 }, { kind: "reset" }, { kind: "hang" }] as const) {
    sim.faults.inject("startScan", fault, 1);
    const error = await rejectsWith(scanner.startScan(project.id), "unavailable");
    assert.match(error.userMessage, /may still have been carried out/, fault.kind);
  }
  assert.equal(sim.requests.length, 3, "one request per attempt");
  assert.deepEqual(delays, []);

  // A 429 is an explicit refusal: the scan was not started, so waiting and retrying is safe.
  sim.faults.inject("startScan", { kind: "rateLimit", retryAfter: "1" }, 1);
  assert.equal((await scanner.startScan(project.id)).alreadyRunning, false);
  assert.deepEqual(delays, [1000]);
});

test("honours Retry-After in seconds and as an HTTP date", async (t) => {
  const { sim, scanner, delays } = await harness(t);
  const project = await scanner.createProject(spec);
  const { scanId } = await scanner.startScan(project.id);
  const ref = { projectId: project.id, scanId };

  sim.faults.inject("scanStatus", { kind: "rateLimit", retryAfter: "7" }, 1);
  await scanner.getScanStatus(ref);
  assert.deepEqual(delays, [7000]);

  sim.faults.inject(
    "scanStatus",
    { kind: "rateLimit", retryAfter: new Date(Date.now() + 20_000).toUTCString() },
    1,
  );
  await scanner.getScanStatus(ref);
  const fromDate = delays[1] ?? 0;
  assert.ok(fromDate > 15_000 && fromDate <= 20_000, String(fromDate));
});

test("a Retry-After beyond the in-process limit surfaces as rate_limited with the wait", async (t) => {
  const { sim, scanner, delays } = await harness(t);
  const project = await scanner.createProject(spec);
  const { scanId } = await scanner.startScan(project.id);
  sim.requests.length = 0;
  sim.faults.inject("scanStatus", { kind: "rateLimit", retryAfter: "3600" }, 1);

  const error = await rejectsWith(scanner.getScanStatus({ projectId: project.id, scanId }), "rate_limited");
  assert.equal(error.retryAfterMs, 3_600_000);
  assert.equal(error.retryable, true);
  assert.match(error.userMessage, /3600 s/);
  assert.equal(sim.requests.length, 1);
  assert.deepEqual(delays, []);
});

test("six 429s in a row surface as rate_limited", async (t) => {
  const { sim, scanner } = await harness(t);
  const project = await scanner.createProject(spec);
  const { scanId } = await scanner.startScan(project.id);
  sim.requests.length = 0;
  sim.faults.inject("scanStatus", { kind: "rateLimit", retryAfter: "2" }, 6);
  const error = await rejectsWith(scanner.getScanStatus({ projectId: project.id, scanId }), "rate_limited");
  assert.equal(error.retryAfterMs, 2000);
  assert.equal(sim.requests.length, 6);
});

test("a malformed body is reported as unreadable, retryable later (not within the call), and not quoted", async (t) => {
  const { sim, scanner, log } = await harness(t);
  const project = await scanner.createProject(spec);
  const { scanId } = await scanner.startScan(project.id);
  sim.requests.length = 0;
  sim.faults.inject("scanStatus", { kind: "malformed" }, 1);
  const error = await rejectsWith(scanner.getScanStatus({ projectId: project.id, scanId }), "unavailable");
  assert.match(error.userMessage, /could not read/);
  // The watcher retries it on a later poll, up to its failure limit.
  assert.equal(error.retryable, true);
  assert.equal(sim.requests.length, 1);
  assert.ok(!errorText(error).includes("scan_status_retrieved"));
  assert.ok(!log.text().includes("scan_status_retrieved"));
});

test("route overrides change the paths the client requests", async (t) => {
  const routes = parseRouteOverrides(
    JSON.stringify({
      startScan: "POST /v2/teams/{teamId}/targets/{projectId}/scan-runs",
      scanStatus: "GET /v2/scan-runs/{scanId}?target={projectId}",
    }),
  );
  const { sim, scanner } = await harness(t, { simulator: { routes }, scanner: { routes } });
  const project = await scanner.createProject(spec);
  const { scanId } = await scanner.startScan(project.id);
  assert.equal((await scanner.getScanStatus({ projectId: project.id, scanId })).state, "queued");
  const paths = sim.requests.map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(paths, [
    "POST /teams/1/projects",
    "POST /v2/teams/1/targets/101/scan-runs",
    `GET /v2/scan-runs/${scanId}?target=101`,
  ]);
});

test("a client override the server does not serve is a 404, proving the path moved", async (t) => {
  const routes = parseRouteOverrides('{"startScan":"POST /teams/{teamId}/projects/{projectId}/launch"}');
  const { sim, scanner } = await harness(t, { scanner: { routes } });
  const project = await scanner.createProject(spec);
  await rejectsWith(scanner.startScan(project.id), "not_found");
  assert.equal(sim.requests.at(-1)?.path, "/teams/1/projects/101/launch");
});

test("keeps a base URL path prefix", async (t) => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? "");
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"message":"scan_status_retrieved","data":{"status":{"status_code":"101"}}}');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const scanner = createCrashtestScanner({
    logger: captureLogger().logger,
    baseUrl: `http://127.0.0.1:${port}/crashtest/`,
    apiKey: "ct-key-for-prefix-test",
    teamId: "7",
  });
  t.after(() => scanner.close());
  const status = await scanner.getScanStatus({ projectId: "5", scanId: "6" });
  assert.deepEqual(status, { scanId: "6", state: "running", rawCode: "101" });
  assert.deepEqual(seen, ["/crashtest/teams/7/projects/5/scans/6/status"]);
});

test("the API key appears in no log line and no error across successes and failures", async (t) => {
  const { sim, scanner, log } = await harness(t);
  const errors: unknown[] = [];
  const project = await scanner.createProject(spec);
  const { scanId } = await scanner.startScan(project.id);
  const ref = { projectId: project.id, scanId };
  for (const fault of [
    { kind: "status", status: 500 },
    { kind: "reset" },
    { kind: "malformed" },
    { kind: "rateLimit", retryAfter: "600" },
  ] as const) {
    sim.faults.inject("scanStatus", fault, 6);
    await scanner.getScanStatus(ref).catch((error: unknown) => errors.push(error));
    sim.faults.clear();
  }
  sim.faults.inject("scanStatus", { kind: "hang" }, 1);
  await scanner.getScanStatus(ref);
  await scanner.startScan("4242").catch((error: unknown) => errors.push(error));
  assert.equal(errors.length, 5);
  for (const error of errors) assert.ok(!errorText(error).includes(sim.apiKey), errorText(error));
  assert.ok(log.lines.length > 10);
  assert.ok(!log.text().includes(sim.apiKey));
});

test("refuses a configuration without credentials or without a team", () => {
  const { logger } = captureLogger();
  assert.throws(() => createCrashtestScanner({ logger }), /CRASHTEST_API_KEY/);
  assert.throws(() => createCrashtestScanner({ logger, apiKey: "ct-key-0123456789" }), /CRASHTEST_TEAM_ID/);
  assert.throws(
    () => createCrashtestScanner({ logger, apiKey: "ct-key-0123456789", teamId: "1/../2" }),
    /CRASHTEST_TEAM_ID/,
  );
});

test("a report over REPORT_MAX_BYTES is refused with where to download it, and the cap can be raised", async (t) => {
  const { sim, scanner } = await harness(t, {
    simulator: { timing: { queueSeconds: 0, runSeconds: 1 } },
    scanner: { maxReportBytes: 1024, uiUrl: "https://crashtest.cloud" },
  });
  const project = await scanner.createProject(spec);
  const { scanId } = await scanner.startScan(project.id);
  sim.clock.advance(5_000);
  const ref = { projectId: project.id, scanId };
  const error = await rejectsWith(scanner.getReport(ref, "pdf"), "unsupported");
  assert.match(error.userMessage, /REPORT_MAX_BYTES, 1 MB/);
  assert.match(error.userMessage, /Download it from Crashtest: https:\/\/crashtest\.cloud\/projects\/101/);
  assert.equal(error.retryable, false);

  const roomy = createCrashtestScanner({
    logger: captureLogger().logger,
    baseUrl: sim.url,
    apiKey: sim.apiKey,
    teamId: sim.teamId,
  });
  t.after(() => roomy.close());
  const pdf = await roomy.getReport(ref, "pdf");
  assert.ok(pdf.size !== undefined && pdf.size > 1024, "the server announced the size");
  assert.equal((await readReport(pdf)).bytes.byteLength, pdf.size);
});
