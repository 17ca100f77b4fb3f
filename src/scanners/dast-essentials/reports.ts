import { AppError } from "../../domain/errors.js";
import type { Report, ReportFormat, ScanRef } from "../../domain/ports.js";
import type { StreamedResponse } from "../../http/transport.js";
import { unlessEmpty } from "../reports.js";
import { DAST_REPORT_FORMATS, type DastReportFormat, REPORT_CONTENT_TYPES, REPORT_PATHS } from "./api.js";
import { type Call, runIds, runSubject } from "./calls.js";
import { SERVICE } from "./problems.js";

/** A run's report: which formats exist, the call that fetches one, and the Report it becomes. */

export function reportFormatOf(format: ReportFormat): DastReportFormat {
  if ((DAST_REPORT_FORMATS as readonly string[]).includes(format)) return format as DastReportFormat;
  throw new AppError(
    "unsupported",
    `${SERVICE} has no ${format} report; use one of: ${DAST_REPORT_FORMATS.join(", ")} (xml for the findings summary).`,
  );
}

export function reportCall(ref: ScanRef, format: DastReportFormat): Call {
  const { targetId, runId } = runIds(ref);
  return {
    operation: "getReport",
    route: "GET /targets/{target_id}/analysis_runs/{analysis_run_id}/report/{format}",
    method: "GET",
    // The API calls the JUnit XML report "junit".
    path: `/targets/${encodeURIComponent(targetId)}/analysis_runs/${encodeURIComponent(runId)}/report/${REPORT_PATHS[format]}`,
    subject: `the ${format} report of ${runSubject(ref)}`,
    retry: "idempotent",
    accept: `${REPORT_CONTENT_TYPES[format]}, application/problem+json;q=0.9, application/json;q=0.8`,
  };
}

/** The Report of a 2xx answer; an empty body means the report is still being prepared. */
export async function toReport(
  answer: Extract<StreamedResponse, { ok: true }>,
  call: Call,
  format: DastReportFormat,
  runId: string,
): Promise<Report> {
  const body = await unlessEmpty(answer.body);
  if (body === undefined) {
    throw new AppError(
      "unavailable",
      `${SERVICE} has not finished preparing ${call.subject} yet; the bot retries later.`,
      {
        detail: `getReport: empty ${format} report (HTTP ${answer.status})`,
        retryable: true,
      },
    );
  }
  const header = answer.headers["content-type"];
  return {
    format,
    body,
    ...(answer.size === undefined ? {} : { size: answer.size }),
    contentType: typeof header === "string" && header.trim() !== "" ? header : REPORT_CONTENT_TYPES[format],
    fileName: `veracode-dast-${runId}.${format}`,
  };
}
