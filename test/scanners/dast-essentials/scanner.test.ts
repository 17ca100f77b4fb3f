import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { AppError } from "../../../src/domain/errors.js";
import { readReport } from "../../../src/domain/reports.js";
import {
  createDastEssentialsScanner,
  type DastEssentialsScannerOptions,
} from "../../../src/scanners/dast-essentials/scanner.js";
import { dastApiUrl, selectDastAccount } from "../../../src/scanners/dast-essentials/settings.js";
import {
  buildTargetRequest,
  checkTeamId,
  DEFAULT_TARGET_DEFAULTS,
  parseScanType,
  parseTargetType,
  splitTargetUrl,
} from "../../../src/scanners/dast-essentials/targets.js";
import { summarizeReport } from "../../../src/scanners/findings.js";
import { SIMULATED_COUNTS } from "../../../src/scanners/simulator/reports.js";
import { VeracodeAccount } from "../../../src/veracode/index.js";
import { fakeKeyPair, rawCaptureLogger } from "../../veracode/fake-veracode.js";
import { errorText, rejectsWith } from "../harness.js";
import { FakeTcs, problem } from "./fake-tcs.js";

const spec = { name: "shop", url: "https://shop.example.test" };

async function setup(t: TestContext, scanner: Partial<DastEssentialsScannerOptions> = {}) {
  const keys = fakeKeyPair();
  const fake = await FakeTcs.start({ [keys.apiId]: keys.secretHex });
  const account = new VeracodeAccount({
    name: "dast",
    apiKeyId: keys.apiKeyId,
    apiKeySecret: keys.apiKeySecret,
    baseUrl: fake.url,
  });
  const delays: number[] = [];
  const log = rawCaptureLogger();
  const adapter = createDastEssentialsScanner({
    logger: log.logger,
    account,
    timeouts: { headersMs: 2_000 },
    retry: {
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 0.5,
    },
    ...scanner,
  });
  t.after(async () => {
    await adapter.close();
    await fake.close();
  });
  return { fake, scanner: adapter, log, delays, keys, account };
}

function secretsAbsent(text: string, keys: { apiId: string; secretHex: string }): void {
  assert.ok(!text.includes(keys.secretHex), "the secret leaked");
  assert.ok(!text.includes(keys.apiId), "the key ID leaked");
}

