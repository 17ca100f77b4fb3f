import * as z from "zod";
import { AppError } from "../../domain/errors.js";
import type {
  Logger,
  Project,
  ProjectSpec,
  Report,
  ReportFormat,
  Scanner,
  ScanRef,
  ScanStatus,
  StartScanResult,
} from "../../domain/ports.js";
import { readJson } from "../../http/json.js";
import { type HttpTransport, isSuccess, type OutgoingRequest, type RetryMode } from "../../http/transport.js";
import {
  type CrashtestContext,
  type CrashtestReportFormat,
  crashtestFailure,
  isCrashtestFormat,
  readStartResponse,
  readStatusResponse,
  streamReport,
} from "./responses.js";
import { describeRoute, fillPath, type Operation, type RouteTable } from "./routes.js";

/** The operations of one Crashtest surface; the factory in scanners/index.ts adds name and close. */
export type ScannerBackend = Omit<Scanner, "name" | "close">;

export interface RestBackendOptions {
  transport: HttpTransport;
  apiKey: string;
  teamId: string;
  routes: RouteTable;
  logger: Logger;
  /** REPORT_MAX_BYTES. */
  maxReportBytes: number;
  /** The Crashtest web app (https://crashtest.cloud), linked when a report is too large; none for the simulator. */
  uiUrl: string | undefined;
}

// IDs end up in paths; percent-encoding alone would still let ".." through.
const ID = /^[A-Za-z0-9_-]{1,64}$/;

export function checkId(kind: "project" | "scan", value: string): string {
  if (!ID.test(value)) throw new AppError("validation", `That is not a valid Crashtest ${kind} ID.`);
  return value;
}

const ProjectId = z.union([z.number().int(), z.string().regex(ID)]).transform((value) => String(value));

// The create response is undocumented: accept the usual spellings of the new ID.
const CreateBody = z.looseObject({
  data: z.looseObject({
    id: ProjectId.optional(),
    project_id: ProjectId.optional(),
    projectId: ProjectId.optional(),
    project: z.looseObject({ id: ProjectId }).optional(),
    name: z.string().optional(),
    url: z.string().optional(),
  }),
});

/** REST report path segments (https://docs.veracode.com/r/Crashtest_Security_API offers PDF, XML and JSON): the JUnit report is the one the API calls "xml". */
const REST_FORMAT: Record<CrashtestReportFormat, string> = { json: "json", pdf: "pdf", xml: "xml" };

/** Crashtest REST API adapter (https://docs.veracode.com/r/Crashtest_Security_API), authenticated with the user's API key in a header. */
export class CrashtestRestBackend implements ScannerBackend {
  readonly reportFormats: readonly ReportFormat[] = ["json", "pdf", "xml"];
  private readonly transport: HttpTransport;
  private readonly apiKey: string;
  private readonly teamId: string;
  private readonly routes: RouteTable;
  private readonly logger: Logger;
  private readonly maxReportBytes: number;
  private readonly uiUrl: string | undefined;

  constructor(options: RestBackendOptions) {
    this.maxReportBytes = options.maxReportBytes;
    this.uiUrl = options.uiUrl;
    this.transport = options.transport;
    this.apiKey = options.apiKey;
    this.teamId = options.teamId;
    this.routes = options.routes;
    this.logger = options.logger;
  }

  async createProject(spec: ProjectSpec): Promise<Project> {
    // The body is undocumented: name and URL plus any backend options, marked unverified in README.
    const body = JSON.stringify({ ...spec.options, name: spec.name, url: spec.url });
    const response = await this.call("createProject", {}, `project "${spec.name}"`, "unsent-only", body);
    if (!isSuccess(response.raw)) throw crashtestFailure(this.transport, response.raw, response.context);
    const { data } = readJson(this.transport, "createProject", response.raw, CreateBody);
    const id = data.id ?? data.project_id ?? data.projectId ?? data.project?.id;
    if (id === undefined) throw this.transport.unreadable("createProject", "no project ID in data");
    this.logger.info("crashtest project created", { projectId: id });
    return { id, name: data.name ?? spec.name, url: data.url ?? spec.url };
  }

