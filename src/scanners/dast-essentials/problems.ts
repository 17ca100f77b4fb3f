import { AppError, type ErrorKind } from "../../domain/errors.js";
import type { VeracodeAccount } from "../../veracode/index.js";
import {
  type CrashtestTransport,
  type IncomingResponse,
  parseRetryAfter,
  type RetryMode,
} from "../crashtest/http.js";
import { type Problem, ProblemBody } from "./api.js";

/**
 * Turns a non-2xx TCS answer into a typed, actionable AppError (doc B.5). 400s are RFC 7807
 * `application/problem+json` with `errors[].code`; other errors are `application/json` Problems or
 * have no body (401). User messages may quote the server's `detail`: callers escape them for Slack.
 */

export const SERVICE = "Veracode DAST Essentials";

export interface FailureContext {
  operation: string;
  /** What the call was about, e.g. `target 3f2c…` or `analysis run 9a1b… of target 3f2c…`. */
  subject: string;
  retry: RetryMode;
  account: VeracodeAccount;
  /** createProject: the name, for TARGET_NAME_NOT_UNIQUE. */
  targetName?: string;
}

/** Report codes the watcher should simply retry later. */
const NOT_READY = new Set(["SCAN_REPORT_NOT_READY", "REPORT_DATA_NOT_READY", "COVERAGE_REPORT_NOT_READY"]);
const RUN_NOT_FOUND = new Set(["ANALYSIS_RUN_NOT_FOUND", "SCAN_NOT_FOUND"]);

interface Mapped {
  kind: ErrorKind;
  message: string;
  retryable?: boolean;
}

type CodeRule = (context: FailureContext, detail: string | undefined) => Mapped;

const urlRule =
  (why: string): CodeRule =>
  () => ({ kind: "validation", message: `${SERVICE} cannot scan this URL: ${why}` });