test("create → start → running → finished → reports → delete, every request signed and verified", async (t) => {
  const { fake, scanner, keys, log } = await setup(t);
  assert.equal(scanner.name, "dast-essentials");
  assert.deepEqual(scanner.reportFormats, ["pdf", "csv", "xml"]);
  assert.equal(scanner.baseUrl, `${fake.url}/dae/api/tcs-api/api/v1`);

  const project = await scanner.createProject(spec);
  const target = fake.targets.get(project.id);
  assert.ok(target, "the target exists at the fake");
  assert.deepEqual(project, { id: target.target_id, name: "shop", url: spec.url });
  const created = JSON.parse(fake.requests[0]?.body ?? "{}");
  assert.deepEqual(created, {
    name: "shop",
    protocol: "HTTPS",
    url: "shop.example.test",
    target_type: "WEB_APP",
    scan_type: "QUICK",
    is_sec_lead_only: true,
    teams: null,
    authorized_to_scan: true,
    description: DEFAULT_TARGET_DEFAULTS.description,
  });
  assert.equal(fake.requests[0]?.headers["content-type"], "application/json");

  const started = await scanner.startScan(project.id);
  assert.equal(started.alreadyRunning, false);
  const run = fake.runs.get(started.scanId);
  assert.ok(run);
  assert.deepEqual(JSON.parse(fake.requests[1]?.body ?? "{}"), { id: project.id });
  const ref = { projectId: project.id, scanId: started.scanId };

  assert.deepEqual(await scanner.getScanStatus(ref), {
    scanId: started.scanId,
    state: "running",
    rawCode: "RUNNING",
    rawText: "Running (analysis #1)",
  });
  const early = await rejectsWith(scanner.getReport(ref, "xml"), "unavailable");
  assert.equal(early.retryable, true, "report-not-ready is retryable so the watcher retries");

  fake.setStatus(started.scanId, "FINISHED");
  const finished = await scanner.getScanStatus(ref);
  assert.deepEqual([finished.state, finished.rawCode], ["finished", "FINISHED"]);

  const junit = await scanner.getReport(ref, "xml");
  assert.equal(junit.format, "xml");
  assert.equal(junit.contentType, "application/xml");
  assert.equal(junit.fileName, `veracode-dast-${started.scanId}.xml`);
  assert.deepEqual(summarizeReport(await readReport(junit)).counts, SIMULATED_COUNTS);
  const xml = await scanner.getReport(ref, "xml");
  assert.equal(xml.format, "xml", "xml is the JUnit report");
  await xml.body.cancel();
  const pdf = await scanner.getReport(ref, "pdf");
  assert.equal(pdf.contentType, "application/pdf");
  assert.equal(Buffer.from((await readReport(pdf)).bytes.subarray(0, 5)).toString("latin1"), "%PDF-");
  const csv = await scanner.getReport(ref, "csv");
  assert.match(csv.contentType, /^text\/csv/);
  assert.equal(csv.fileName, `veracode-dast-${started.scanId}.csv`);
  const json = await rejectsWith(scanner.getReport(ref, "json"), "unsupported");
  assert.match(json.userMessage, /no json report; use one of: pdf, csv, xml/);

  await scanner.deleteProject(project.id);
  assert.equal(fake.targets.size, 0);
  await rejectsWith(scanner.startScan(project.id), "not_found");

  assert.deepEqual(fake.rejections, [], "the fake verified every HMAC header");
  const nonces = fake.requests.map((request) => request.nonce);
  assert.equal(new Set(nonces).size, nonces.length, "a fresh nonce per request");
  for (const request of fake.requests) {
    assert.match(String(request.headers.authorization), /^VERACODE-HMAC-SHA-256 id=/);
    assert.equal(request.headers["user-agent"], "crashtest-chatops");
  }
  assert.ok(fake.calls.includes(`GET /targets/${project.id}/analysis_runs/${started.scanId}/report/junit`));
  assert.ok(fake.calls.includes(`DELETE /targets/${project.id}`));
  secretsAbsent(log.text(), keys);
});

test("getProject reads the target by ID; an unknown one is not_found", async (t) => {
  const { scanner } = await setup(t);
  const project = await scanner.createProject(spec);
  const read = await scanner.getProject(project.id);
  assert.equal(read.id, project.id);
  assert.equal(read.name, "shop");
  await rejectsWith(scanner.getProject("no-such-target"), "not_found");
});

test("target options: type, scan type, team, API spec URL and description", async (t) => {
  const { fake, scanner } = await setup(t, { targetDefaults: { teamId: "team-7", scanType: "FULL" } });
  const api = await scanner.createProject({
    name: "orders api",
    url: "http://api.example.test:8080/v2/",
    options: {
      target_type: "api",
      api_spec_url: "https://api.example.test/openapi.json",
      description: "Orders",
    },
  });
  const body = JSON.parse(fake.requests[0]?.body ?? "{}");
  assert.deepEqual(body, {
    name: "orders api",
    protocol: "HTTP",
    url: "api.example.test:8080/v2/",
    target_type: "API",
    scan_type: "FULL",
    is_sec_lead_only: false,
    teams: ["team-7"],
    authorized_to_scan: true,
    api_specification_file_url: "https://api.example.test/openapi.json",
    description: "Orders",
  });
  assert.equal(fake.targets.get(api.id)?.target_type, "API");

  await scanner.createProject({
    name: "quick",
    url: spec.url,
    options: { scan_type: "quick", team: "other" },
  });
  const quick = JSON.parse(fake.requests[1]?.body ?? "{}");
  assert.deepEqual([quick.scan_type, quick.teams], ["QUICK", ["other"]]);

  const before = fake.requests.length;
  const noSpec = await rejectsWith(
    scanner.createProject({ name: "x", url: spec.url, options: { target_type: "API" } }),
    "validation",
  );
  assert.match(noSpec.userMessage, /api_spec_url/);
  const unknown = await rejectsWith(
    scanner.createProject({ name: "x", url: spec.url, options: { colour: "blue" } }),
    "validation",
  );
  assert.match(unknown.userMessage, /Unknown DAST Essentials target option "colour"/);
  await rejectsWith(
    scanner.createProject({ name: "x", url: spec.url, options: { scan_type: "DEEP" } }),
    "validation",
  );
  await rejectsWith(scanner.createProject({ name: "x", url: "ftp://files.example.test" }), "validation");
  await rejectsWith(
    scanner.createProject({ name: "x", url: "https://user:pw@shop.example.test" }),
    "validation",
  );
  await rejectsWith(scanner.createProject({ name: "bad\u0007name", url: spec.url }), "validation");
  assert.equal(fake.requests.length, before, "refused before anything is sent");
});

