import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { AppError } from "../../src/domain/errors.js";
import { readReport } from "../../src/domain/reports.js";
import { createCrashtestScanner } from "../../src/scanners/crashtest/scanner.js";
import { parseWebhookProjects } from "../../src/scanners/crashtest/webhook-projects.js";
import { summarizeReport } from "../../src/scanners/findings.js";
import { SIMULATED_COUNTS } from "../../src/scanners/simulator/reports.js";
import { captureLogger } from "../support/logs.js";
import { errorText, harness, rejectsWith } from "./harness.js";

const secret = "3f2c9a1e-8b7d-4c6e-9f10-aa11bb22cc33";
const otherSecret = "9cb602e9-a591-4668-b245-549263a99939";

async function webhookHarness(t: import("node:test").TestContext, withRest = false) {
  const setup = await harness(t, {
    scanner: {
      ...(withRest ? {} : { apiKey: undefined, teamId: undefined }),
      webhooks: [
        { name: "shop", secret, url: "https://shop.example.test" },
        { name: "blog", secret: otherSecret },
      ],
    },
  });
  setup.sim.addProject({ name: "shop", url: "https://shop.example.test", webhookSecret: secret });
  return setup;
}

test("parses CRASHTEST_WEBHOOKS in both entry forms", () => {
  assert.deepEqual(
    parseWebhookProjects(
      JSON.stringify({ shop: secret, blog: { secret: otherSecret, url: "https://blog.example" } }),
    ),
    [
      { name: "shop", secret },
      { name: "blog", secret: otherSecret, url: "https://blog.example" },
    ],
  );
});

