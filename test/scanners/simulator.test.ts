import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { AppError } from "../../src/domain/errors.js";
import { buildPdfReport } from "../../src/scanners/simulator/reports.js";
import { createSimulatedScanner } from "../../src/scanners/simulator/scanner.js";
import { startSimulator } from "../../src/scanners/simulator/server.js";
import { captureLogger } from "../support/logs.js";
import { frozenClock } from "./harness.js";

test("builds a structurally valid PDF 1.4: xref offsets and stream length are exact", () => {
  const bytes = Buffer.from(
    buildPdfReport({ projectName: "shop (é)", targetUrl: "https://x.test", scanId: "1" }),
  );
  const text = bytes.toString("latin1");
  assert.ok(text.startsWith("%PDF-1.4\n"));
  assert.ok(text.endsWith("%%EOF\n"));

  const startxref = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(text)?.[1]);
  assert.ok(text.startsWith("xref\n0 6\n", startxref), "startxref points at the xref table");
  const entries = text
    .slice(startxref + "xref\n0 6\n".length)
    .split("\n")
    .slice(0, 6);
  assert.equal(entries[0], "0000000000 65535 f ");
  entries.slice(1).forEach((entry, index) => {
    assert.match(entry, /^\d{10} 00000 n $/);
    assert.ok(text.startsWith(`${index + 1} 0 obj\n`, Number(entry.slice(0, 10))), `object ${index + 1}`);
  });
  assert.match(text, /trailer\n<< \/Size 6 \/Root 1 0 R >>/);

  const stream = /<< \/Length (\d+) >>\nstream\n/.exec(text);
  assert.ok(stream);
  const start = stream.index + stream[0].length;
  const end = text.indexOf("\nendstream", start);
  assert.equal(end - start, Number(stream[1]));
  assert.match(text.slice(start, end), /\(Project: shop \\\(\?\\\)\) Tj/, "escaped, ASCII only");
});

/** Sends raw bytes, so the request is exactly what the test wrote (no client adds headers). */
function rawRequest(url: string, request: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1", () => socket.end(request));
    const chunks: Buffer[] = [];
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    socket.on("error", reject);
  });
}

test("checks the API key, requires Content-Length on POST, and records requests without the key", async (t) => {
  const sim = await startSimulator({ clock: frozenClock, apiKey: "sim-key-0123456789" });
  t.after(() => sim.close());
  const projectId = sim.addProject({
    name: "p",
    url: "https://p.test",
    webhookSecret: "0123456789abcdef0123",
  });

  const wrongKey = await fetch(`${sim.url}/teams/1/projects/${projectId}/scans`, {
    method: "POST",
    headers: { API_KEY: "nope" },
  });
  assert.equal(wrongKey.status, 401);
  assert.deepEqual(await wrongKey.json(), { message: "Unauthorized", status_code: 401 });

  const noLength = await rawRequest(
    sim.url,
    `POST /teams/1/projects/${projectId}/scans HTTP/1.1\r\nHost: x\r\nAPI_KEY: sim-key-0123456789\r\nConnection: close\r\n\r\n`,
  );
  assert.match(noLength, /^HTTP\/1\.1 411 /);

  const withBody = await fetch(`${sim.url}/webhook/0123456789abcdef0123`, { method: "POST", body: "{}" });
  assert.equal(withBody.status, 400, "webhook payloads are not modelled");

  const started = await fetch(`${sim.url}/teams/1/projects/${projectId}/scans`, {
    method: "POST",
    headers: { API_KEY: "sim-key-0123456789", "content-length": "0" },
  });
  assert.deepEqual(await started.json(), { message: "scan_started", data: { scan_id: 390 } });

  assert.deepEqual(
    sim.requests.map((r) => [r.method, r.operation, r.headers.api_key]),
    [
      ["POST", "startScan", "[REDACTED]"],
      ["POST", "startScan", "[REDACTED]"],
      ["POST", "webhookStart", undefined],
      ["POST", "startScan", "[REDACTED]"],
    ],
  );
  assert.ok(!JSON.stringify(sim.requests).includes("sim-key-0123456789"));
});

test("faults apply to their route for the given number of requests, then clear", async (t) => {
  const sim = await startSimulator({ clock: frozenClock });
  t.after(() => sim.close());
  const projectId = sim.addProject({ name: "p", url: "https://p.test" });
  const status = () =>
    fetch(`${sim.url}/teams/1/projects/${projectId}/scans/1/status`, { headers: { API_KEY: sim.apiKey } });
  sim.faults.inject("scanStatus", { kind: "status", status: 502 }, 2);
  sim.faults.inject("scanStatus", { kind: "rateLimit", retryAfter: "9" });
  assert.equal((await status()).status, 502);
  assert.equal((await status()).status, 502);
  const limited = await status();
  assert.deepEqual([limited.status, limited.headers.get("retry-after")], [429, "9"]);
  assert.equal((await status()).status, 404, "no scan 1: the fault queue is spent");
  sim.faults.inject("scanStatus", { kind: "status", status: 500 }, 5);
  sim.faults.clear();
  assert.equal((await status()).status, 404);
});