test("a start while an analysis runs attaches to it (the API answers a bare 400)", async (t) => {
  const { fake, scanner } = await setup(t);
  const target = fake.addTarget("shop");
  // Older, ended runs and more than one page of history (limit 200).
  for (let i = 0; i < 205; i += 1) fake.addRun(target.target_id, "FINISHED");
  const running = fake.addRun(target.target_id, "RUNNING");

  const result = await scanner.startScan(target.target_id);
  assert.deepEqual(result, { scanId: running.analysis_run_id, alreadyRunning: true });
  const calls = fake.requests.map((r) => `${r.method} ${r.path} ${r.status}`);
  assert.deepEqual(calls, [
    "POST /analysis_run 400",
    `GET /targets/${target.target_id}/analysis_runs?page=0&limit=200 200`,
    `GET /targets/${target.target_id}/analysis_runs?page=1&limit=200 200`,
  ]);

  // A stopping run counts as well: it still holds the target.
  fake.setStatus(running.analysis_run_id, "STOPPING");
  assert.deepEqual(await scanner.startScan(target.target_id), {
    scanId: running.analysis_run_id,
    alreadyRunning: true,
  });
  // Unknown target: bare 400 on start, then 404 TARGET_NOT_FOUND on the list.
  await rejectsWith(scanner.startScan("0b5e1c4e-0000-4000-8000-000000000000"), "not_found");
  assert.deepEqual(fake.rejections, []);
});

test("stop sends STOP_SAVE by default, only for the run asked about", async (t) => {
  const { fake, scanner } = await setup(t);
  const project = await scanner.createProject(spec);
  const { scanId } = await scanner.startScan(project.id);
  const ref = { projectId: project.id, scanId };

  await scanner.stopScan(ref);
  const stop = fake.requests.find((r) => r.path.includes("/stop"));
  assert.equal(stop?.path, `/analysis_run/${project.id}/stop?action=STOP_SAVE`);
  assert.equal(stop?.headers["content-length"], "0");
  assert.equal(fake.runs.get(scanId)?.stopAction, "STOP_SAVE");
  assert.deepEqual((await scanner.getScanStatus(ref)).state, "running", "STOPPING is not terminal yet");
  await scanner.stopScan(ref); // already stopping: nothing to send
  assert.equal(fake.requests.filter((r) => r.path.includes("/stop")).length, 1);

  fake.setStatus(scanId, "STOPPED");
  assert.deepEqual((await scanner.getScanStatus(ref)).state, "stopped");
  const again = await rejectsWith(scanner.stopScan(ref), "conflict");
  assert.match(again.userMessage, /not running \(STOPPED\)/);
  // Results were kept: the report of a STOP_SAVE run is available.
  assert.equal((await scanner.getReport(ref, "xml")).format, "xml");
  // A newer run is not stopped by a stop for the old one.
  const newer = await scanner.startScan(project.id);
  await rejectsWith(scanner.stopScan(ref), "conflict");
  assert.equal(fake.runs.get(newer.scanId)?.status, "RUNNING");
  assert.deepEqual(fake.rejections, []);
});

