import { AppError } from "../../domain/errors.js";
import type {
  Logger,
  Project,
  Report,
  ReportFormat,
  ScanRef,
  ScanStatus,
  StartScanResult,
} from "../../domain/ports.js";
import type { HttpResponse, HttpTransport, OutgoingRequest, RetryMode } from "../../http/transport.js";
import type { ScannerBackend } from "./client.js";
import { checkId } from "./client.js";
import { type CrashtestContext, readStartResponse, readStatusResponse, streamReport } from "./responses.js";
import { describeRoute, fillPath, WEBHOOK_ROUTES, type WebhookOperation } from "./routes.js";
import type { WebhookProject } from "./webhook-projects.js";

/**
 * Webhook mode (https://crashtest-security.com/using-webhooks/): for teams that only hold a project's webhook secret. The secret is a
 * password that sits in the URL path, so it lives only inside this module: project IDs are
 * `webhook:<name>`, and logs, errors and Slack values only ever see the name.
 */

export const WEBHOOK_ID_PREFIX = "webhook:";

export function webhookProjectId(name: string): string {
  return `${WEBHOOK_ID_PREFIX}${name}`;
}

export function isWebhookProjectId(projectId: string): boolean {
  return projectId.startsWith(WEBHOOK_ID_PREFIX);
}

export interface WebhookBackendOptions {
  transport: HttpTransport;
  projects: readonly WebhookProject[];
  logger: Logger;
  /** REPORT_MAX_BYTES. */
  maxReportBytes: number;
}

export class CrashtestWebhookBackend implements ScannerBackend {
  readonly reportFormats: readonly ReportFormat[] = ["xml"];
  /** The configured projects as the bot sees them: opaque IDs, no secrets. */
  readonly projects: readonly Project[];
  private readonly secrets: ReadonlyMap<string, WebhookProject>;
  private readonly transport: HttpTransport;
  private readonly logger: Logger;
  private readonly maxReportBytes: number;

  constructor(options: WebhookBackendOptions) {
    this.maxReportBytes = options.maxReportBytes;
    this.transport = options.transport;
    this.logger = options.logger;
    this.secrets = new Map(options.projects.map((project) => [webhookProjectId(project.name), project]));
    this.projects = options.projects.map((project) => ({
      id: webhookProjectId(project.name),
      name: project.name,
      url: project.url ?? "",
    }));
  }

  async createProject(): Promise<Project> {
    throw unsupported(
      "Creating a project is not supported with a webhook-only project; create it in Crashtest and add its webhook secret to CRASHTEST_WEBHOOKS.",
    );
  }

  async getProject(projectId: string): Promise<Project> {
    this.project(projectId);
    const known = this.projects.find((project) => project.id === projectId);
    if (!known) throw new AppError("not_found", "No webhook project with that ID is configured.");
    return known;
  }

  async deleteProject(projectId: string): Promise<void> {
    this.project(projectId);
    throw unsupported("Deleting a project is not supported with a webhook-only project.");
  }

  async startScan(projectId: string): Promise<StartScanResult> {
    const project = this.project(projectId);
    const context = this.context("webhookStart", project, `project ${project.name}`, "unsent-only");
    const response = await this.call("webhookStart", project, {});
    const result = readStartResponse(this.transport, response, context);
    this.logger.info("crashtest webhook scan start", { project: project.name, ...result });
    return result;
  }

  async stopScan(ref: ScanRef): Promise<void> {
    this.project(ref.projectId);
    throw unsupported(
      "Stopping a scan is not supported with a webhook-only project; stop it in the Crashtest dashboard.",
    );
  }

  async getScanStatus(ref: ScanRef): Promise<ScanStatus> {
    const project = this.project(ref.projectId);
    const scanId = checkId("scan", ref.scanId);
    const context = this.context(
      "webhookStatus",
      project,
      `scan ${scanId} of project ${project.name}`,
      "idempotent",
    );
    const response = await this.call("webhookStatus", project, { scanId });
    return readStatusResponse(this.transport, response, context, scanId);
  }

  async getReport(ref: ScanRef, format: ReportFormat): Promise<Report> {
    const project = this.project(ref.projectId);
    if (format !== "xml") {
      throw unsupported(
        `${format.toUpperCase()} reports are not supported with a webhook-only project; the XML (JUnit) report is available.`,
      );
    }
    const scanId = checkId("scan", ref.scanId);
    const subject = `scan ${scanId} of project ${project.name}`;
    const context = this.context("webhookReport", project, `the XML report of ${subject}`, "idempotent");
    return streamReport(this.transport, this.request("webhookReport", project, { scanId }), context, {
      format,
      scanId,
      subject,
      maxBytes: this.maxReportBytes,
      uiUrl: undefined,
    });
  }

  private project(projectId: string): WebhookProject {
    const project = this.secrets.get(projectId);
    if (!project) {
      throw new AppError("not_found", "No webhook project with that ID is configured in CRASHTEST_WEBHOOKS.");
    }
    return project;
  }

  private context(
    operation: WebhookOperation,
    project: WebhookProject,
    subject: string,
    retry: RetryMode,
  ): CrashtestContext {
    return {
      operation,
      subject,
      credentialHint: `check the webhook secret of project "${project.name}" in CRASHTEST_WEBHOOKS`,
      retry,
    };
  }

  private call(
    operation: WebhookOperation,
    project: WebhookProject,
    ids: Record<string, string>,
  ): Promise<HttpResponse> {
    return this.transport.send(this.request(operation, project, ids));
  }

  private request(
    operation: WebhookOperation,
    project: WebhookProject,
    ids: Record<string, string>,
  ): OutgoingRequest {
    const route = WEBHOOK_ROUTES[operation];
    return {
      operation,
      route: describeRoute(route),
      method: route.method,
      path: fillPath(route.path, { secret: project.secret, ...ids }),
      // No body, and an explicit zero length: the vendor's clients needed it (github.com/crashtest-security/github-action).
      headers: route.method === "POST" ? { "content-length": "0" } : { accept: "application/json, */*" },
      retry: route.method === "POST" ? "unsent-only" : "idempotent",
    };
  }
}

function unsupported(message: string): AppError {
  return new AppError("unsupported", message);
}
