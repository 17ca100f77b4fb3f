import { z } from "zod";
import { AppError } from "../../domain/errors.js";
import type { ScanState, ScanStatus, StartScanResult } from "../../domain/ports.js";
import {
  type CrashtestTransport,
  type FailureContext,
  type IncomingResponse,
  isSuccess,
  parseJsonBody,
} from "./http.js";

/**
 * Lenient readers for the response bodies both Crashtest surfaces share. Every sample uses the
 * `{"message": "...", "data": {...}}` envelope (doc A.5); unknown keys are ignored everywhere.
 */

const NumericId = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)])
  .transform((value) => String(value));

const StartBody = z.looseObject({
  message: z.string().optional(),
  // REST answers `scan_id`, the webhook `scanId` (doc A.6): accept both on both.
  data: z.looseObject({ scan_id: NumericId.optional(), scanId: NumericId.optional() }).nullish(),
});

const StatusBody = z.looseObject({
  data: z.looseObject({
    status: z.looseObject({
      // `status_code`, not `code` (doc A.6, vendor fix "Fix status code retrieval").
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
 * status (its status is unknown, doc A.6); it carries the running scan's ID on REST (doc A.5) but
 * none on the webhook, where the caller gets AppError("conflict") since no scan can be followed.
 */
export function readStartResponse(
  transport: CrashtestTransport,
  response: IncomingResponse,
  context: FailureContext,
): StartScanResult {
  let body: z.infer<typeof StartBody> | undefined;
  try {
    body = parseJsonBody(transport, "startScan", response, StartBody);
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
  if (!isSuccess(response)) throw transport.failure(response, context);
  if (scanId === undefined) throw transport.unreadable("startScan", "no scan_id/scanId in data");
  return { scanId, alreadyRunning: false };
}

/**
 * Maps a status code (doc A.7): 100 queued, 101 running, anything else means the scan ended. The
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
  transport: CrashtestTransport,
  response: IncomingResponse,
  context: FailureContext,
  scanId: string,
): ScanStatus {
  if (!isSuccess(response)) throw transport.failure(response, context);
  const { status } = parseJsonBody(transport, "scanStatus", response, StatusBody).data;
  const rawText = status.status_description ?? status.status_text ?? status.description;
  return {
    scanId,
    state: scanStateOf(status.status_code, rawText),
    rawCode: String(status.status_code),
    ...(rawText === undefined ? {} : { rawText: transport.scrub(rawText) }),
  };
}

const REPORT_TYPES = { json: "application/json", pdf: "application/pdf", junit: "application/xml" } as const;
export type CrashtestReportFormat = keyof typeof REPORT_TYPES;

/** Content type from the response, or the format's usual one when the server sends none. */
export function reportContentType(response: IncomingResponse, format: CrashtestReportFormat): string {
  const header = response.headers["content-type"];
  return typeof header === "string" && header.trim() !== "" ? header : REPORT_TYPES[format];
}

export function reportFileName(scanId: string, format: CrashtestReportFormat): string {
  return `crashtest-scan-${scanId}.${format === "junit" ? "xml" : format}`;
}