test("CRASHTEST_WEBHOOKS errors name the project and never quote the secret", () => {
  const cases = [
    `{"shop": "${secret}",}`, // invalid JSON: the parser's own message would quote the input
    `{"shop": "${secret}/../x"}`,
    `{"shop": {"secret": "${secret}", "token": "x"}}`,
    `["${secret}"]`,
    `{"bad name!": "${secret}"}`,
  ];
  for (const text of cases) {
    const error = (() => {
      try {
        parseWebhookProjects(text);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    assert.ok(error instanceof AppError && error.kind === "config", text);
    assert.ok(!errorText(error).includes(secret), errorText(error));
    assert.equal(error.cause, undefined);
  }
  assert.throws(() => parseWebhookProjects(`{"shop": "short"}`), /CRASHTEST_WEBHOOKS\.shop/);
});

test("runs a webhook project: start, status by data.status.status_code, JUnit report", async (t) => {
  const { sim, scanner } = await webhookHarness(t);
  assert.deepEqual(scanner.reportFormats, ["xml"]);
  assert.deepEqual(scanner.webhookProjects, [
    { id: "webhook:shop", name: "shop", url: "https://shop.example.test" },
    { id: "webhook:blog", name: "blog", url: "" },
  ]);

  const started = await scanner.startScan("webhook:shop");
  assert.deepEqual(started, { scanId: "390", alreadyRunning: false });
  const ref = { projectId: "webhook:shop", scanId: started.scanId };
  assert.equal((await scanner.getScanStatus(ref)).state, "queued");
  sim.clock.advance(5_000);
  assert.deepEqual(await scanner.getScanStatus(ref), {
    scanId: "390",
    state: "running",
    rawCode: "101",
    rawText: "Running",
  });
  sim.clock.advance(30_000);
  assert.equal((await scanner.getScanStatus(ref)).state, "finished");
  const report = await scanner.getReport(ref, "xml");
  assert.equal(report.fileName, "crashtest-scan-390.xml");
  assert.deepEqual(summarizeReport(await readReport(report)).counts, SIMULATED_COUNTS);

  const [start, ...rest] = sim.requests;
  assert.equal(start?.method, "POST");
  assert.equal(start?.path, `/webhook/${secret}`);
  assert.equal(start?.headers["content-length"], "0");
  assert.equal(start?.body, "");
  assert.equal(start?.headers.api_key, undefined, "the webhook needs no API key");
  assert.deepEqual(
    rest.map((r) => r.path),
    [
      `/webhook/${secret}/scans/390/status`,
      `/webhook/${secret}/scans/390/status`,
      `/webhook/${secret}/scans/390/status`,
      `/webhook/${secret}/scans/390/report/junit`,
    ],
  );
});

test("getProject answers configured webhook projects from configuration, others are not_found", async (t) => {
  const { sim, scanner } = await webhookHarness(t);
  assert.deepEqual(await scanner.getProject("webhook:shop"), {
    id: "webhook:shop",
    name: "shop",
    url: "https://shop.example.test",
  });
  await rejectsWith(scanner.getProject("webhook:nope"), "not_found");
  assert.equal(sim.requests.length, 0, "nothing is sent: the webhook API cannot read projects");
});

test("'Scan is already running' without an ID is a conflict", async (t) => {
  const { scanner } = await webhookHarness(t);
  await scanner.startScan("webhook:shop");
  const error = await rejectsWith(scanner.startScan("webhook:shop"), "conflict");
  assert.match(error.userMessage, /already running for project shop/);
});

test("operations the webhook cannot do are unsupported, without calling Crashtest", async (t) => {
  const { sim, scanner } = await webhookHarness(t);
  const ref = { projectId: "webhook:shop", scanId: "390" };
  const calls = [
    () => scanner.createProject({ name: "new", url: "https://new.example.test" }),
    () => scanner.deleteProject("webhook:shop"),
    () => scanner.stopScan(ref),
    () => scanner.getReport(ref, "pdf"),
    () => scanner.getReport(ref, "json"),
  ];
  for (const call of calls) {
    const error = await rejectsWith(call(), "unsupported");
    assert.match(error.userMessage, /not supported with a webhook-only project/);
  }
  assert.equal(sim.requests.length, 0);
  await rejectsWith(scanner.startScan("webhook:unknown"), "not_found");
  const rest = await rejectsWith(scanner.startScan("101"), "not_found");
  assert.match(rest.userMessage, /CRASHTEST_API_KEY/);
});

test("the webhook secret appears in no log line, error or project ID", async (t) => {
  const { sim, scanner, log } = await webhookHarness(t);
  const errors: unknown[] = [];
  const collect = (error: unknown) => {
    errors.push(error);
  };
  // blog's secret is unknown to the simulator (a wrong or revoked secret).
  await scanner.startScan("webhook:blog").catch(collect);
  const { scanId } = await scanner.startScan("webhook:shop");
  const ref = { projectId: "webhook:shop", scanId };
  sim.faults.inject("webhookStatus", { kind: "status", status: 503 }, 6);
  await scanner.getScanStatus(ref).catch(collect);
  sim.faults.inject("webhookStatus", { kind: "reset" }, 6);
  await scanner.getScanStatus(ref).catch(collect);
  sim.faults.inject("webhookStatus", { kind: "malformed" }, 1);
  await scanner.getScanStatus(ref).catch(collect);
  sim.faults.inject("webhookStart", { kind: "status", status: 500 }, 1);
  await scanner.startScan("webhook:blog").catch(collect);
  await scanner.getReport({ projectId: "webhook:shop", scanId: "1" }, "xml").catch(collect);

  assert.deepEqual(
    errors.map((error) => (error as AppError).kind),
    ["not_found", "unavailable", "unavailable", "unavailable", "unavailable", "not_found"],
  );
  for (const error of errors) {
    const text = errorText(error);
    assert.ok(!text.includes(secret) && !text.includes(otherSecret), text);
  }
  assert.ok(log.records().some((record) => record.route === "GET /webhook/{secret}/scans/{scanId}/status"));
  assert.ok(!log.text().includes(secret) && !log.text().includes(otherSecret));
  assert.ok(!JSON.stringify(scanner.webhookProjects).includes(secret));
});

test("serves REST and webhook projects from one scanner, routed by project ID", async (t) => {
  const { sim, scanner } = await webhookHarness(t, true);
  assert.deepEqual(scanner.reportFormats, ["json", "pdf", "xml"]);
  const project = await scanner.createProject({ name: "api", url: "https://api.example.test" });
  const rest = await scanner.startScan(project.id);
  const hook = await scanner.startScan("webhook:shop");
  assert.notEqual(rest.scanId, hook.scanId);
  assert.deepEqual(
    sim.requests.map((r) => r.operation),
    ["createProject", "startScan", "webhookStart"],
  );
  await rejectsWith(scanner.stopScan({ projectId: "webhook:shop", scanId: hook.scanId }), "unsupported");
  await scanner.stopScan({ projectId: project.id, scanId: rest.scanId });
});

test("scrubs the secret from server messages that echo the request path", async (t) => {
  const server = createServer((req, res) => {
    res.writeHead(422, { "content-type": "application/json" });
    res.end(JSON.stringify({ message: `Cannot start ${req.url}: target not verified` }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const log = captureLogger();
  const scanner = createCrashtestScanner({
    logger: log.logger,
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    webhooks: [{ name: "shop", secret }],
  });
  t.after(() => scanner.close());
  const error = await rejectsWith(scanner.startScan("webhook:shop"), "validation");
  assert.equal(
    error.userMessage,
    "Crashtest rejected the request: Cannot start /webhook/[REDACTED]: target not verified.",
  );
  assert.ok(!errorText(error).includes(secret) && !log.text().includes(secret));
});