/** Codes with a message of their own; anything else shows the server's detail. */
const CODE_RULES: ReadonlyMap<string, CodeRule> = new Map<string, CodeRule>([
  [
    "TARGET_NAME_NOT_UNIQUE",
    (context) => ({
      kind: "conflict",
      message: `A target named "${context.targetName ?? "this"}" already exists in ${SERVICE}; choose another name or link the existing target.`,
    }),
  ],
  [
    "TARGET_LIMIT_EXCEEDED",
    () => ({
      kind: "conflict",
      message: `Your organization has reached its ${SERVICE} target limit; delete targets it no longer needs or ask Veracode to raise the limit.`,
    }),
  ],
  [
    "PROTOCOL_IN_TARGET_URL",
    urlRule("the URL was sent with its scheme (http:// or https://), which the API refuses."),
  ],
  [
    "LOCALHOST_NOT_SUPPORTED_TARGET_URL",
    urlRule("localhost is not reachable from Veracode's scanners; use the site's public host name."),
  ],
  [
    "LOCALHOST_NOT_SUPPORTED",
    urlRule("localhost is not reachable from Veracode's scanners; use the site's public host name."),
  ],
  [
    "PRIVATE_IP_NOT_SUPPORTED_TARGET_URL",
    urlRule(
      "private IP addresses are not reachable from Veracode's scanners; use a public host name (or a Veracode ISM gateway, set up in the Veracode platform).",
    ),
  ],
  [
    "PRIVATE_IP_NOT_SUPPORTED",
    urlRule("private IP addresses are not reachable from Veracode's scanners; use a public host name."),
  ],
  ["IPV6_NOT_SUPPORTED_TARGET_URL", urlRule("IPv6 addresses are not supported; use a host name.")],
  ["TARGET_URL_NOT_LOWERCASE", urlRule("the URL must be lower case.")],
  ["URL_NOT_LOWERCASE", urlRule("the URL must be lower case.")],
  ["PORT_INVALID_TARGET_URL", urlRule("the port is not allowed.")],
  ["INVALID_PORT", urlRule("the port is not allowed.")],
  ["USER_INFO_DETECTED_TARGET_URL", urlRule("it must not contain a user name or password.")],
  ["TOP_LEVEL_DOMAIN_INVALID_TARGET_URL", urlRule("its top-level domain is not valid.")],
  ["MALFORMED_TARGET_URL", urlRule("it is malformed.")],
  ["FAILED_TO_PARSE_TARGET_URL", urlRule("it could not be parsed.")],
  [
    "API_SPEC_URL_REQUIRED",
    () => ({
      kind: "validation",
      message: "An API target needs the URL of its API specification: give the option api_spec_url.",
    }),
  ],
  [
    "DEPRECATED_SCAN_TYPE",
    () => ({
      kind: "validation",
      message: `${SERVICE} no longer offers this scan type; use QUICK (DAST_SCAN_TYPE or the scan_type option).`,
    }),
  ],
  [
    "INVALID_TEAM_COUNT",
    () => ({
      kind: "validation",
      message: `${SERVICE} needs exactly one team for a target that is not Security-Lead-only; check DAST_TEAM_ID or the team option.`,
    }),
  ],
  [
    "TEAM_UNAUTHORIZED",
    () => ({
      kind: "permission",
      message: `The bot's Veracode account may not assign targets to this team; check DAST_TEAM_ID or the team option.`,
    }),
  ],
  [
    "INVALID_SEC_LEAD_PERMISSIONS",
    () => ({
      kind: "permission",
      message: `Only a Security Lead may create Security-Lead-only targets; give the bot's Veracode account that role or set DAST_TEAM_ID.`,
    }),
  ],
  [
    "TARGET_NOT_FOUND",
    (context) => ({ kind: "not_found", message: `${SERVICE} has no ${context.subject}.` }),
  ],
  [
    "ANALYSIS_RUN_NOT_FOUND",
    (context) => ({
      kind: "not_found",
      message: `${SERVICE} has no ${context.subject}.`,
    }),
  ],
  ["SCAN_NOT_FOUND", (context) => ({ kind: "not_found", message: `${SERVICE} has no ${context.subject}.` })],
  [
    "INVALID_ANALYSIS_STATE",
    (context, detail) => ({
      kind: "conflict",
      message: `${SERVICE} cannot do this now for ${context.subject}: the analysis is not in a state that allows it${detail ? ` (${detail})` : ""}.`,
    }),
  ],
  [
    "INVALID_TARGET_STATE",
    (context, detail) => ({
      kind: "conflict",
      message: `${SERVICE} cannot do this now for ${context.subject}: the target is not in a state that allows it${detail ? ` (${detail})` : ""}.`,
    }),
  ],
  ["ACCESS_DENIED", (context) => ({ kind: "permission", message: permissionMessage(context) })],
  ["ORGANIZATION_FORBIDDEN", (context) => ({ kind: "permission", message: permissionMessage(context) })],
  ["UNAUTHORIZED_USER", (context) => ({ kind: "auth", message: authMessage(context) })],
  [
    "DOWNSTREAM_SERVER_ERROR",
    () => ({
      kind: "unavailable",
      message: `${SERVICE} is having trouble right now. Try again in a few minutes.`,
      retryable: true,
    }),
  ],
]);

function who(account: VeracodeAccount): string {
  return `the Veracode API account "${account.name}" (key …${account.keyIdHint})`;
}

function authMessage(context: FailureContext): string {
  return `${SERVICE} refused ${who(context.account)}: the credentials are wrong, expired, revoked or from another region. Check VERACODE_API_KEY_ID and VERACODE_API_KEY_SECRET (or the credentials file).`;
}

function permissionMessage(context: FailureContext): string {
  return `${who(context.account)} may not do this in ${SERVICE}: it needs the Upload and Scan API role (or Security Lead, Creator or Submitter) and access to ${context.subject}.`;
}

function notReadyMessage(context: FailureContext): string {
  return `${SERVICE} has not finished preparing ${context.subject} yet; the bot retries later.`;
}

/** Problem of a response body, whatever its content type; undefined for no or non-JSON bodies. */
export function readProblem(response: IncomingResponse): Problem | undefined {
  if (response.bytes.byteLength === 0) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(response.bytes).toString("utf8"));
  } catch {
    return undefined;
  }
  const parsed = ProblemBody.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