test("DAST_STOP_ACTION=STOP_DELETE is honoured; a stop the server finds already done succeeds", async (t) => {
  const { fake, scanner } = await setup(t, { stopAction: "STOP_DELETE" });
  const target = fake.addTarget("shop");
  const run = fake.addRun(target.target_id, "RUNNING");
  const ref = { projectId: target.target_id, scanId: run.analysis_run_id };
  await scanner.stopScan(ref);
  assert.equal(run.stopAction, "STOP_DELETE");

  // The first stop's answer was lost; the retry finds INVALID_ANALYSIS_STATE and the run stopping.
  fake.setStatus(run.analysis_run_id, "RUNNING");
  fake.enqueue({
    status: 400,
    body: problem(400, "INVALID_ANALYSIS_STATE", "No analysis in progress"),
    when: (r) => {
      if (!r.path.includes("/stop")) return false;
      fake.setStatus(run.analysis_run_id, "STOPPING");
      return true;
    },
  });
  await scanner.stopScan(ref);
});

test("run status: RUNNING/STOPPING running, ended states terminal, missing status unknown but running", async (t) => {
  const { fake, scanner } = await setup(t);
  const target = fake.addTarget("shop");
  const run = fake.addRun(target.target_id, undefined);
  const ref = { projectId: target.target_id, scanId: run.analysis_run_id };
  assert.deepEqual(await scanner.getScanStatus(ref), {
    scanId: run.analysis_run_id,
    state: "running",
    rawCode: "UNKNOWN",
    rawText: "Status not reported yet (analysis #1)",
  });
  const expected: Array<[string, string]> = [
    ["RUNNING", "running"],
    ["STOPPING", "running"],
    ["STOPPED", "stopped"],
    ["FINISHED", "finished"],
    ["FAILED", "failed"],
    // Not in the spec's enum: read by wording, raw value kept.
    ["QUEUED", "queued"],
    ["CANCELLED", "stopped"],
    ["SOMETHING_NEW", "running"],
  ];
  for (const [status, state] of expected) {
    fake.setStatus(run.analysis_run_id, status);
    const result = await scanner.getScanStatus(ref);
    assert.deepEqual([result.state, result.rawCode], [state, status], status);
  }
  await rejectsWith(scanner.getScanStatus({ projectId: target.target_id, scanId: "f00" }), "not_found");
});

test("RFC 7807 problems become typed, actionable errors", async (t) => {
  const { fake, scanner, account } = await setup(t);
  await scanner.createProject(spec);
  const duplicate = await rejectsWith(scanner.createProject(spec), "conflict");
  assert.equal(
    duplicate.userMessage,
    'A target named "shop" already exists in Veracode DAST Essentials; choose another name or link the existing target.',
  );
  assert.match(duplicate.message, /TARGET_NAME_NOT_UNIQUE/);

  const localhost = await rejectsWith(
    scanner.createProject({ name: "l", url: "http://localhost:3000" }),
    "validation",
  );
  assert.match(localhost.userMessage, /localhost is not reachable/);
  const privateIp = await rejectsWith(
    scanner.createProject({ name: "p", url: "http://10.1.2.3" }),
    "validation",
  );
  assert.match(privateIp.userMessage, /private IP addresses/);

  fake.maxTargets = 1;
  const limit = await rejectsWith(scanner.createProject({ name: "other", url: spec.url }), "conflict");
  assert.match(limit.userMessage, /target limit/);
  fake.maxTargets = 50;

  const scripted = async (body: unknown, status = 400) => {
    fake.enqueue({ status, body });
    return scanner.createProject({ name: `n${fake.requests.length}`, url: spec.url });
  };
  const scheme = await rejectsWith(scripted(problem(400, "PROTOCOL_IN_TARGET_URL", "x")), "validation");
  assert.match(scheme.userMessage, /sent with its scheme/);
  const denied = await rejectsWith(scripted(problem(403, "ACCESS_DENIED", "no"), 403), "permission");
  assert.match(denied.userMessage, new RegExp(`account "dast" \\(key …${account.keyIdHint}\\)`));
  await rejectsWith(scripted(problem(400, "UNAUTHORIZED_USER", "no")), "auth");
  const unknown = await rejectsWith(
    scripted(problem(400, "SOME_FUTURE_CODE", "The <b>thing</b> is off")),
    "validation",
  );
  assert.equal(
    unknown.userMessage,
    'Veracode DAST Essentials rejected the request for target "n' +
      String(fake.requests.length - 1) +
      '": SOME_FUTURE_CODE: The <b>thing</b> is off.',
    "unknown codes show the server's detail (the Slack layer escapes it)",
  );
  const bare = await rejectsWith(scripted(undefined), "validation");
  assert.match(bare.userMessage, /HTTP 400 without details/);
  const server = await rejectsWith(scripted({ title: "boom" }, 500), "unavailable");
  assert.equal(server.retryable, true);
  assert.match(server.userMessage, /may still have been carried out/, "a POST that got a 5xx is ambiguous");

  await rejectsWith(scanner.deleteProject("0b5e1c4e-0000-4000-8000-000000000000"), "not_found");
  assert.deepEqual(fake.rejections, []);
});

