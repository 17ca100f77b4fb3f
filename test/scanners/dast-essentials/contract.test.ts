/**
 * Contract tests against the TCS OpenAPI spec itself: Prism mocks a derived copy of
 * shared/specs/veracode-dast-tcs-openapi.json on 127.0.0.1 with request validation on (--errors), and
 * the production adapter talks to it through a recording dispatcher. Every request the adapter sends
 * must be valid (Prism answers 400/422 with an sl-violations header otherwise), and every documented
 * response (success and error, chosen with `Prefer: code=…`) must be parsed into a result or a typed
 * AppError. Prism starts once for the file.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { realpathSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { type TestContext, test } from "node:test";
import { Agent, type Dispatcher } from "undici";
import type { ErrorKind } from "../../../src/domain/errors.js";
import { readReport } from "../../../src/domain/reports.js";
import { createDastEssentialsScanner } from "../../../src/scanners/dast-essentials/scanner.js";
import { VeracodeAccount } from "../../../src/veracode/index.js";
import { sharedFile } from "../../support/shared.js";
import { expectedSignature, fakeKeyPair, rawCaptureLogger } from "../../veracode/fake-veracode.js";
import { rejectsWith } from "../harness.js";

const here = path.dirname(new URL(import.meta.url).pathname);
const PRISM = realpathSync(path.resolve(here, "../../../node_modules/.bin/prism"));
const SPEC = "specs/veracode-dast-tcs-openapi.json";

/** Java's \p{Print} (printable ASCII) in the spec's patterns; JavaScript rejects it (README caveat). */
function deriveSpec(value: unknown, count: { replaced: number }): unknown {
  if (typeof value === "string") {
    if (!value.includes("\\p{Print}")) return value;
    count.replaced += 1;
    return value.replaceAll("\\p{Print}", "\\x20-\\x7E");
  }
  if (Array.isArray(value)) return value.map((item) => deriveSpec(item, count));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, deriveSpec(inner, count)]));
  }
  return value;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function startPrism(t: TestContext, specPath: string): Promise<{ url: string; output: () => string }> {
  const dir = await mkdtemp(path.join(tmpdir(), "tcs-spec-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const count = { replaced: 0 };
  const derived = deriveSpec(JSON.parse(await readFile(specPath, "utf8")), count);
  assert.ok(count.replaced >= 1, "the spec still has the \\p{Print} patterns this copy works around");
  const file = path.join(dir, "tcs-openapi.json");
  await writeFile(file, JSON.stringify(derived));

  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [PRISM, "mock", "--errors", "-h", "127.0.0.1", "-p", String(port), file],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, "exit");
      child.kill();
      await exited;
    }
  });
  let output = "";
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Prism did not start in 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (output.includes("Prism is listening on")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Prism exited (${code}):\n${output}`));
    });
  });
  await ready;
  return { url: `http://127.0.0.1:${port}`, output: () => output };
}

interface Exchange {
  method: string;
  path: string;
  prefer?: string;
  status?: number;
  violations?: string;
  contentType?: string;
  /** Why the Authorization header did not verify, if it did not. */
  badSignature?: string;
}

type PreferRule = (method: string, path: string) => string | undefined;

/**
 * The adapter's base dispatcher in these tests: adds `Prefer` where a rule asks for it, records each
 * exchange (status, Prism's sl-violations header) and checks each request's HMAC header against
 * the path actually sent (an independent implementation of the signing chain).
 */
