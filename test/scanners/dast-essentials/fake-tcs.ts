/**
 * A stateful fake of the Veracode DAST Essentials TCS API on 127.0.0.1, served under the real path
 * prefix /dae/api/tcs-api/api/v1. It VERIFIES the HMAC header of every request by recomputing it
 * (test/veracode/fake-veracode.ts's independent implementation of the documented chain), refuses
 * reused nonces, keeps targets and analysis runs, answers RFC 7807 problems like the spec, and plays
 * scripted responses for what the tests need (429, 5xx, problem codes).
 */
import { randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { buildJunitReport, buildPdfReport } from "../../../src/scanners/simulator/reports.js";
import { closeServer, listenLocal, readBody } from "../../support/http.js";
import { expectedSignature } from "../../veracode/fake-veracode.js";

export const TCS_PREFIX = "/dae/api/tcs-api/api/v1";

export interface FakeTarget {
  target_id: string;
  name: string;
  protocol: string;
  url: string;
  target_type: string;
  scan_type: string;
  is_sec_lead_only: boolean;
  teams: string[] | null;
  api_specification_file_url?: string;
  description?: string;
  created_at: string;
  updated_at: string;
}

export interface FakeRun {
  analysis_run_id: string;
  target_id: string;
  scan_number: number;
  /** undefined: the field is left out of the answer (the spec makes it optional). */
  status: string | undefined;
  started_at: string;
  finished_at?: string;
  /** Sent as `estimated_duration` when set (a number, or anything to test bad input). */
  estimated_duration?: unknown;
  stopAction?: string;
  /** Report requests still answered with a *_NOT_READY problem after the run ended. */
  reportNotReady: number;
  reportNotReadyCode: string;
}

/** An analysis profile of a target, with the platform schedule it runs by itself (none: 204). */
export interface FakeProfile {
  analysis_profile_id: string;
  target_id: string;
  name: string;
  schedule?: Record<string, unknown>;
}

export interface Recorded {
  method: string;
  /** Path after the prefix, with query. */
  path: string;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  nonce?: string;
  rejected?: string;
  status?: number;
}

export interface Scripted {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON (problem+json for 400s); strings as they are. */
  body?: unknown;
  /** Only requests this matches use the entry (default: any). */
  when?: (request: Recorded) => boolean;
}

const HEADER = /^VERACODE-HMAC-SHA-256 id=([0-9a-fA-F]+),ts=(\d+),nonce=([0-9a-fA-F]+),sig=([0-9a-f]{64})$/;
const MAX_SKEW_MS = 5 * 60_000;

export function problem(status: number, code: string, detail: string) {
  return {
    type: "urn:problem-type:veracode:dast:bad-request",
    title: status === 400 ? "Bad Request" : "Error",
    status,
    detail: "There are one or more errors in the request",
    instance: "/api/v1/entity",
    errors: [{ code, detail }],
  };
}

export class FakeTcs {
  readonly requests: Recorded[] = [];
  readonly targets = new Map<string, FakeTarget>();
  readonly runs = new Map<string, FakeRun>();
  readonly profiles = new Map<string, FakeProfile>();
  maxTargets = 50;
  private readonly script: Scripted[] = [];
  private readonly seenNonces = new Set<string>();

  private constructor(
    private readonly server: Server,
    /** Origin, e.g. http://127.0.0.1:1234 (what VeracodeAccount.baseUrl points at). */
    readonly url: string,
    private readonly credentials: Map<string, string>,
  ) {}

  /** `credentials`: key ID without prefix → hex secret without prefix. */
  static async start(credentials: Record<string, string>): Promise<FakeTcs> {
    let fake: FakeTcs | undefined;
    const server = createServer((req, res) => {
      fake?.handle(req, res).catch((error: unknown) => {
        res.writeHead(500);
        res.end(String(error));
      });
    });
    const url = await listenLocal(server);
    fake = new FakeTcs(
      server,
      url,
      new Map(Object.entries(credentials).map(([k, v]) => [k.toLowerCase(), v])),
    );
    return fake;
  }

  get apiUrl(): string {
    return `${this.url}${TCS_PREFIX}`;
  }

  enqueue(...entries: Scripted[]): void {
    this.script.push(...entries);
  }

  get rejections(): string[] {
    return this.requests.flatMap((request) => (request.rejected ? [request.rejected] : []));
  }

  /** `METHOD /path-without-query` of each request, for flow assertions. */
  get calls(): string[] {
    return this.requests.map((request) => `${request.method} ${request.path.replace(/\?.*$/, "")}`);
  }

  addTarget(name: string, url = "shop.example.test"): FakeTarget {
    const now = new Date().toISOString();
    const target: FakeTarget = {
      target_id: randomUUID(),
      name,
      protocol: "HTTPS",
      url,
      target_type: "WEB_APP",
      scan_type: "QUICK",
      is_sec_lead_only: true,
      teams: null,
      created_at: now,
      updated_at: now,
    };
    this.targets.set(target.target_id, target);
    return target;
  }

  addRun(targetId: string, status: string | undefined): FakeRun {
    const number = [...this.runs.values()].filter((run) => run.target_id === targetId).length + 1;
    const run: FakeRun = {
      analysis_run_id: randomUUID(),
      target_id: targetId,
      scan_number: number,
      status,
      started_at: new Date().toISOString(),
      reportNotReady: 0,
      reportNotReadyCode: "SCAN_REPORT_NOT_READY",
    };
    this.runs.set(run.analysis_run_id, run);
    return run;
  }

  setStatus(runId: string, status: string | undefined): void {
    const run = this.runs.get(runId);
    if (!run) throw new Error(`no run ${runId}`);
    run.status = status;
    if (status === "FINISHED" || status === "STOPPED" || status === "FAILED") {
      run.finished_at = new Date().toISOString();
    }
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  // ---- request handling ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readBody(req)).toString("utf8");
    const fullPath = req.url ?? "";
    const record: Recorded = {
      method: req.method ?? "",
      path: fullPath.startsWith(TCS_PREFIX) ? fullPath.slice(TCS_PREFIX.length) : fullPath,
      body,
      headers: { ...req.headers },
    };
    this.requests.push(record);
    const send = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      if (payload === undefined) {
        res.writeHead(status, headers);
        res.end();
        return;
      }
      const text =
        typeof payload === "string" || payload instanceof Uint8Array ? payload : JSON.stringify(payload);
      const type =
        typeof payload === "object" && !(payload instanceof Uint8Array)
          ? status >= 400 && status < 500
            ? "application/problem+json"
            : "application/json"
          : "text/plain";
      res.writeHead(status, { "content-type": type, ...headers });
      res.end(text);
    };

    if (!this.verify(req, record)) {
      send(401); // The spec's 401s have no body.
      return;
    }
    if (!fullPath.startsWith(`${TCS_PREFIX}/`)) {
      send(404, problem(404, "RESOURCE_NOT_EXISTS", "no such path"));
      return;
    }
    const index = this.script.findIndex((entry) => entry.when === undefined || entry.when(record));
    if (index !== -1) {
      const [entry] = this.script.splice(index, 1);
      if (entry) {
        send(entry.status, entry.body, entry.headers);
        return;
      }
    }
    this.route(record, send);
  }

  private route(
    record: Recorded,
    send: (status: number, payload?: unknown, headers?: Record<string, string>) => void,
  ) {
    const url = new URL(record.path, "http://fake");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const { method } = record;
    const json = (): Record<string, unknown> | undefined => {
      try {
        const value = JSON.parse(record.body) as unknown;
        return value && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
      } catch {
        return undefined;
      }
    };

    // POST /targets
    if (method === "POST" && parts.length === 1 && parts[0] === "targets") {
      const body = json();
      if (!body) return send(400);
      return this.createTarget(body, send);
    }
    // GET /targets/{id}
    if (method === "GET" && parts.length === 2 && parts[0] === "targets") {
      const target = this.targets.get(parts[1] ?? "");
      if (!target) return send(404, problem(404, "TARGET_NOT_FOUND", `Target ${parts[1]} not found`));
      return send(200, target);
    }
    // DELETE /targets/{id}
    if (method === "DELETE" && parts.length === 2 && parts[0] === "targets") {
      const id = parts[1] ?? "";
      if (!this.targets.delete(id))
        return send(404, problem(404, "TARGET_NOT_FOUND", `Target ${id} not found`));
      for (const [runId, run] of this.runs) if (run.target_id === id) this.runs.delete(runId);
      return send(204);
    }
    // POST /analysis_run
    if (method === "POST" && parts.length === 1 && parts[0] === "analysis_run") {
      const id = json()?.id;
      // "Target ID is invalid, or analysis is in progress": a bare 400 for both (spec).
      if (typeof id !== "string" || !this.targets.has(id)) return send(400);
      if (this.activeRun(id)) return send(400);
      return send(200, this.runBody(this.addRun(id, "RUNNING")));
    }
    // POST /analysis_run/{target_id}/stop?action=
    if (method === "POST" && parts.length === 3 && parts[0] === "analysis_run" && parts[2] === "stop") {
      const id = parts[1] ?? "";
      const action = url.searchParams.get("action");
      if (action !== "STOP_SAVE" && action !== "STOP_DELETE") {
        return send(400, problem(400, "ILLEGAL_ARGUMENT", "action is required"));
      }
      if (!this.targets.has(id)) return send(404, problem(404, "TARGET_NOT_FOUND", `Target ${id} not found`));
      const run = this.activeRun(id);
      if (!run || run.status === "STOPPING") {
        return send(400, problem(400, "INVALID_ANALYSIS_STATE", "No analysis in progress"));
      }
      run.status = "STOPPING";
      run.stopAction = action;
      return send(200);
    }
    // GET /targets/{id}/analysis_runs
    if (method === "GET" && parts.length === 3 && parts[0] === "targets" && parts[2] === "analysis_runs") {
      const id = parts[1] ?? "";
      if (!this.targets.has(id)) return send(404, problem(404, "TARGET_NOT_FOUND", `Target ${id} not found`));
      const page = Number(url.searchParams.get("page") ?? "0");
      const limit = Number(url.searchParams.get("limit") ?? "10");
      if (!Number.isInteger(limit) || limit < 10 || limit > 200 || !Number.isInteger(page) || page < 0) {
        return send(400, problem(400, "INVALID_QUERY_PARAM_VALUE", "page or limit out of range"));
      }
      const all = [...this.runs.values()].filter((run) => run.target_id === id);
      const slice = all.slice(page * limit, (page + 1) * limit);
      return send(200, {
        ...(slice.length === 0
          ? {}
          : { _embedded: { analysis_runs: slice.map((run) => this.runBody(run)) } }),
        _links: [],
        page: {
          number: page,
          size: slice.length,
          total_pages: Math.ceil(all.length / limit),
          total_elements: all.length,
        },
      });
    }
    // GET /targets/{id}/analysis_runs/{run}[/report/{format}]
    if (method === "GET" && parts[0] === "targets" && parts[2] === "analysis_runs" && parts.length >= 4) {
      const run = this.runs.get(parts[3] ?? "");
      if (!this.targets.has(parts[1] ?? "")) {
        return send(404, problem(404, "TARGET_NOT_FOUND", `Target ${parts[1]} not found`));
      }
      if (!run || run.target_id !== parts[1]) {
        return send(404, problem(404, "ANALYSIS_RUN_NOT_FOUND", `Analysis run ${parts[3]} not found`));
      }
      if (parts.length === 4) return send(200, this.runBody(run));
      if (parts.length === 6 && parts[4] === "report") return this.report(run, parts[5] ?? "", send);
    }
    // GET /analysis_profiles?target_id=&limit=
    if (method === "GET" && parts.length === 1 && parts[0] === "analysis_profiles") {
      const limit = Number(url.searchParams.get("limit") ?? "10");
      if (!Number.isInteger(limit) || limit < 10 || limit > 200) {
        return send(400, problem(400, "INVALID_QUERY_PARAM_VALUE", "limit out of range"));
      }
      const target = url.searchParams.get("target_id");
      const all = [...this.profiles.values()].filter((p) => !target || p.target_id === target);
      const listed = all.slice(0, limit).map(({ schedule: _s, ...item }) => item);
      return send(200, {
        _embedded: { analysis_profiles: listed },
        _links: [],
        page: { number: 0, size: listed.length, total_pages: 1, total_elements: all.length },
      });
    }
    // GET /analysis_profiles/{id}/schedule: 204 when the profile has none
    if (
      method === "GET" &&
      parts.length === 3 &&
      parts[0] === "analysis_profiles" &&
      parts[2] === "schedule"
    ) {
      const profile = this.profiles.get(parts[1] ?? "");
      if (!profile) {
        return send(
          404,
          problem(404, "ANALYSIS_PROFILE_NOT_FOUND", `Analysis profile ${parts[1]} not found`),
        );
      }
      if (!profile.schedule) return send(204);
      return send(200, { analysis_profile_id: profile.analysis_profile_id, ...profile.schedule });
    }
    send(404, problem(404, "RESOURCE_NOT_EXISTS", "no such path"));
  }

  private createTarget(
    body: Record<string, unknown>,
    send: (status: number, payload?: unknown, headers?: Record<string, string>) => void,
  ) {
    const required = [
      "name",
      "protocol",
      "url",
      "target_type",
      "scan_type",
      "is_sec_lead_only",
      "authorized_to_scan",
    ];
    const missing = required.filter((key) => body[key] === undefined || body[key] === null);
    if (missing.length > 0) {
      return send(400, problem(400, "MUST_NOT_BE_NULL", `${missing.join(", ")} must not be null`));
    }
    const name = String(body.name);
    const url = String(body.url);
    if ([...this.targets.values()].some((target) => target.name === name)) {
      return send(400, problem(400, "TARGET_NAME_NOT_UNIQUE", `Target name ${name} is not unique`));
    }
    if (this.targets.size >= this.maxTargets) {
      return send(400, problem(400, "TARGET_LIMIT_EXCEEDED", "The organization's target limit is reached"));
    }
    if (/^[a-z]+:\/\//i.test(url))
      return send(400, problem(400, "PROTOCOL_IN_TARGET_URL", "Remove the protocol"));
    if (/^localhost(:|\/|$)/i.test(url)) {
      return send(400, problem(400, "LOCALHOST_NOT_SUPPORTED_TARGET_URL", "localhost is not supported"));
    }
    if (/^(10\.|192\.168\.|127\.|172\.(1[6-9]|2\d|3[01])\.)/.test(url)) {
      return send(400, problem(400, "PRIVATE_IP_NOT_SUPPORTED_TARGET_URL", "Private IPs are not supported"));
    }
    if (body.target_type === "API" && !body.api_specification_file_url) {
      return send(400, problem(400, "API_SPEC_URL_REQUIRED", "api_specification_file_url is required"));
    }
    if (body.is_sec_lead_only === true && body.teams !== null && body.teams !== undefined) {
      return send(400, problem(400, "INVALID_TEAM_COUNT", "teams must be null for sec-lead-only targets"));
    }
    if (body.authorized_to_scan !== true) {
      return send(400, problem(400, "ILLEGAL_ARGUMENT", "authorized_to_scan must be true"));
    }
    const target = this.addTarget(name, url);
    Object.assign(target, {
      protocol: body.protocol,
      target_type: body.target_type,
      scan_type: body.scan_type,
      is_sec_lead_only: body.is_sec_lead_only,
      teams: body.teams ?? [],
      ...(typeof body.api_specification_file_url === "string"
        ? { api_specification_file_url: body.api_specification_file_url }
        : {}),
      ...(typeof body.description === "string" ? { description: body.description } : {}),
    });
    send(201, target, { location: `${this.apiUrl}/targets/${target.target_id}` });
  }

  private report(
    run: FakeRun,
    format: string,
    send: (status: number, payload?: unknown, headers?: Record<string, string>) => void,
  ) {
    if (run.status !== "FINISHED" && run.status !== "STOPPED") {
      return send(400, problem(400, "SCAN_REPORT_NOT_READY", "The analysis has not finished"));
    }
    if (run.reportNotReady > 0) {
      run.reportNotReady -= 1;
      return send(400, problem(400, run.reportNotReadyCode, "Report data is being prepared"));
    }
    const target = this.targets.get(run.target_id);
    const subject = {
      projectName: target?.name ?? "target",
      targetUrl: `https://${target?.url ?? "example.test"}`,
      scanId: run.analysis_run_id,
    };
    if (format === "junit")
      return send(200, buildJunitReport(subject), { "content-type": "application/xml" });
    if (format === "pdf") return send(200, buildPdfReport(subject), { "content-type": "application/pdf" });
    if (format === "csv") {
      return send(200, "severity,title\nhigh,SQL Injection\n", { "content-type": "text/csv" });
    }
    send(404, problem(404, "RESOURCE_NOT_EXISTS", `unknown format ${format}`));
  }

  private activeRun(targetId: string): FakeRun | undefined {
    return [...this.runs.values()].find(
      (run) => run.target_id === targetId && (run.status === "RUNNING" || run.status === "STOPPING"),
    );
  }

  private runBody(run: FakeRun): Record<string, unknown> {
    const target = this.targets.get(run.target_id);
    return {
      analysis_run_id: run.analysis_run_id,
      target_id: run.target_id,
      scan_number: run.scan_number,
      started_at: run.started_at,
      ...(run.finished_at ? { finished_at: run.finished_at } : {}),
      started_by_name: "API user",
      url: target?.url ?? "",
      target_protocol: target?.protocol ?? "HTTPS",
      scan_type: "QUICK",
      max_duration: 3600,
      max_crawl_duration: 600,
      ...(run.estimated_duration === undefined ? {} : { estimated_duration: run.estimated_duration }),
      ...(run.status === undefined ? {} : { status: run.status }),
    };
  }

  /** Checks the Authorization header against the request as received; records why it failed. */
  private verify(req: IncomingMessage, record: Recorded): boolean {
    const match = HEADER.exec(String(req.headers.authorization ?? ""));
    if (!match) {
      record.rejected = "malformed or missing Authorization header";
      return false;
    }
    const [, id = "", ts = "", nonce = "", sig = ""] = match;
    record.nonce = nonce.toLowerCase();
    const secretHex = this.credentials.get(id.toLowerCase());
    if (!secretHex) {
      record.rejected = `unknown key ID …${id.slice(-4)}`;
      return false;
    }
    if (Math.abs(Date.now() - Number(ts)) > MAX_SKEW_MS) {
      record.rejected = "timestamp outside the allowed skew";
      return false;
    }
    if (this.seenNonces.has(record.nonce)) {
      record.rejected = "nonce reused";
      return false;
    }
    this.seenNonces.add(record.nonce);
    const host = String(req.headers.host ?? "")
      .replace(/:\d+$/, "")
      .toLowerCase();
    const data = `id=${id.toLowerCase()}&host=${host}&url=${req.url ?? ""}&method=${req.method ?? ""}`;
    const expected = Buffer.from(expectedSignature(secretHex, nonce, ts, data), "hex");
    if (!timingSafeEqual(expected, Buffer.from(sig, "hex"))) {
      record.rejected = "signature mismatch";
      return false;
    }
    return true;
  }
}
