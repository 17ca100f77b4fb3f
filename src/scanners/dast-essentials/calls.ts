import type { ScanRef } from "../../domain/ports.js";
import type { Method, OutgoingRequest, RetryMode } from "../../http/transport.js";
import { checkDastId } from "./api.js";

/** One TCS API call as the adapter describes it, and the transport request it becomes. */

const JSON_ACCEPT = "application/json, application/problem+json";

export interface Call {
  operation: string;
  /** Route template for logs, e.g. "GET /targets/{target_id}". */
  route: string;
  method: Method;
  path: string;
  subject: string;
  retry: RetryMode;
  accept?: string;
  body?: unknown;
  targetName?: string;
}

export function toRequest(call: Call): OutgoingRequest {
  const headers: Record<string, string> = { accept: call.accept ?? JSON_ACCEPT };
  let body: string | undefined;
  if (call.body !== undefined) {
    body = JSON.stringify(call.body);
    headers["content-type"] = "application/json";
  } else if (call.method === "POST") {
    headers["content-length"] = "0";
  }
  return {
    operation: call.operation,
    route: call.route,
    method: call.method,
    path: call.path,
    headers,
    ...(body === undefined ? {} : { body }),
    retry: call.retry,
  };
}

/** The target and analysis run a scan reference names, checked. */
export function runIds(ref: ScanRef): { targetId: string; runId: string } {
  return { targetId: checkDastId("target", ref.projectId), runId: checkDastId("analysis run", ref.scanId) };
}

export function runSubject(ref: ScanRef): string {
  return `analysis run ${ref.scanId} of target ${ref.projectId}`;
}
