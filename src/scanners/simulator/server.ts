import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import * as z from "zod";
import { type Clock, type ScanState, systemClock } from "../../domain/ports.js";
import type { Operation, RouteTable, WebhookOperation } from "../crashtest/routes.js";
import { buildJsonReport, buildJunitReport, buildPdfReport, type ReportSubject } from "./reports.js";
import {
  error,
  isRestOperation,
  json,
  type Reply,
  routeMatcher,
  type SimOperation,
  send,
} from "./routing.js";
import {
  openSimState,
  type ScanOutcome,
  type SimProject,
  type SimScan,
  type SimulatorStateStore,
  type SimulatorTiming,
} from "./state.js";

export type { SimOperation } from "./routing.js";
export type { ScanOutcome, SimulatorState, SimulatorStateStore, SimulatorTiming } from "./state.js";

/**
 * A stateful stand-in for api.crashtest.cloud on loopback: the REST route table (defaults or the
 * same overrides the client uses) and the webhook paths, with the real envelopes. Scans move
 * queued -> running -> outcome on a clock tests can advance; faults can be injected per route; every
 * request is recorded. Tests, the local console and SCANNER=simulator all use it.
 *
 * Invented where Crashtest is undocumented: terminal status codes 102 finished, 103 stopped,
 * 104 failed (with texts like the UI's), the create/stop/delete envelopes and the HTTP statuses of
 * "already running" (409) and of errors.
 */

export type Fault =
  /** Answer with this status and a JSON error envelope. */
  | { kind: "status"; status: number }
  /** 429 with this Retry-After header value (seconds or an HTTP date). */
  | { kind: "rateLimit"; retryAfter: string }
  /** Never answer; the client's timeout has to fire. */
  | { kind: "hang" }
  /** Drop the connection without an answer. */
  | { kind: "reset" }
  /** 200 with a truncated JSON body. */
  | { kind: "malformed" };