export function problemCodes(problem: Problem | undefined): string[] {
  return (problem?.errors ?? []).flatMap((error) => (error.code ? [error.code] : []));
}

function clean(transport: CrashtestTransport, text: string, max = 300): string {
  const flat = transport.scrub(text).replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** The server's own words: `CODE: detail` of each error (at most 3), else detail, else title. */
function serverWords(transport: CrashtestTransport, problem: Problem | undefined): string | undefined {
  const errors = (problem?.errors ?? [])
    .map((error) => [error.code, error.detail].filter(Boolean).join(": "))
    .filter((text) => text !== "");
  if (errors.length > 0) {
    const shown = errors.slice(0, 3).join("; ");
    return clean(transport, errors.length > 3 ? `${shown}; and ${errors.length - 3} more` : shown);
  }
  const text = problem?.detail ?? problem?.title ?? undefined;
  return text ? clean(transport, text) : undefined;
}

/**
 * Precedence: report-not-ready codes (retry later), then 401 / 429 / 5xx by status, then 404 as
 * not_found, then the first error code with a rule of its own, then the status. Unknown codes give
 * a generic message that shows the server's detail.
 */
export function dastFailure(
  transport: CrashtestTransport,
  response: IncomingResponse,
  context: FailureContext,
): AppError {
  const { status } = response;
  const problem = readProblem(response);
  const codes = problemCodes(problem);
  const words = serverWords(transport, problem);
  const detail = `${context.operation}: HTTP ${status} for ${context.subject}${codes.length ? ` [${codes.join(", ")}]` : ""}${
    problem?.detail ? `: ${clean(transport, problem.detail)}` : ""
  }`;
  const make = (mapped: Mapped, extra: { retryAfterMs?: number } = {}) =>
    new AppError(mapped.kind, mapped.message, {
      detail,
      retryable: mapped.retryable ?? false,
      ...extra,
    });

  if (codes.some((code) => NOT_READY.has(code))) {
    return make({ kind: "unavailable", message: notReadyMessage(context), retryable: true });
  }
  if (status === 401) return make({ kind: "auth", message: authMessage(context) });
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(response.headers["retry-after"]);
    const wait = retryAfterMs === undefined ? "a little while" : `${Math.ceil(retryAfterMs / 1000)} s`;
    return make(
      {
        kind: "rate_limited",
        message: `Veracode is rate-limiting the bot (500 calls a minute per IP address); try again in ${wait}.`,
        retryable: true,
      },
      retryAfterMs === undefined ? {} : { retryAfterMs },
    );
  }
  if (status >= 500) {
    // A 5xx after a POST was sent may follow a change the server did make.
    const message =
      context.retry === "unsent-only"
        ? `${SERVICE} did not confirm the request (HTTP ${status}); it may still have been carried out. Check before trying again.`
        : `${SERVICE} is having trouble right now (HTTP ${status}). Try again in a few minutes.`;
    return make({ kind: "unavailable", message, retryable: true });
  }
  if (status === 404) {
    const known = codes.find((code) => code === "TARGET_NOT_FOUND" || RUN_NOT_FOUND.has(code));
    const rule = known === undefined ? undefined : CODE_RULES.get(known);
    return make(
      rule ? rule(context, words) : { kind: "not_found", message: `${SERVICE} has no ${context.subject}.` },
    );
  }
  for (const code of codes) {
    const rule = CODE_RULES.get(code);
    if (rule) return make(rule(context, words));
  }
  if (status === 403) return make({ kind: "permission", message: permissionMessage(context) });
  if (status === 409) {
    return make({
      kind: "conflict",
      message: `${SERVICE} refused this for ${context.subject}: ${words ?? "conflict"}.`,
    });
  }
  if (status >= 400) {
    return make({
      kind: "validation",
      message: `${SERVICE} rejected the request for ${context.subject}: ${words ?? `HTTP ${status} without details`}.`,
    });
  }
  return make({ kind: "unavailable", message: `${SERVICE} sent an unexpected answer (HTTP ${status}).` });
}