function recordingDispatcher(keys: { apiId: string; secretHex: string }) {
  const exchanges: Exchange[] = [];
  let rule: PreferRule = () => undefined;
  const agent = new Agent();
  const dispatcher = agent.compose(
    (dispatch) => (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => {
      const headers = { ...(opts.headers as Record<string, string>) };
      const prefer = rule(opts.method, opts.path);
      const entry: Exchange = { method: opts.method, path: opts.path, ...(prefer ? { prefer } : {}) };
      exchanges.push(entry);
      const auth =
        /^VERACODE-HMAC-SHA-256 id=([0-9a-f]+),ts=(\d+),nonce=([0-9a-f]{32}),sig=([0-9a-f]{64})$/.exec(
          headers.authorization ?? "",
        );
      if (!auth) entry.badSignature = "missing or malformed";
      else {
        const [, id = "", ts = "", nonce = "", sig = ""] = auth;
        const data = `id=${id}&host=127.0.0.1&url=${opts.path}&method=${opts.method}`;
        if (id !== keys.apiId) entry.badSignature = "wrong key ID";
        else if (expectedSignature(keys.secretHex, nonce, ts, data) !== sig) entry.badSignature = "mismatch";
      }
      return dispatch(
        { ...opts, headers: prefer ? { ...headers, prefer } : headers },
        {
          onRequestStart: (controller, context) => handler.onRequestStart?.(controller, context),
          onRequestUpgrade: (controller, status, upgradeHeaders, socket) =>
            handler.onRequestUpgrade?.(controller, status, upgradeHeaders, socket),
          onResponseStart: (controller, status, responseHeaders, message) => {
            entry.status = status;
            const violations = responseHeaders["sl-violations"];
            if (violations !== undefined) entry.violations = String(violations);
            entry.contentType = String(responseHeaders["content-type"] ?? "");
            handler.onResponseStart?.(controller, status, responseHeaders, message);
          },
          onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
          onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
          onResponseError: (controller, error) => handler.onResponseError?.(controller, error),
        },
      );
    },
  );
  return {
    agent,
    dispatcher,
    exchanges,
    prefer(next: PreferRule) {
      rule = next;
    },
  };
}

/** Prefer `code=<status>` for requests matching method and path pattern only. */
const only =
  (method: string, pattern: RegExp, prefer: string): PreferRule =>
  (m, p) =>
    m === method && pattern.test(p) ? prefer : undefined;

const TARGET = "3f2c1b9e-8d4a-4c1e-9b7a-2f6d5e4c3b2a";
const RUN = "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";
const REF = { projectId: TARGET, scanId: RUN };

test("contract: requests valid and responses parsed against the TCS OpenAPI spec (Prism)", {
  timeout: 180_000,
}, async (t) => {
  const specPath = sharedFile(t, SPEC);
  if (!specPath) return;
  const prism = await startPrism(t, specPath);
  const keys = fakeKeyPair();
  const account = new VeracodeAccount({
    name: "dast",
    apiKeyId: keys.apiKeyId,
    apiKeySecret: keys.apiKeySecret,
  });
  const recorder = recordingDispatcher(keys);
  const log = rawCaptureLogger();
  const delays: number[] = [];
  const options = {
    logger: log.logger,
    account,
    // No server path prefix: Prism serves the spec's paths at the root (README caveat).
    baseUrl: prism.url,
    dispatcher: recorder.dispatcher,
    retry: { sleep: async (ms: number) => void delays.push(ms), random: () => 0.5 },
  };
  const scanner = createDastEssentialsScanner(options);
  const stopDelete = createDastEssentialsScanner({ ...options, stopAction: "STOP_DELETE" });
  t.after(async () => {
    await scanner.close();
    await stopDelete.close();
    await recorder.agent.close();
  });
  const exchanges = recorder.exchanges;
  /** Runs `call` and returns the exchanges it caused. */
  const during = async <T>(call: () => Promise<T>): Promise<{ result: T; sent: Exchange[] }> => {
    const from = exchanges.length;
    const result = await call();
    return { result, sent: exchanges.slice(from) };
  };
  const statuses = (sent: Exchange[]) =>
    sent.map((e) => `${e.method} ${e.path.replace(/\?.*/, "")} ${e.status}`);

  await t.test("Prism validates request bodies with the derived spec (sanity check)", async () => {
    const post = (p: string, body: string) =>
      recorder.agent.request({
        origin: prism.url,
        path: p,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
    for (const [p, body] of [
      ["/targets", "{}"],
      [
        "/targets",
        JSON.stringify({
          name: "x",
          protocol: "FTP",
          url: "a.test",
          target_type: "WEB_APP",
          scan_type: "QUICK",
          is_sec_lead_only: true,
          authorized_to_scan: true,
        }),
      ],
      ["/analysis_run", '{"id":5}'],
    ] as const) {
      const response = await post(p, body);
      await response.body.dump();
      assert.equal(response.statusCode, 400, `${p} ${body}`);
      assert.ok(response.headers["sl-violations"], "Prism names the violation");
    }
  });

  await t.test(
    "createProject: WEB_APP defaults, and an API target with team, FULL scan and description",
    async () => {
      const web = await during(() =>
        scanner.createProject({ name: "Café shop", url: "https://shop.example.com" }),
      );
      assert.deepEqual(web.result, { id: "target_id", name: "Café shop", url: "https://shop.example.com" });
      assert.deepEqual(statuses(web.sent), ["POST /targets 201"]);
      const api = await during(() =>
        scanner.createProject({
          name: "orders-api",
          url: "http://api.example.com:8080/v2",
          options: {
            target_type: "API",
            scan_type: "FULL",
            team: "1",
            api_spec_url: "https://api.example.com/openapi.json",
            description: "Orders API",
          },
        }),
      );
      assert.deepEqual(statuses(api.sent), ["POST /targets 201"]);
    },
  );

  await t.test(
    "startScan, getScanStatus, stopScan (STOP_SAVE and STOP_DELETE), reports, deleteProject",
    async () => {
      const start = await during(() => scanner.startScan(TARGET));
      // Prism's placeholder AnalysisRun has analysis_run_id "string".
      assert.deepEqual(start.result, { scanId: "string", alreadyRunning: false });
      assert.deepEqual(statuses(start.sent), ["POST /analysis_run 200"]);

      const status = await scanner.getScanStatus(REF);
      assert.deepEqual([status.state, status.rawCode], ["running", "RUNNING"]);

      const stop = await during(() => scanner.stopScan(REF));
      assert.deepEqual(statuses(stop.sent), [
        `GET /targets/${TARGET}/analysis_runs/${RUN} 200`,
        `POST /analysis_run/${TARGET}/stop 200`,
      ]);
      assert.equal(stop.sent[1]?.path, `/analysis_run/${TARGET}/stop?action=STOP_SAVE`);
      const stop2 = await during(() => stopDelete.stopScan(REF));
      assert.equal(stop2.sent[1]?.path, `/analysis_run/${TARGET}/stop?action=STOP_DELETE`);
      assert.equal(stop2.sent[1]?.status, 200);

      for (const [format, type] of [
        ["pdf", "application/pdf"],
        ["csv", "text/csv"],
        ["xml", "application/xml"],
      ] as const) {
        const report = await scanner.getReport(REF, format);
        assert.equal(report.format, format);
        assert.equal(report.contentType, type, format);
        assert.ok((await readReport(report)).bytes.byteLength > 0);
      }

      const del = await during(() => scanner.deleteProject(TARGET));
      assert.deepEqual(statuses(del.sent), [`DELETE /targets/${TARGET} 204`]);
    },
  );

  await t.test("a start refused with the documented bare 400 attaches to the running analysis", async () => {
    recorder.prefer(only("POST", /^\/analysis_run$/, "code=400"));
    try {
      const attached = await during(() => scanner.startScan(TARGET));
      assert.deepEqual(attached.result, { scanId: "string", alreadyRunning: true });
      assert.deepEqual(statuses(attached.sent), [
        "POST /analysis_run 400",
        `GET /targets/${TARGET}/analysis_runs 200`,
      ]);
      assert.equal(attached.sent[1]?.path, `/targets/${TARGET}/analysis_runs?page=0&limit=200`);
    } finally {
      recorder.prefer(() => undefined);
    }
  });

  await t.test("every documented error response is parsed into a typed AppError", async () => {
    const runs = new RegExp(`^/targets/${TARGET}/analysis_runs\\?`);
    const run = new RegExp(`^/targets/${TARGET}/analysis_runs/${RUN}$`);
    const stopPath = new RegExp(`^/analysis_run/${TARGET}/stop\\?`);
    const report = /\/report\/pdf$/;
    const cases: Array<[string, () => Promise<unknown>, string, RegExp, number, ErrorKind]> = [
      [
        "createTarget",
        () => scanner.createProject({ name: "n", url: "https://a.example.com" }),
        "POST",
        /^\/targets$/,
        400,
        "validation",
      ],
      [
        "createTarget",
        () => scanner.createProject({ name: "n", url: "https://a.example.com" }),
        "POST",
        /^\/targets$/,
        401,
        "auth",
      ],
      [
        "createTarget",
        () => scanner.createProject({ name: "n", url: "https://a.example.com" }),
        "POST",
        /^\/targets$/,
        501,
        "unavailable",
      ],
      ["deleteTarget", () => scanner.deleteProject(TARGET), "DELETE", /^\/targets\//, 401, "auth"],
      ["deleteTarget", () => scanner.deleteProject(TARGET), "DELETE", /^\/targets\//, 404, "not_found"],
      ["deleteTarget", () => scanner.deleteProject(TARGET), "DELETE", /^\/targets\//, 500, "unavailable"],
      ["startAnalysis", () => scanner.startScan(TARGET), "POST", /^\/analysis_run$/, 500, "unavailable"],
      ["getAnalysisRun", () => scanner.getScanStatus(REF), "GET", run, 400, "validation"],
      ["getAnalysisRun", () => scanner.getScanStatus(REF), "GET", run, 401, "auth"],
      ["getAnalysisRun", () => scanner.getScanStatus(REF), "GET", run, 403, "permission"],
      ["getAnalysisRun", () => scanner.getScanStatus(REF), "GET", run, 404, "not_found"],
      ["getAnalysisRun", () => scanner.getScanStatus(REF), "GET", run, 500, "unavailable"],
      ["stopAnalysis", () => scanner.stopScan(REF), "POST", stopPath, 400, "validation"],
      ["stopAnalysis", () => scanner.stopScan(REF), "POST", stopPath, 401, "auth"],
      ["stopAnalysis", () => scanner.stopScan(REF), "POST", stopPath, 403, "permission"],
      ["stopAnalysis", () => scanner.stopScan(REF), "POST", stopPath, 404, "not_found"],
      ["stopAnalysis", () => scanner.stopScan(REF), "POST", stopPath, 500, "unavailable"],
      ["getReport", () => scanner.getReport(REF, "pdf"), "GET", report, 401, "auth"],
      ["getReport", () => scanner.getReport(REF, "pdf"), "GET", report, 404, "not_found"],
      ["getReport", () => scanner.getReport(REF, "pdf"), "GET", report, 500, "unavailable"],
    ];
    // The run list is reached through a start refused with 400.
    for (const [code, kind] of [
      [400, "validation"],
      [401, "auth"],
      [403, "permission"],
      [404, "not_found"],
      [500, "unavailable"],
    ] as const) {
      cases.push(["listAnalysisRuns", () => scanner.startScan(TARGET), "GET", runs, code, kind]);
    }
    for (const [operation, call, method, pattern, code, kind] of cases) {
      const rule = only(method, pattern, `code=${code}`);
      recorder.prefer((m, p) =>
        operation === "listAnalysisRuns" && m === "POST" && p === "/analysis_run" ? "code=400" : rule(m, p),
      );
      const from = exchanges.length;
      try {
        const error = await rejectsWith(call(), kind);
        assert.doesNotMatch(error.userMessage, /could not read/, `${operation} ${code}: the body was parsed`);
        const hit = exchanges.slice(from).filter((e) => e.prefer === `code=${code}` && pattern.test(e.path));
        assert.ok(hit.length >= 1, `${operation} ${code}: the documented response was served`);
        assert.ok(
          hit.every((e) => e.status === code),
          `${operation} ${code}: ${hit.map((e) => e.status)}`,
        );
        if (code === 400 && operation === "createTarget") {
          assert.match(error.userMessage, /ILLEGAL_ARGUMENT: error detailed description/);
        }
      } finally {
        recorder.prefer(() => undefined);
      }
    }
    // 500 on GET/DELETE is retried (at most 5 times); on POST it is not repeated.
    assert.ok(delays.length > 0);
  });

  await t.test("randomly generated AnalysisRun shapes (Prefer: dynamic=true) are read", async () => {
    recorder.prefer(only("GET", /\/analysis_runs\/[^/]+$/, "dynamic=true"));
    try {
      const states = new Set<string>();
      for (let i = 0; i < 25; i += 1) {
        const status = await scanner.getScanStatus(REF);
        assert.ok(["running", "finished", "stopped", "failed"].includes(status.state), status.state);
        states.add(status.state);
      }
      assert.ok(states.size >= 1);
    } finally {
      recorder.prefer(() => undefined);
    }
  });

  await t.test("every request was valid against the spec, correctly signed, and plain calls got 2xx", () => {
    assert.ok(exchanges.length > 40, `${exchanges.length} exchanges`);
    for (const exchange of exchanges) {
      const what = `${exchange.method} ${exchange.path} (prefer ${exchange.prefer ?? "-"}) → ${exchange.status}`;
      // The sanity check above used the agent directly, not the adapter: it is not recorded here.
      assert.equal(
        exchange.violations,
        undefined,
        `${what}: ${exchange.violations}\n${prism.output().slice(-2000)}`,
      );
      assert.equal(exchange.badSignature, undefined, `${what}: signature ${exchange.badSignature}`);
      if (exchange.prefer === undefined || exchange.prefer === "dynamic=true") {
        assert.ok((exchange.status ?? 0) >= 200 && (exchange.status ?? 0) < 300, what);
      }
    }
    const operations = new Set(
      exchanges.map(
        (e) => `${e.method} ${e.path.replace(/\?.*/, "").replace(TARGET, "{t}").replace(RUN, "{r}")}`,
      ),
    );
    for (const expected of [
      "POST /targets",
      "DELETE /targets/{t}",
      "POST /analysis_run",
      "POST /analysis_run/{t}/stop",
      "GET /targets/{t}/analysis_runs",
      "GET /targets/{t}/analysis_runs/{r}",
      "GET /targets/{t}/analysis_runs/{r}/report/pdf",
      "GET /targets/{t}/analysis_runs/{r}/report/csv",
      "GET /targets/{t}/analysis_runs/{r}/report/junit",
    ]) {
      assert.ok(operations.has(expected), `${expected} was exercised`);
    }
    assert.ok(!log.text().includes(keys.secretHex), "the secret never reaches the logs");
  });
});