export interface RecordedRequest {
  method: string;
  /** As received, query included; webhook paths hold the secret (this log is for tests only). */
  path: string;
  operation?: SimOperation;
  /** Lower-cased names; the API key's value is replaced, so tests can see it was sent. */
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface SimulatorOptions {
  /** Default: random. */
  apiKey?: string;
  /** Default: "1". */
  teamId?: string;
  routes?: Partial<RouteTable>;
  timing?: Partial<SimulatorTiming>;
  /** Default: the system clock; the handle's `clock.advance` moves it on either way. */
  clock?: Clock;
  /** Oldest entries are dropped beyond this (a demo runs for hours). Default 10 000. */
  maxRecorded?: number;
  /**
   * Where projects, scans and ID counters survive a restart (the bot's store keeps the IDs it was given,
   * so a fresh simulator would hand out 101 and 390 again). Without it the simulator forgets on close.
   */
  state?: SimulatorStateStore;
}

export interface SimulatorHandle {
  url: string;
  apiKey: string;
  teamId: string;
  clock: { now(): number; advance(ms: number): void };
  faults: {
    /** The next `times` requests for the operation get the fault (default once). */
    inject(operation: SimOperation, fault: Fault, times?: number): void;
    clear(): void;
  };
  requests: RecordedRequest[];
  /** Adds a project directly (as if created in the UI); give a secret to enable its webhook. */
  addProject(project: { name: string; url: string; webhookSecret?: string }): string;
  /** The project of that name, if any (e.g. a webhook project saved by an earlier run). */
  findProject(name: string): { id: string; name: string; url: string; webhookSecret?: string } | undefined;
  /** Ends a queued or running scan as failed. */
  failScan(scanId: string): void;
  /** Outcome of scans started from now on, once they have run their time. */
  setOutcome(outcome: ScanOutcome): void;
  /** Stops serving; waits for the last state save. */
  close(): Promise<void>;
}

const STATUS: Record<ScanState, { code: number; text: string }> = {
  queued: { code: 100, text: "Queued" },
  running: { code: 101, text: "Running" },
  finished: { code: 102, text: "Finished" },
  stopped: { code: 103, text: "Stopped" },
  failed: { code: 104, text: "Error Occurred" },
};

const CreateProjectBody = z.looseObject({
  name: z.string().trim().min(1).max(255),
  url: z.url({ protocol: /^https?$/ }),
});

export async function startSimulator(options: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const apiKey = options.apiKey ?? `sim-${randomBytes(16).toString("hex")}`;
  const teamId = options.teamId ?? "1";
  const timing: SimulatorTiming = { queueSeconds: 5, runSeconds: 30, outcome: "finished", ...options.timing };
  const baseClock = options.clock ?? systemClock;
  const maxRecorded = options.maxRecorded ?? 10_000;
  let offset = 0;
  const now = () => baseClock.now() + offset;
  const match = routeMatcher(options.routes);
  const faults = new Map<SimOperation, Array<{ fault: Fault; left: number }>>();
  const requests: RecordedRequest[] = [];
  const { projects, scans, persist, changed, addProject, stateOf, isActive, activeScan, startScan } =
    await openSimState(timing, now, options.state);

  const statusReply = (scan: SimScan): Reply => {
    const status = STATUS[stateOf(scan)];
    return json(200, {
      message: "scan_status_retrieved",
      data: { status: { status_code: status.code, status_description: status.text } },
    });
  };

  const reportReply = (scan: SimScan, format: string): Reply => {
    if (isActive(scan)) return error(409, "Scan is not finished yet");
    const project = projects.get(scan.projectId);
    const subject: ReportSubject = {
      projectName: project?.name ?? "deleted project",
      targetUrl: project?.url ?? "https://example.invalid",
      scanId: scan.id,
    };
    if (format === "json") {
      return { status: 200, body: buildJsonReport(subject, new Date(now())), type: "application/json" };
    }
    if (format === "pdf") return { status: 200, body: buildPdfReport(subject), type: "application/pdf" };
    if (format === "xml" || format === "junit") {
      return { status: 200, body: buildJunitReport(subject), type: "application/xml; charset=utf-8" };
    }
    return error(404, "Unknown report format");
  };

  const scanOf = (project: SimProject, scanId: string | undefined): SimScan | undefined => {
    const scan = scanId === undefined ? undefined : scans.get(scanId);
    return scan?.projectId === project.id ? scan : undefined;
  };

  const handleRest = (
    operation: Operation,
    params: Record<string, string>,
    req: IncomingMessage,
    body: string,
  ): Reply => {
    if (req.headers.api_key !== apiKey) return error(401, "Unauthorized");
    if (params.teamId !== undefined && params.teamId !== teamId) return error(404, "Team not found");
    if (operation === "createProject") {
      let input: unknown;
      try {
        input = JSON.parse(body);
      } catch {
        return error(400, "Malformed JSON body");
      }
      const parsed = CreateProjectBody.safeParse(input);
      if (!parsed.success) return json(422, { message: "The given data was invalid.", status_code: 422 });
      if ([...projects.values()].some((p) => p.name === parsed.data.name)) {
        return error(409, "A project with this name already exists");
      }
      const id = addProject({ name: parsed.data.name, url: parsed.data.url });
      return json(201, {
        message: "project_created",
        data: { id: Number(id), name: parsed.data.name, url: parsed.data.url },
      });
    }
    const project = params.projectId === undefined ? undefined : projects.get(params.projectId);
    if (!project) return error(404, "Project not found");
    switch (operation) {
      case "getProject":
        return json(200, {
          message: "project_retrieved",
          data: { id: Number(project.id), name: project.name, url: project.url },
        });
      case "deleteProject":
        projects.delete(project.id);
        changed();
        return json(200, { message: "project_deleted", data: {} });
      case "startScan": {
        const running = activeScan(project.id);
        // A start while running "returns the ID of the running scan" (https://docs.veracode.com/r/Crashtest_Security_API).
        if (running) {
          return json(409, { message: "Scan is already running", data: { scan_id: Number(running.id) } });
        }
        return json(200, { message: "scan_started", data: { scan_id: Number(startScan(project.id).id) } });
      }
      case "stopScan": {
        const scan = scanOf(project, params.scanId);
        if (!scan) return error(404, "Scan not found");
        if (!isActive(scan)) return error(409, "Scan is not running");
        scan.ended = "stopped";
        changed();
        return json(200, { message: "scan_stopped", data: {} });
      }
      case "scanStatus": {
        const scan = scanOf(project, params.scanId);
        return scan ? statusReply(scan) : error(404, "Scan not found");
      }
      case "report": {
        const scan = scanOf(project, params.scanId);
        return scan ? reportReply(scan, params.format ?? "") : error(404, "Scan not found");
      }
    }
  };

  const handleWebhook = (
    operation: WebhookOperation,
    params: Record<string, string>,
    body: string,
  ): Reply => {
    const project = [...projects.values()].find(
      (p) => p.webhookSecret !== undefined && p.webhookSecret === params.secret,
    );
    if (!project) return error(404, "Not Found");
    if (operation === "webhookStart") {
      // A real payload would reconfigure the project (https://crashtest-security.com/using-webhooks/); the simulator does not model that.
      if (body !== "") return error(400, "The simulator does not accept webhook payloads");
      // Confirmed wording; no data and no scan ID (github.com/crashtest-security/github-action).
      if (activeScan(project.id)) return json(409, { message: "Scan is already running" });
      return json(200, {
        message: "webhook_scan_started",
        data: { scanId: Number(startScan(project.id).id) },
      });
    }
    const scan = scanOf(project, params.scanId);
    if (!scan) return error(404, "Scan not found");
    return operation === "webhookStatus" ? statusReply(scan) : reportReply(scan, "junit");
  };

  const takeFault = (operation: SimOperation | undefined): Fault | undefined => {
    const queue = operation === undefined ? undefined : faults.get(operation);
    const next = queue?.[0];
    if (!next) return undefined;
    next.left -= 1;
    if (next.left <= 0) queue?.shift();
    return next.fault;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? "GET";
    const rawPath = req.url ?? "/";
    let matched: ReturnType<typeof match>;
    try {
      // Matched with the query string, so an override may put a placeholder there.
      matched = match(method, rawPath);
    } catch {
      matched = undefined;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const headers = { ...req.headers };
    if (headers.api_key !== undefined) headers.api_key = "[REDACTED]";
    requests.push({
      method,
      path: rawPath,
      ...(matched ? { operation: matched.operation } : {}),
      headers,
      body,
    });
    if (requests.length > maxRecorded) requests.splice(0, requests.length - maxRecorded);

    const fault = takeFault(matched?.operation);
    if (fault?.kind === "hang") return;
    if (fault?.kind === "reset") {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "status") return send(res, error(fault.status, "Server Error"));
    if (fault?.kind === "rateLimit") {
      return send(res, { ...error(429, "Too Many Attempts."), headers: { "retry-after": fault.retryAfter } });
    }
    if (fault?.kind === "malformed") {
      return send(res, {
        status: 200,
        body: '{"message":"scan_status_retrieved","data":{"status":',
        type: "application/json",
      });
    }

    if (!matched) return send(res, error(404, "404 Not Found"));
    // Vendor clients had to add Content-Length: 0 to their POSTs (github.com/crashtest-security/github-action); mirror the likely refusal.
    if (method === "POST" && req.headers["content-length"] === undefined) {
      return send(res, error(411, "Length Required"));
    }
    const { operation, params } = matched;
    const reply = isRestOperation(operation)
      ? handleRest(operation, params, req, body)
      : handleWebhook(operation, params, body);
    try {
      await persist();
    } catch {
      return send(res, error(503, "Simulator state could not be saved"));
    }
    send(res, reply);
  };

  // Not an ES import of node:http, which would load node's own undici with its lazy exports (slack/app.ts).
  const server = process.getBuiltinModule("node:http").createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, error(500, "Simulator error"));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    teamId,
    clock: {
      now,
      advance: (ms) => {
        offset += ms;
      },
    },
    faults: {
      inject: (operation, fault, times = 1) => {
        const queue = faults.get(operation) ?? [];
        queue.push({ fault, left: times });
        faults.set(operation, queue);
      },
      clear: () => faults.clear(),
    },
    requests,
    addProject: (project) => {
      const id = addProject(project);
      void persist().catch(() => undefined);
      return id;
    },
    findProject: (name) => {
      const project = [...projects.values()].find((p) => p.name === name);
      return project === undefined ? undefined : { ...project };
    },
    failScan: (scanId) => {
      const scan = scans.get(scanId);
      if (scan && isActive(scan)) {
        scan.ended = "failed";
        changed();
        void persist().catch(() => undefined);
      }
    },
    setOutcome: (outcome) => {
      timing.outcome = outcome;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await persist().catch(() => undefined);
    },
  };
}