test("report-not-ready codes are retryable; the report arrives once ready", async (t) => {
  const { fake, scanner } = await setup(t);
  const target = fake.addTarget("shop");
  const run = fake.addRun(target.target_id, "FINISHED");
  run.reportNotReady = 1;
  run.reportNotReadyCode = "REPORT_DATA_NOT_READY";
  const ref = { projectId: target.target_id, scanId: run.analysis_run_id };
  const error = await rejectsWith(scanner.getReport(ref, "xml"), "unavailable");
  assert.equal(error.retryable, true);
  assert.match(error.userMessage, /not finished preparing the xml report/);
  assert.match(error.message, /REPORT_DATA_NOT_READY/);
  assert.equal((await scanner.getReport(ref, "xml")).format, "xml");

  fake.enqueue({ status: 200, body: "", headers: { "content-type": "application/pdf" } });
  const empty = await rejectsWith(scanner.getReport(ref, "pdf"), "unavailable");
  assert.equal(empty.retryable, true, "an empty report is not ready either");
});

test("a 401 is an auth error, not retried, and never quotes the credentials", async (t) => {
  const { fake, account, keys } = await setup(t);
  const wrong = fakeKeyPair();
  const log = rawCaptureLogger();
  const delays: number[] = [];
  const scanner = createDastEssentialsScanner({
    logger: log.logger,
    account: new VeracodeAccount({
      name: "stale",
      apiKeyId: keys.apiKeyId,
      apiKeySecret: wrong.apiKeySecret,
      baseUrl: account.baseUrl,
    }),
    retry: { sleep: async (ms) => void delays.push(ms) },
  });
  t.after(() => scanner.close());
  const target = fake.addTarget("shop");
  const error = await rejectsWith(scanner.startScan(target.target_id), "auth");
  assert.match(error.userMessage, /refused the Veracode API account "stale"/);
  assert.match(error.userMessage, /VERACODE_API_KEY_ID and VERACODE_API_KEY_SECRET/);
  assert.deepEqual(fake.rejections, ["signature mismatch"]);
  assert.deepEqual(delays, []);
  secretsAbsent(`${errorText(error)}\n${log.text()}`, { apiId: keys.apiId, secretHex: wrong.secretHex });
});

test("429 Retry-After is honoured and every retry is signed afresh", async (t) => {
  const { fake, scanner, delays, log } = await setup(t);
  const target = fake.addTarget("shop");
  const run = fake.addRun(target.target_id, "RUNNING");
  const ref = { projectId: target.target_id, scanId: run.analysis_run_id };
  fake.enqueue(
    { status: 429, headers: { "retry-after": "3" } },
    { status: 429, headers: { "retry-after": "1" } },
  );

  assert.equal((await scanner.getScanStatus(ref)).state, "running");
  assert.deepEqual(delays, [3_000, 1_000]);
  assert.deepEqual(
    fake.requests.map((r) => r.status),
    [429, 429, 200],
  );
  assert.deepEqual(fake.rejections, [], "each attempt carried a valid signature");
  const nonces = fake.requests.map((r) => r.nonce);
  assert.equal(new Set(nonces).size, 3, "no header was reused");
  assert.equal(log.records().filter((r) => r.msg === "dast-essentials request failed; retrying").length, 2);

  // POST create: a 429 proves nothing was created, so it is retried too.
  fake.enqueue({ status: 429, headers: { "retry-after": "2" } });
  await scanner.createProject({ name: "blog", url: "https://blog.example.test" });
  assert.ok([...fake.targets.values()].some((target) => target.name === "blog"));
  assert.deepEqual(delays, [3_000, 1_000, 2_000]);

  // A wait longer than the in-process limit surfaces with the server's wait for the watcher.
  fake.enqueue({ status: 429, headers: { "retry-after": "600" } });
  const limited = await rejectsWith(scanner.getScanStatus(ref), "rate_limited");
  assert.deepEqual([limited.retryable, limited.retryAfterMs], [true, 600_000]);
  assert.match(limited.userMessage, /try again in 600 s/);
});