  async getProject(projectId: string): Promise<Project> {
    const { raw, context } = await this.call(
      "getProject",
      { projectId: checkId("project", projectId) },
      `project ${projectId}`,
      "idempotent",
    );
    if (!isSuccess(raw)) throw crashtestFailure(this.transport, raw, context);
    // Undocumented like the create response: read it with the same lenient schema.
    const { data } = readJson(this.transport, "getProject", raw, CreateBody);
    return { id: projectId, name: data.name ?? "", url: data.url ?? "" };
  }

  async deleteProject(projectId: string): Promise<void> {
    const { raw, context } = await this.call(
      "deleteProject",
      { projectId: checkId("project", projectId) },
      `project ${projectId}`,
      "idempotent",
    );
    if (!isSuccess(raw)) throw crashtestFailure(this.transport, raw, context);
  }

  async startScan(projectId: string): Promise<StartScanResult> {
    const { raw, context } = await this.call(
      "startScan",
      { projectId: checkId("project", projectId) },
      `project ${projectId}`,
      "unsent-only",
    );
    return readStartResponse(this.transport, raw, context);
  }

  async stopScan(ref: ScanRef): Promise<void> {
    const { raw, context } = await this.call("stopScan", this.ids(ref), this.subject(ref), "idempotent");
    if (!isSuccess(raw)) throw crashtestFailure(this.transport, raw, context);
  }

  async getScanStatus(ref: ScanRef): Promise<ScanStatus> {
    const { raw, context } = await this.call("scanStatus", this.ids(ref), this.subject(ref), "idempotent");
    return readStatusResponse(this.transport, raw, context, ref.scanId);
  }

  async getReport(ref: ScanRef, format: ReportFormat): Promise<Report> {
    if (!isCrashtestFormat(format)) {
      throw new AppError("unsupported", `Crashtest has no ${format} report; use one of: json, pdf, xml.`);
    }
    const { request, context } = this.request(
      "report",
      { ...this.ids(ref), format: REST_FORMAT[format] },
      `the ${format} report of ${this.subject(ref)}`,
      "idempotent",
    );
    return streamReport(this.transport, request, context, {
      format,
      scanId: ref.scanId,
      subject: this.subject(ref),
      maxBytes: this.maxReportBytes,
      uiUrl:
        this.uiUrl === undefined ? undefined : `${this.uiUrl}/projects/${encodeURIComponent(ref.projectId)}`,
    });
  }

  private ids(ref: ScanRef): Record<string, string> {
    return { projectId: checkId("project", ref.projectId), scanId: checkId("scan", ref.scanId) };
  }

  private subject(ref: ScanRef): string {
    return `scan ${ref.scanId} of project ${ref.projectId}`;
  }

  private async call(
    operation: Operation,
    ids: Record<string, string>,
    subject: string,
    retry: RetryMode,
    body?: string,
  ) {
    const { request, context } = this.request(operation, ids, subject, retry, body);
    return { raw: await this.transport.send(request), context };
  }

  private request(
    operation: Operation,
    ids: Record<string, string>,
    subject: string,
    retry: RetryMode,
    body?: string,
  ): { request: OutgoingRequest; context: CrashtestContext } {
    const route = this.routes[operation];
    const headers: Record<string, string> = {
      // Header, never the query string: query strings end up in proxy and access logs.
      API_KEY: this.apiKey,
      accept: operation === "report" ? "*/*" : "application/json",
    };
    if (body === undefined && route.method === "POST") headers["content-length"] = "0";
    if (body !== undefined) headers["content-type"] = "application/json";
    const request: OutgoingRequest = {
      operation,
      route: describeRoute(route),
      method: route.method,
      path: fillPath(route.path, { teamId: this.teamId, ...ids }),
      headers,
      ...(body === undefined ? {} : { body }),
      retry,
    };
    const context: CrashtestContext = {
      operation,
      subject,
      credentialHint: `check CRASHTEST_API_KEY (its user needs the Team Admin or Security Engineer role in team ${this.teamId}) and CRASHTEST_TEAM_ID`,
      retry,
    };
    return { request, context };
  }
}
