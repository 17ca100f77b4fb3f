import * as z from "zod";
import { AppError } from "../../domain/errors.js";
import type { Report, ReportFormat, ScanState, ScanStatus, StartScanResult } from "../../domain/ports.js";
import { type ApiWording, type FailureContext, statusFailure } from "../../http/errors.js";
import { readJson } from "../../http/json.js";
import {
  type HttpResponse,
  type HttpTransport,
  isSuccess,
  type OutgoingRequest,
} from "../../http/transport.js";
import { reportTooLarge } from "../reports.js";

export const SERVICE = "Crashtest";

/** How one Crashtest call's failures are worded. */
export interface CrashtestContext extends FailureContext {
  /** Where to look when credentials are refused, e.g. "check CRASHTEST_API_KEY". */
  credentialHint: string;
}

/** Crashtest's specialization of the shared status mapping: 401 and 403 both mean the key or secret. */
const CRASHTEST: ApiWording<CrashtestContext> = {
  service: SERVICE,
  auth: (context) => `${SERVICE} refused the credentials: ${context.credentialHint}.`,
};

/** Turns a non-2xx Crashtest answer into the matching AppError. */
export function crashtestFailure(
  transport: HttpTransport,
  response: HttpResponse,
  context: CrashtestContext,
): AppError {
  return statusFailure(CRASHTEST, response, context, (text) => transport.scrub(text));
}

/**
 * Lenient readers for the response bodies both Crashtest surfaces share. Every sample uses the
 * `{"message": "...", "data": {...}}` envelope (github.com/crashtest-security/github-action, github.com/DefectDojo/django-DefectDojo, dojo/tools/crashtest_security); unknown keys are ignored everywhere.
 */

const NumericId = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)])
  .transform((value) => String(value));

const StartBody = z.looseObject({
  message: z.string().optional(),
  // REST answers `scan_id`, the webhook `scanId` (github.com/crashtest-security/github-action): accept both on both.
  data: z.looseObject({ scan_id: NumericId.optional(), scanId: NumericId.optional() }).nullish(),
});

const StatusBody = z.looseObject({
  data: z.looseObject({
    status: z.looseObject({
      // `status_code`, not `code` (github.com/crashtest-security/github-action, fix "Fix status code retrieval").
      status_code: z.union([
        z.number().int(),
        z
          .string()
          .regex(/^-?\d+$/)
          .transform(Number),
      ]),
      // The other keys are undocumented; these are guesses, all optional.
      status_description: z.string().optional(),
      status_text: z.string().optional(),
      description: z.string().optional(),
    }),
  }),
});

const ALREADY_RUNNING = /already\s+running/i;

/**
 * Reads a start-scan answer. "Already running" is recognised by its message whatever the HTTP
 * status (its HTTP status is not documented); it carries the running scan's ID on REST but
 * none on the webhook, where the caller gets AppError("conflict") since no scan can be followed.
 */
export function readStartResponse(
  transport: HttpTransport,
  response: HttpResponse,
  context: CrashtestContext,
): StartScanResult {
  let body: z.infer<typeof StartBody> | undefined;
  try {
    body = readJson(transport, "startScan", response, StartBody);
  } catch (error) {
    if (isSuccess(response)) throw error;
  }
  const scanId = body?.data?.scan_id ?? body?.data?.scanId;
  const alreadyRunning = ALREADY_RUNNING.test(body?.message ?? "");
  if (alreadyRunning && response.status < 500) {
    if (scanId !== undefined) return { scanId, alreadyRunning: true };
    throw new AppError(
      "conflict",
      `A scan is already running for ${context.subject}, and Crashtest did not say which one. Wait for it to finish or check the Crashtest dashboard.`,
      { detail: `startScan: already running without a scan ID (HTTP ${response.status})` },
    );
  }
  if (!isSuccess(response)) throw crashtestFailure(transport, response, context);
  if (scanId === undefined) throw transport.unreadable("startScan", "no scan_id/scanId in data");
  return { scanId, alreadyRunning: false };
}

/**
 * Maps a status code (https://docs.veracode.com/r/interpreting-scan-status, github.com/crashtest-security/github-action): 100 queued, 101 running, anything else means the scan ended. The
 * individual terminal codes are undocumented, so the text sent with the code decides between failed
 * and stopped; an unknown code without such text counts as 'finished' and its raw code is shown.
 */
export function scanStateOf(code: number, text: string | undefined): ScanState {
  if (code === 100) return "queued";
  if (code === 101) return "running";
  if (text !== undefined) {
    if (/fail|error/i.test(text)) return "failed";
    if (/stop|cancel|abort/i.test(text)) return "stopped";
  }
  return "finished";
}

export function readStatusResponse(
  transport: HttpTransport,
  response: HttpResponse,
  context: CrashtestContext,
  scanId: string,
): ScanStatus {
  if (!isSuccess(response)) throw crashtestFailure(transport, response, context);
  const { status } = readJson(transport, "scanStatus", response, StatusBody).data;
  const rawText = status.status_description ?? status.status_text ?? status.description;
  return {
    scanId,
    state: scanStateOf(status.status_code, rawText),
    rawCode: String(status.status_code),
    ...(rawText === undefined ? {} : { rawText: transport.scrub(rawText) }),
  };
}

const REPORT_TYPES = { json: "application/json", pdf: "application/pdf", xml: "application/xml" } as const;
export type CrashtestReportFormat = keyof typeof REPORT_TYPES;

export function isCrashtestFormat(format: ReportFormat): format is CrashtestReportFormat {
  return Object.hasOwn(REPORT_TYPES, format);
}

export interface ReportRequest {
  /** Where a report too large for the bot can be downloaded instead, e.g. the project's page. */
  uiUrl: string | undefined;
  maxBytes: number;
  subject: string;
}

/**
 * Downloads a report as a stream, bounded by REPORT_MAX_BYTES (the transport refuses a larger
 * Content-Length at once and fails the stream past the limit otherwise).
 */
export async function streamReport(
  transport: HttpTransport,
  request: OutgoingRequest,
  context: CrashtestContext,
  report: ReportRequest & { scanId: string; format: CrashtestReportFormat },
): Promise<Report> {
  const answer = await transport.stream(request, {
    maxBytes: report.maxBytes,
    tooLarge: (size) => reportTooLarge({ ...report, service: SERVICE, size }),
  });
  if (!answer.ok) throw crashtestFailure(transport, answer.response, context);
  const header = answer.headers["content-type"];
  return {
    format: report.format,
    body: answer.body,
    ...(answer.size === undefined ? {} : { size: answer.size }),
    contentType: typeof header === "string" && header.trim() !== "" ? header : REPORT_TYPES[report.format],
    fileName: `crashtest-scan-${report.scanId}.${report.format}`,
  };
}
