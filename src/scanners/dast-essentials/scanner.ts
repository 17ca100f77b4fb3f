import { AppError } from "../../domain/errors.js";
import type {
  Logger,
  PlatformSchedule,
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
import {
  type Dispatcher,
  type HttpResponse,
  HttpTransport,
  isSuccess,
  type RetrySettings,
  type Timeouts,
} from "../../http/transport.js";
import { signVeracodeRequest, type VeracodeAccount, veracodeAuthorizer } from "../../veracode/index.js";
import { DEFAULT_REPORT_MAX_BYTES, reportTooLarge } from "../reports.js";
import { checkDastId, DAST_REPORT_FORMATS, isDastId, STOP_ACTIONS, type StopAction } from "./api.js";
import { type AnalysisRun, AnalysisRunBody, PagedAnalysisRunsBody, StartBody, TargetBody } from "./bodies.js";
import { type Call, runIds, runSubject, toRequest } from "./calls.js";
import { dastFailure, type FailureContext, problemCodes, readProblem, SERVICE } from "./problems.js";
import { reportCall, reportFormatOf, toReport } from "./reports.js";
import { estimatedDurationMs, isActiveRun, moreActive, runState, runText } from "./runs.js";
import { readPlatformSchedules } from "./schedules.js";
import { dastApiUrl, platformUrl } from "./settings.js";
import {
  buildTargetRequest,
  DEFAULT_TARGET_DEFAULTS,
  idFromLocation,
  type TargetDefaults,
} from "./targets.js";

export interface DastEssentialsScannerOptions {
  logger: Logger;
  /** The Veracode API credentials (HMAC) the bot acts with; the same ones the expiry guard watches. */
  account: VeracodeAccount;
  /**
   * DAST_API_URL: the TCS API base, path included. Default: the account's REST host (its key's
   * region, or VERACODE_API_URL) + /dae/api/tcs-api/api/v1, i.e.
   * https://api.veracode.com/dae/api/tcs-api/api/v1 (US) or https://api.veracode.eu/… (EU).
   */
  baseUrl?: string;
  /** DAST_STOP_ACTION; default STOP_SAVE, which keeps the results found so far. */
  stopAction?: StopAction;
  /** DAST_ESTIMATE_UNIT: the unit of `estimated_duration`; default seconds. */
  estimateUnit?: "seconds" | "minutes";
  /** DAST_TARGET_TYPE, DAST_SCAN_TYPE, DAST_TEAM_ID: defaults of new targets. */
  targetDefaults?: Partial<TargetDefaults>;
  /** Base pooled dispatcher; tests inject one, production lets the transport own an Agent. */
  dispatcher?: Dispatcher;
  timeouts?: Partial<Timeouts>;
  retry?: Partial<RetrySettings>;
  /** Pages of 200 analysis runs read when looking for a target's running analysis; default 10. */
  maxRunPages?: number;
  /** REPORT_MAX_BYTES; default 100 MB. */
  maxReportBytes?: number;
}

export interface DastEssentialsScanner extends Scanner {
  /** The TCS API base URL in use (no secrets), for start-up logs. */
  readonly baseUrl: string;
}

class DastEssentialsAdapter implements DastEssentialsScanner {
  readonly name = "dast-essentials";
  readonly reportFormats: readonly ReportFormat[] = [...DAST_REPORT_FORMATS];
  readonly baseUrl: string;
  private readonly transport: HttpTransport;
  private readonly account: VeracodeAccount;
  private readonly stopAction: StopAction;
  private readonly estimateUnit: "seconds" | "minutes";
  private readonly defaults: TargetDefaults;
  private readonly maxRunPages: number;
  private readonly maxReportBytes: number;
  private readonly logger: Logger;

  constructor(options: DastEssentialsScannerOptions) {
    this.account = options.account;
    this.baseUrl = dastApiUrl(options.account, options.baseUrl);
    this.stopAction = options.stopAction ?? "STOP_SAVE";
    if (!STOP_ACTIONS.includes(this.stopAction)) {
      throw new AppError("config", `DAST_STOP_ACTION must be one of ${STOP_ACTIONS.join(", ")}.`);
    }
    this.estimateUnit = options.estimateUnit ?? "seconds";
    this.defaults = { ...DEFAULT_TARGET_DEFAULTS, ...options.targetDefaults };
    this.maxRunPages = Math.max(1, options.maxRunPages ?? 10);
    this.maxReportBytes = options.maxReportBytes ?? DEFAULT_REPORT_MAX_BYTES;
    this.logger = options.logger.child({ component: "scanner", backend: this.name });
    const account = options.account;
    // Fails at start-up rather than on the first request if the credentials cannot sign.
    signVeracodeRequest({
      apiKeyId: account.apiKeyId,
      apiKeySecret: account.apiKeySecret,
      method: "GET",
      url: `${this.baseUrl}/targets`,
    });
    this.transport = new HttpTransport({
      baseUrl: this.baseUrl,
      logger: this.logger,
      service: SERVICE,
      logName: "dast-essentials",
      authorize: veracodeAuthorizer(account),
      secrets: [account.apiKeySecret, account.apiKeyId],
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
      ...(options.timeouts === undefined ? {} : { timeouts: options.timeouts }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
    });
  }

  async createProject(spec: ProjectSpec): Promise<Project> {
    const body = buildTargetRequest(spec, this.defaults);
    const call: Call = {
      operation: "createTarget",
      route: "POST /targets",
      method: "POST",
      path: "/targets",
      subject: `target "${body.name}"`,
      // Not idempotent: only failures that prove nothing was created are retried.
      retry: "unsent-only",
      body,
      targetName: body.name,
    };
    const response = await this.send(call);
    if (!isSuccess(response)) throw this.failure(response, call);
    const target = readJson(this.transport, "createTarget", response, TargetBody);
    const id = target.target_id ?? idFromLocation(response);
    if (id === undefined) throw this.transport.unreadable("createTarget", "no target_id and no location");
    this.logger.info("dast-essentials target created", {
      targetId: id,
      targetType: body.target_type,
      scanType: body.scan_type,
      secLeadOnly: body.is_sec_lead_only,
    });
    return { id, name: body.name, url: spec.url };
  }

  async getProject(projectId: string): Promise<Project> {
    const targetId = checkDastId("target", projectId);
    const call: Call = {
      operation: "getTarget",
      route: "GET /targets/{target_id}",
      method: "GET",
      path: `/targets/${encodeURIComponent(targetId)}`,
      subject: `target ${targetId}`,
      retry: "idempotent",
    };
    const response = await this.send(call);
    if (!isSuccess(response)) throw this.failure(response, call);
    const target = readJson(this.transport, "getTarget", response, TargetBody);
    return { id: targetId, name: target.name ?? "", url: target.url ?? "" };
  }

  async deleteProject(projectId: string): Promise<void> {
    const targetId = checkDastId("target", projectId);
    const call: Call = {
      operation: "deleteTarget",
      route: "DELETE /targets/{target_id}",
      method: "DELETE",
      path: `/targets/${encodeURIComponent(targetId)}`,
      subject: `target ${targetId}`,
      retry: "idempotent",
    };
    const response = await this.send(call);
    if (!isSuccess(response)) throw this.failure(response, call);
    this.logger.info("dast-essentials target deleted", { targetId });
  }

  async startScan(projectId: string): Promise<StartScanResult> {
    const targetId = checkDastId("target", projectId);
    const call: Call = {
      operation: "startAnalysis",
      route: "POST /analysis_run",
      method: "POST",
      path: "/analysis_run",
      subject: `target ${targetId}`,
      retry: "unsent-only",
      body: { id: targetId },
    };
    const response = await this.send(call);
    if (isSuccess(response)) {
      const run =
        response.bytes.byteLength === 0
          ? null
          : readJson(this.transport, "startAnalysis", response, StartBody);
      if (run && isDastId(run.analysis_run_id)) {
        this.logger.info("dast-essentials analysis started", { targetId, runId: run.analysis_run_id });
        return { scanId: run.analysis_run_id, alreadyRunning: false };
      }
      // The answer is nullable: the run just started is the target's running one.
      const active = await this.findActiveRun(targetId);
      if (active) {
        this.logger.info("dast-essentials analysis started", { targetId, runId: active.analysis_run_id });
        return { scanId: active.analysis_run_id, alreadyRunning: false };
      }
      throw this.transport.unreadable("startAnalysis", "no analysis_run_id and no running analysis");
    }
    if (response.status !== 400) throw this.failure(response, call);
    // "Target ID is invalid, or analysis is in progress" (a bare 400): attach to the running one.
    const codes = problemCodes(readProblem(response));
    const refused = this.failure(response, call);
    if (refused.kind === "not_found" || refused.kind === "auth" || refused.kind === "permission")
      throw refused;
    const active = await this.findActiveRun(targetId);
    if (active) {
      this.logger.info("dast-essentials analysis already running; attached", {
        targetId,
        runId: active.analysis_run_id,
        status: active.status,
      });
      return { scanId: active.analysis_run_id, alreadyRunning: true };
    }
    if (codes.length > 0) throw refused;
    throw new AppError(
      "validation",
      `${SERVICE} refused to start an analysis of target ${targetId} without saying why, and none is running. Check the target in the Veracode platform.`,
      { detail: `startAnalysis: HTTP 400 without body for target ${targetId}, no active run` },
    );
  }

  async stopScan(ref: ScanRef): Promise<void> {
    // The API stops "the analysis of a target": make sure that is this run, not a newer one.
    const run = await this.getRun(ref);
    const { state, rawCode } = runState(run.status);
    if (rawCode.toUpperCase() === "STOPPING") return;
    if (state !== "running" && state !== "queued") {
      throw new AppError(
        "conflict",
        `Analysis run ${ref.scanId} is not running (${rawCode}); there is nothing to stop.`,
      );
    }
    const targetId = checkDastId("target", ref.projectId);
    const call: Call = {
      operation: "stopAnalysis",
      route: "POST /analysis_run/{target_id}/stop",
      method: "POST",
      path: `/analysis_run/${encodeURIComponent(targetId)}/stop?action=${this.stopAction}`,
      subject: runSubject(ref),
      // Stopping twice ends in the same state.
      retry: "idempotent",
    };
    const response = await this.send(call);
    if (isSuccess(response)) {
      this.logger.info("dast-essentials analysis stop requested", {
        targetId,
        runId: ref.scanId,
        action: this.stopAction,
      });
      return;
    }
    const error = this.failure(response, call);
    if (error.kind === "conflict" || error.kind === "validation") {
      // A retried stop finds the run already stopping.
      const again = await this.getRun(ref).catch(() => undefined);
      const now = (again?.status ?? "").toUpperCase();
      if (now === "STOPPING" || now === "STOPPED") return;
    }
    throw error;
  }

  async getScanStatus(ref: ScanRef): Promise<ScanStatus> {
    const run = await this.getRun(ref);
    const { state, rawCode } = runState(run.status);
    const estimate = estimatedDurationMs(run, this.estimateUnit);
    return {
      scanId: ref.scanId,
      state,
      rawCode,
      rawText: this.transport.scrub(runText(run)),
      ...(estimate === undefined ? {} : { estimatedDurationMs: estimate }),
    };
  }

  async getReport(ref: ScanRef, format: ReportFormat): Promise<Report> {
    const dastFormat = reportFormatOf(format);
    const call = reportCall(ref, dastFormat);
    const answer = await this.transport.stream(toRequest(call), {
      maxBytes: this.maxReportBytes,
      tooLarge: (size) =>
        reportTooLarge({
          service: SERVICE,
          format: dastFormat,
          subject: runSubject(ref),
          maxBytes: this.maxReportBytes,
          size,
          uiUrl: platformUrl(this.account),
        }),
    });
    if (!answer.ok) throw this.failure(answer.response, call);
    return toReport(answer, call, dastFormat, ref.scanId);
  }

  /** The schedules the platform runs itself for this target, read-only (see schedules.ts). */
  async platformSchedules(projectId: string): Promise<PlatformSchedule[]> {
    return readPlatformSchedules(checkDastId("target", projectId), async (call, schema) => {
      const response = await this.send(call);
      // 204: no schedule.
      if (response.status === 204) return undefined;
      if (!isSuccess(response)) throw this.failure(response, call);
      return readJson(this.transport, call.operation, response, schema);
    });
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  // ---- helpers ----

  private async getRun(ref: ScanRef): Promise<AnalysisRun> {
    const { targetId, runId } = runIds(ref);
    const call: Call = {
      operation: "getAnalysisRun",
      route: "GET /targets/{target_id}/analysis_runs/{analysis_run_id}",
      method: "GET",
      path: `/targets/${encodeURIComponent(targetId)}/analysis_runs/${encodeURIComponent(runId)}`,
      subject: runSubject(ref),
      retry: "idempotent",
    };
    const response = await this.send(call);
    if (!isSuccess(response)) throw this.failure(response, call);
    return readJson(this.transport, "getAnalysisRun", response, AnalysisRunBody);
  }

  /** The target's RUNNING (else STOPPING) analysis, newest first; undefined when none is active. */
  private async findActiveRun(targetId: string): Promise<AnalysisRun | undefined> {
    let best: AnalysisRun | undefined;
    for (let page = 0; page < this.maxRunPages; page += 1) {
      const call: Call = {
        operation: "listAnalysisRuns",
        route: "GET /targets/{target_id}/analysis_runs",
        method: "GET",
        path: `/targets/${encodeURIComponent(targetId)}/analysis_runs?page=${page}&limit=200`,
        subject: `target ${targetId}`,
        retry: "idempotent",
      };
      const response = await this.send(call);
      if (!isSuccess(response)) throw this.failure(response, call);
      const body = readJson(this.transport, "listAnalysisRuns", response, PagedAnalysisRunsBody);
      const runs = body._embedded?.analysis_runs ?? [];
      for (const run of runs) {
        if (isActiveRun(run) && (best === undefined || moreActive(run, best))) best = run;
      }
      if ((best?.status ?? "").toUpperCase() === "RUNNING") break;
      const totalPages = body.page?.total_pages;
      if (runs.length === 0 || totalPages === undefined || page + 1 >= totalPages) break;
    }
    return best;
  }

  private send(call: Call): Promise<HttpResponse> {
    return this.transport.send(toRequest(call));
  }

  private failure(response: HttpResponse, call: Call): AppError {
    const context: FailureContext = {
      operation: call.operation,
      subject: call.subject,
      retry: call.retry,
      account: this.account,
      ...(call.targetName === undefined ? {} : { targetName: call.targetName }),
    };
    return dastFailure(this.transport, response, context);
  }
}

/**
 * The Veracode DAST Essentials scanner (TCS REST API, https://docs.veracode.com/r/DAST_Essentials_REST_API), selected with
 * SCANNER=dast-essentials. Every request is HMAC-signed afresh with the account's credentials.
 */
export function createDastEssentialsScanner(options: DastEssentialsScannerOptions): DastEssentialsScanner {
  return new DastEssentialsAdapter(options);
}