test("only idempotent requests are retried on 5xx; at most 5 retries with backoff and jitter", async (t) => {
  const { fake, scanner, delays } = await setup(t);
  const target = fake.addTarget("shop");
  const run = fake.addRun(target.target_id, "RUNNING");
  const ref = { projectId: target.target_id, scanId: run.analysis_run_id };
  for (let i = 0; i < 6; i += 1) fake.enqueue({ status: 503, body: { title: "down" } });
  const error = await rejectsWith(scanner.getScanStatus(ref), "unavailable");
  assert.equal(error.retryable, true);
  assert.equal(fake.requests.length, 6, "first attempt plus five retries");
  assert.deepEqual(delays, [375, 750, 1_500, 3_000, 6_000]);
  assert.deepEqual(fake.rejections, []);

  fake.requests.length = 0;
  fake.enqueue({ status: 503, body: { title: "down" } });
  await rejectsWith(scanner.startScan(target.target_id), "unavailable");
  assert.equal(fake.requests.length, 1, "a POST that may have started an analysis is not repeated");
});

test("IDs are checked before anything is sent", async (t) => {
  const { fake, scanner } = await setup(t);
  await rejectsWith(scanner.startScan("../../targets"), "validation");
  await rejectsWith(scanner.deleteProject("a/b"), "validation");
  await rejectsWith(scanner.getScanStatus({ projectId: "t1", scanId: "../x" }), "validation");
  await rejectsWith(scanner.getReport({ projectId: "t1", scanId: "r1?x=1" }, "pdf"), "validation");
  assert.equal(fake.requests.length, 0);
});

test("base URL: region from the key prefix, DAST_API_URL override, no US Federal", () => {
  const eu = fakeKeyPair("vera01e");
  const euAccount = new VeracodeAccount({ name: "eu", apiKeyId: eu.apiKeyId, apiKeySecret: eu.apiKeySecret });
  assert.equal(dastApiUrl(euAccount), "https://api.veracode.eu/dae/api/tcs-api/api/v1");
  const us = fakeKeyPair();
  const usAccount = new VeracodeAccount({ name: "us", apiKeyId: us.apiKeyId, apiKeySecret: us.apiKeySecret });
  assert.equal(dastApiUrl(usAccount), "https://api.veracode.com/dae/api/tcs-api/api/v1");
  assert.equal(dastApiUrl(usAccount, "http://127.0.0.1:4010/"), "http://127.0.0.1:4010");
  assert.throws(
    () => dastApiUrl(usAccount, "https://proxy.test/x?y=1"),
    (e) => e instanceof AppError && e.kind === "config",
  );
  const fed = fakeKeyPair("vera01f");
  const fedAccount = new VeracodeAccount({
    name: "fed",
    apiKeyId: fed.apiKeyId,
    apiKeySecret: fed.apiKeySecret,
  });
  assert.throws(() => dastApiUrl(fedAccount), /not available in the US Federal region/);
});

