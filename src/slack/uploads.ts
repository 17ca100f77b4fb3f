import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { setTimeout as sleep } from "node:timers/promises";
import type { webApi } from "@slack/bolt";
import { isAppError } from "../domain/errors.js";
import type { Report, ReportFormat } from "../domain/ports.js";
import { readReport } from "../domain/reports.js";
import { SlackError } from "./failures.js";

/**
 * Report files for Slack's external upload flow: one name per report whoever posts it, the bytes
 * streamed to the upload URL (never held whole in memory when the size is known), and retries of
 * that POST, which the Web client does not make because the upload URL is no Web API method.
 */

/** The bytes of one file and their exact size (Slack wants the length before the bytes). */
export interface UploadContent {
  size: number;
  body: Readable | Uint8Array;
}

/**
 * A file to upload. `open` gives its bytes; it is called again for each retry of the upload URL
 * POST, since a stream can be sent only once (for a scanner report: download it again).
 */
export interface UploadFile {
  name: string;
  title: string;
  open: () => Promise<UploadContent>;
}

/** The one name a report is uploaded under, whoever posts it; reconciliation finds uploads by it. */
export function reportFileName(scanId: string, format: ReportFormat): string {
  return `crashtest-scan-${scanId.replace(/[^A-Za-z0-9_-]/g, "_")}.${format}`;
}

/**
 * A scanner report's bytes for an upload: streamed when the scanner announced the size (the upload
 * needs it up front), else read whole first (bounded by REPORT_MAX_BYTES in the scanner adapter).
 */
export async function reportContent(report: Report): Promise<UploadContent> {
  if (report.size !== undefined) {
    return { size: report.size, body: Readable.fromWeb(report.body as NodeReadableStream<Uint8Array>) };
  }
  const { bytes } = await readReport(report);
  return { size: bytes.byteLength, body: bytes };
}

/** A report as a file to upload, fetched by `open` (again for each retry). */
export function reportUpload(scanId: string, format: ReportFormat, open: () => Promise<Report>): UploadFile {
  return {
    name: reportFileName(scanId, format),
    title: `Scan ${scanId} · ${format.toUpperCase()} report`,
    open: async () => reportContent(await open()),
  };
}

/** Lets go of bytes that will not be sent (an unread download holds a connection). */
export function discard(content: UploadContent | undefined): void {
  if (content && !(content.body instanceof Uint8Array)) content.body.destroy();
}

/**
 * POSTs `first` to the upload URL; on a retryable failure opens the file again and retries under
 * `policy` (the Web client's retry options), honouring Retry-After. A re-opened file must have the
 * announced size.
 */
export async function sendToUploadUrl(
  url: string,
  file: UploadFile,
  first: UploadContent,
  policy: webApi.RetryOptions,
): Promise<void> {
  const attempts = 1 + (policy.retries ?? 0);
  let content = first;
  for (let attempt = 1; ; attempt++) {
    const failure = await postOnce(url, content);
    if (failure === undefined) return;
    discard(content);
    if (!failure.retryable || attempt >= attempts) throw failure;
    const base = Math.min(
      policy.maxTimeout ?? Number.POSITIVE_INFINITY,
      (policy.minTimeout ?? 1000) * (policy.factor ?? 2) ** (attempt - 1),
    );
    // A 429 says how long to wait (Retry-After, in seconds), as for Web API calls.
    await sleep(Math.max(policy.randomize ? base * (1 + Math.random()) : base, failure.retryAfterMs ?? 0));
    const again = await file.open();
    if (again.size !== first.size) {
      discard(again);
      throw new SlackError("unavailable", "The file changed size during its upload to Slack.", {
        detail: `upload retry: ${again.size} bytes, ${first.size} announced`,
        retryable: true,
      });
    }
    content = again;
  }
}

async function postOnce(url: string, content: UploadContent): Promise<SlackError | undefined> {
  let answer: { status: number; retryAfter: string | undefined };
  try {
    answer = await postBody(new URL(url), content);
  } catch (error) {
    // The report stream itself failed (scanner download): that error says what happened.
    if (isAppError(error)) throw error;
    return new SlackError("unavailable", "The file upload to Slack broke off.", {
      cause: error,
      detail: `upload URL POST failed: ${error instanceof Error ? error.message : String(error)}`,
      retryable: true,
    });
  }
  const { status, retryAfter } = answer;
  if (status === 200) return undefined;
  const waitSeconds = Number(retryAfter);
  return new SlackError("unavailable", `Slack did not accept the file (HTTP ${status}).`, {
    detail: `upload URL answered HTTP ${status}`,
    retryable: status >= 500 || status === 429,
    ...(status === 429 && Number.isFinite(waitSeconds) && waitSeconds >= 0
      ? { retryAfterMs: Math.min(waitSeconds, 3600) * 1000 }
      : {}),
  });
}

/** No answer from the upload URL for this long ends the attempt. */
const UPLOAD_IDLE_TIMEOUT_MS = 120_000;

/**
 * One POST of the file's bytes with their exact length (Content-Length); a stream is piped through
 * with back-pressure, so only a few chunks are ever in memory. The answer's body is discarded.
 */
function postBody(
  url: URL,
  file: UploadContent,
): Promise<{ status: number; retryAfter: string | undefined }> {
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return Promise.reject(new Error(`upload URL has an unexpected scheme ${url.protocol}`));
  }
  return new Promise((resolve, reject) => {
    // Not an ES import: importing node:http as a module evaluates all its exports, lazy ones included,
    // which loads node's own undici (25-30 ms of a start; https://nodejs.org/api/process.html#processgetbuiltinmoduleid).
    const send =
      url.protocol === "https:"
        ? process.getBuiltinModule("node:https").request
        : process.getBuiltinModule("node:http").request;
    const req = send(
      url,
      {
        method: "POST",
        headers: { "content-type": "application/octet-stream", "content-length": String(file.size) },
        timeout: UPLOAD_IDLE_TIMEOUT_MS,
      },
      (res) => {
        const retryAfter = res.headers["retry-after"];
        res.on("error", reject);
        res.on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter }));
        res.resume();
      },
    );
    req.on("timeout", () => req.destroy(new Error("the upload URL stopped answering")));
    req.on("error", reject);
    if (file.body instanceof Uint8Array) req.end(file.body);
    else pipeline(file.body, req).catch(reject);
  });
}
