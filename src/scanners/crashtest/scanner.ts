import { AppError } from "../../domain/errors.js";
import type { Logger, Project, ReportFormat, Scanner } from "../../domain/ports.js";
import { type Dispatcher, HttpTransport, type RetrySettings, type Timeouts } from "../../http/transport.js";
import { DEFAULT_REPORT_MAX_BYTES } from "../reports.js";
import { CrashtestRestBackend, type ScannerBackend } from "./client.js";
import { SERVICE } from "./responses.js";
import { type RouteTable, resolveRoutes } from "./routes.js";
import { CrashtestWebhookBackend, isWebhookProjectId } from "./webhook.js";
import type { WebhookProject } from "./webhook-projects.js";

export const DEFAULT_CRASHTEST_URL = "https://api.crashtest.cloud";
/** The Crashtest web app; a project's page is /projects/<id> (https://crashtest.cloud/projects/123). */
export const CRASHTEST_UI_URL = "https://crashtest.cloud";

export interface CrashtestScannerOptions {
  logger: Logger;
  /** CRASHTEST_BASE_URL; default https://api.crashtest.cloud. Used by both surfaces. */
  baseUrl?: string;
  /** CRASHTEST_API_KEY: enables the REST API. */
  apiKey?: string;
  /** CRASHTEST_TEAM_ID: required with apiKey (REST IDs are team-scoped). */
  teamId?: string;
  /** Parsed CRASHTEST_ROUTES. */
  routes?: Partial<RouteTable>;
  /** Parsed CRASHTEST_WEBHOOKS: projects driven through their webhook only. */
  webhooks?: readonly WebhookProject[];
  /** Base pooled dispatcher; tests inject one, production lets the transport own an Agent. */
  dispatcher?: Dispatcher;
  timeouts?: Partial<Timeouts>;
  retry?: Partial<RetrySettings>;
  /** Backend name for logs and messages; default "crashtest". */
  name?: string;
  /** REPORT_MAX_BYTES; default 100 MB. */
  maxReportBytes?: number;
  /**
   * Where a too-large report can be downloaded instead; default the Crashtest web app when baseUrl
   * is the default, none otherwise (a simulator or proxy has no web app to link).
   */
  uiUrl?: string;
}

export interface CrashtestScanner extends Scanner {
  /** Webhook projects from configuration, to register with the bot (IDs `webhook:<name>`). */
  readonly webhookProjects: readonly Project[];
}

const TEAM_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The Crashtest scanner: REST API when an API key is configured, webhook mode for the projects in
 * CRASHTEST_WEBHOOKS, or both (calls are routed by project ID). One transport, one pool.
 */
export function createCrashtestScanner(options: CrashtestScannerOptions): CrashtestScanner {
  const webhooks = options.webhooks ?? [];
  if (options.apiKey !== undefined && (options.teamId === undefined || !TEAM_ID.test(options.teamId))) {
    throw new AppError(
      "config",
      "CRASHTEST_TEAM_ID must be set to the team's ID when CRASHTEST_API_KEY is set.",
    );
  }
  const name = options.name ?? "crashtest";
  const logger = options.logger.child({ component: "scanner", backend: name });
  const baseUrl = options.baseUrl ?? DEFAULT_CRASHTEST_URL;
  const maxReportBytes = options.maxReportBytes ?? DEFAULT_REPORT_MAX_BYTES;
  const transport = new HttpTransport({
    baseUrl,
    logger,
    service: SERVICE,
    logName: "crashtest",
    ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    ...(options.timeouts === undefined ? {} : { timeouts: options.timeouts }),
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    secrets: [...(options.apiKey === undefined ? [] : [options.apiKey]), ...webhooks.map((w) => w.secret)],
  });
  const rest =
    options.apiKey === undefined
      ? undefined
      : new CrashtestRestBackend({
          transport,
          apiKey: options.apiKey,
          teamId: options.teamId ?? "",
          routes: resolveRoutes(options.routes),
          logger,
          maxReportBytes,
          uiUrl:
            options.uiUrl ??
            (new URL(baseUrl).origin === new URL(DEFAULT_CRASHTEST_URL).origin
              ? CRASHTEST_UI_URL
              : undefined),
        });
  const webhook =
    webhooks.length === 0
      ? undefined
      : new CrashtestWebhookBackend({ transport, projects: webhooks, logger, maxReportBytes });
  const primary = rest ?? webhook;
  if (primary === undefined) {
    void transport.close();
    throw new AppError("config", "Set CRASHTEST_API_KEY (with CRASHTEST_TEAM_ID) or CRASHTEST_WEBHOOKS.");
  }

  const backendFor = (projectId: string): ScannerBackend => {
    const backend = isWebhookProjectId(projectId) ? webhook : rest;
    if (backend) return backend;
    throw new AppError(
      "not_found",
      isWebhookProjectId(projectId)
        ? "No webhook project with that ID is configured in CRASHTEST_WEBHOOKS."
        : "Only webhook projects are configured; set CRASHTEST_API_KEY to use other Crashtest projects.",
    );
  };
  const formats = new Set<ReportFormat>([...(rest?.reportFormats ?? []), ...(webhook?.reportFormats ?? [])]);

  return {
    name,
    reportFormats: [...formats],
    webhookProjects: webhook?.projects ?? [],
    // async, so a routing error is a rejection like every other failure.
    createProject: async (spec) => primary.createProject(spec),
    getProject: async (projectId) => backendFor(projectId).getProject(projectId),
    deleteProject: async (projectId) => backendFor(projectId).deleteProject(projectId),
    startScan: async (projectId) => backendFor(projectId).startScan(projectId),
    stopScan: async (ref) => backendFor(ref.projectId).stopScan(ref),
    getScanStatus: async (ref) => backendFor(ref.projectId).getScanStatus(ref),
    getReport: async (ref, format) => backendFor(ref.projectId).getReport(ref, format),
    close: () => transport.close(),
  };
}