test("account selection and option parsers for config.ts", () => {
  const keys = fakeKeyPair();
  const account = new VeracodeAccount({
    name: "default",
    apiKeyId: keys.apiKeyId,
    apiKeySecret: keys.apiKeySecret,
  });
  assert.equal(selectDastAccount([account], "default"), account);
  assert.throws(() => selectDastAccount([account], "dast"), /DAST_VERACODE_ACCOUNT/);
  assert.throws(() => selectDastAccount([], "default"), /needs Veracode API credentials/);
  assert.equal(parseTargetType("web-app"), "WEB_APP");
  assert.equal(parseTargetType("Api"), "API");
  assert.equal(parseScanType("full"), "FULL");
  assert.equal(checkTeamId(" 42 "), "42");
  assert.throws(
    () => parseTargetType("MOBILE", "DAST_TARGET_TYPE"),
    /DAST_TARGET_TYPE must be one of WEB_APP, API/,
  );
  assert.throws(
    () => parseScanType("DEEP"),
    (e) => e instanceof AppError && e.kind === "validation",
  );
  assert.throws(() => checkTeamId("a b"));
});

test("target URLs go without scheme into url and with it into protocol", () => {
  assert.deepEqual(splitTargetUrl("https://Shop.Example.test"), {
    protocol: "HTTPS",
    url: "shop.example.test",
  });
  assert.deepEqual(splitTargetUrl("https://shop.example.test:443/"), {
    protocol: "HTTPS",
    url: "shop.example.test",
  });
  assert.deepEqual(splitTargetUrl("http://shop.example.test:8080/app/?q=1#frag"), {
    protocol: "HTTP",
    url: "shop.example.test:8080/app/?q=1",
  });
  const request = buildTargetRequest(
    { name: " Café 24 ", url: "https://cafe.example.test" },
    DEFAULT_TARGET_DEFAULTS,
  );
  assert.equal(request.name, "Café 24", "letters of any script are allowed");
  assert.throws(() =>
    buildTargetRequest({ name: "x".repeat(256), url: "https://a.test" }, DEFAULT_TARGET_DEFAULTS),
  );
  assert.throws(() => buildTargetRequest({ name: "", url: "https://a.test" }, DEFAULT_TARGET_DEFAULTS));
});

test("an answer that makes zod report 100,000 issues is a typed error with a bounded detail", async (t) => {
  const { fake, scanner } = await setup(t);
  const target = await scanner.createProject(spec);
  const runs = Array.from({ length: 100_000 }, () => ({ analysis_run_id: 7, status: [] }));
  // A bare 400 on start makes the adapter list the target's runs, which answers the hostile page.
  fake.enqueue({ status: 400 }, { status: 200, body: { _embedded: { analysis_runs: runs } } });
  const error = await rejectsWith(scanner.startScan(target.id), "unavailable");
  assert.match(error.message, /_embedded\.analysis_runs\.0\.analysis_run_id \(invalid_type\)/);
  assert.match(error.message, /and [\d,]+ more/);
  assert.ok(error.message.length < 1000, "the detail stays bounded");
});

test("estimated_duration becomes the status's estimate, in the configured unit; nonsense is ignored", async (t) => {
  const seconds = await setup(t);
  const project = await seconds.scanner.createProject(spec);
  const { scanId } = await seconds.scanner.startScan(project.id);
  const ref = { projectId: project.id, scanId };
  const run = seconds.fake.runs.get(scanId);
  assert.ok(run);
  assert.equal(
    (await seconds.scanner.getScanStatus(ref)).estimatedDurationMs,
    undefined,
    "absent: no estimate",
  );
  run.estimated_duration = 1800;
  assert.equal((await seconds.scanner.getScanStatus(ref)).estimatedDurationMs, 1_800_000);
  for (const nonsense of [0, -5, "soon", null]) {
    run.estimated_duration = nonsense;
    const status = await seconds.scanner.getScanStatus(ref);
    assert.equal(status.state, "running", "a bad estimate does not fail the status");
    assert.equal(status.estimatedDurationMs, undefined);
  }

  const minutes = await setup(t, { estimateUnit: "minutes" });
  const other = await minutes.scanner.createProject(spec);
  const started = await minutes.scanner.startScan(other.id);
  const minuteRun = minutes.fake.runs.get(started.scanId);
  assert.ok(minuteRun);
  minuteRun.estimated_duration = 30;
  const status = await minutes.scanner.getScanStatus({ projectId: other.id, scanId: started.scanId });
  assert.equal(status.estimatedDurationMs, 1_800_000);
});