test("the simulated scanner runs a whole scan with demo timings through the real adapter", async (t) => {
  const log = captureLogger();
  const scanner = await createSimulatedScanner({
    logger: log.logger,
    timing: { queueSeconds: 1, runSeconds: 2, outcome: "stopped" },
    webhookProjects: ["demo-hook"],
  });
  t.after(() => scanner.close());
  assert.equal(scanner.name, "simulator");
  assert.deepEqual(
    scanner.webhookProjects.map((p) => p.id),
    ["webhook:demo-hook"],
  );

  const project = await scanner.createProject({ name: "demo", url: "https://demo.example.test" });
  const { scanId } = await scanner.startScan(project.id);
  const ref = { projectId: project.id, scanId };
  const states = [(await scanner.getScanStatus(ref)).state];
  for (const seconds of [1, 2]) {
    scanner.simulator.clock.advance(seconds * 1000);
    states.push((await scanner.getScanStatus(ref)).state);
  }
  assert.deepEqual(states, ["queued", "running", "stopped"]);
  const hook = await scanner.startScan("webhook:demo-hook");
  assert.equal(hook.alreadyRunning, false);
  assert.ok(scanner.simulator.requests.some((r) => r.operation === "webhookStart"));

  scanner.simulator.setOutcome("failed");
  const next = await scanner.startScan(project.id);
  scanner.simulator.clock.advance(3_000);
  assert.equal((await scanner.getScanStatus({ projectId: project.id, scanId: next.scanId })).state, "failed");
});

test("keeps only the newest requests beyond maxRecorded", async (t) => {
  const sim = await startSimulator({ maxRecorded: 2 });
  t.after(() => sim.close());
  for (const path of ["/a", "/b", "/c"]) await (await fetch(`${sim.url}${path}`)).arrayBuffer();
  assert.deepEqual(
    sim.requests.map((r) => r.path),
    ["/b", "/c"],
  );
});

test("projects, scans and ID counters survive a restart when the simulator has a state store", async () => {
  let saved: unknown;
  let saves = 0;
  const state = {
    load: async () => saved,
    save: async (value: unknown) => {
      saves += 1;
      saved = structuredClone(value);
    },
  };
  const first = await startSimulator({ clock: frozenClock, apiKey: "sim-key-0123456789", state });
  const post = async (sim: { url: string }, path: string, body?: unknown) => {
    const response = await fetch(`${sim.url}${path}`, {
      method: "POST",
      headers: { API_KEY: "sim-key-0123456789", "content-type": "application/json" },
      body: body === undefined ? "" : JSON.stringify(body),
    });
    return {
      status: response.status,
      json: async () => (await response.json()) as { data: { id?: number; scan_id?: number } },
    };
  };
  const created = await post(first, "/teams/1/projects", { name: "shop", url: "https://shop.example.com" });
  assert.equal((await created.json()).data.id, 101);
  const started = await post(first, "/teams/1/projects/101/scans");
  assert.equal((await started.json()).data.scan_id, 390);
  assert.ok(saves >= 2, "every change is saved before it is answered");
  await first.close();

  const second = await startSimulator({ clock: frozenClock, apiKey: "sim-key-0123456789", state });
  try {
    const again = await post(second, "/teams/1/projects/101/scans");
    assert.equal(again.status, 409, "scan 390 is still running after the restart");
    assert.equal((await again.json()).data.scan_id, 390);
    const next = await post(second, "/teams/1/projects", { name: "blog", url: "https://blog.example.com" });
    assert.equal((await next.json()).data.id, 102, "the project counter goes on");
    const status = await fetch(`${second.url}/teams/1/projects/101/scans/390/status`, {
      headers: { API_KEY: "sim-key-0123456789" },
    });
    assert.equal(status.status, 200, "the old scan is known");
    second.clock.advance(60_000);
    const blogScan = await post(second, "/teams/1/projects/102/scans");
    assert.equal((await blogScan.json()).data.scan_id, 391, "the scan counter goes on");
  } finally {
    await second.close();
  }
});

test("an unreadable saved simulator state stops start-up with an actionable message", async () => {
  await assert.rejects(
    startSimulator({ state: { load: async () => ({ nextProjectId: "x" }), save: async () => {} } }),
    (error: unknown) =>
      error instanceof AppError && error.kind === "config" && /saved state is unreadable/.test(error.message),
  );
});

test("the simulated scanner keeps its state in the bot's store: a second start knows the first's projects", async (t) => {
  const { mkdtemp, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { openStore } = await import("../../src/store/index.js");
  const dir = await mkdtemp(`${tmpdir()}/simulator-state-`);
  t.after(() => rm(dir, { recursive: true, force: true }));
  const url = `sqlite://${dir}/store.sqlite`;
  const log = captureLogger();

  const store1 = await openStore({ url });
  const one = await createSimulatedScanner({ logger: log.logger, store: store1, webhookProjects: ["hook"] });
  const project = await one.createProject({ name: "demo", url: "https://demo.example.test" });
  const scan = await one.startScan(project.id);
  const secret = one.simulator.findProject("hook")?.webhookSecret;
  await one.close();
  await store1.close();

  const store2 = await openStore({ url });
  const two = await createSimulatedScanner({ logger: log.logger, store: store2, webhookProjects: ["hook"] });
  try {
    assert.equal((await two.getScanStatus({ projectId: project.id, scanId: scan.scanId })).state, "queued");
    const again = await two.startScan(project.id);
    assert.deepEqual([again.alreadyRunning, again.scanId], [true, scan.scanId]);
    const other = await two.createProject({ name: "other", url: "https://other.example.test" });
    assert.notEqual(other.id, project.id);
    assert.equal(two.simulator.findProject("hook")?.webhookSecret, secret, "the webhook project is reused");
  } finally {
    await two.close();
    await store2.close();
  }
});
