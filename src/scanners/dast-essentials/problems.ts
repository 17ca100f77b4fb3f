import { AppError } from "../../domain/errors.js";
import { parseOutside } from "../../domain/outside.js";
import {
  type ApiWording,
  cleanServerText,
  type FailureContext as HttpFailureContext,
  type Mapped,
  statusFailure,
} from "../../http/errors.js";
import type { HttpResponse, HttpTransport } from "../../http/transport.js";
import type { VeracodeAccount } from "../../veracode/index.js";
import { type Problem, ProblemBody } from "./bodies.js";

/**
 * Turns a non-2xx TCS answer into a typed, actionable AppError (https://docs.veracode.com/r/DAST_Essentials_REST_API). 400s are RFC 7807
 * `application/problem+json` with `errors[].code`; other errors are `application/json` Problems or
 * have no body (401). User messages may quote the server's `detail`: callers escape them for Slack.
 */

export const SERVICE = "Veracode DAST Essentials";

/** `subject` is e.g. `target 3f2c…` or `analysis run 9a1b… of target 3f2c…`. */
export interface FailureContext extends HttpFailureContext {
  account: VeracodeAccount;
  /** createProject: the name, for TARGET_NAME_NOT_UNIQUE. */
  targetName?: string;
}

/** Report codes the watcher should simply retry later. */
const NOT_READY = new Set(["SCAN_REPORT_NOT_READY", "REPORT_DATA_NOT_READY", "COVERAGE_REPORT_NOT_READY"]);
const RUN_NOT_FOUND = new Set(["ANALYSIS_RUN_NOT_FOUND", "SCAN_NOT_FOUND"]);

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
export function readProblem(response: HttpResponse): Problem | undefined {
  if (response.bytes.byteLength === 0) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(response.bytes).toString("utf8"));
    return parseOutside(ProblemBody, json, (problem) => new AppError("unavailable", problem));
  } catch {
    return undefined;
  }
}

export function problemCodes(problem: Problem | undefined): string[] {
  return (problem?.errors ?? []).flatMap((error) => (error.code ? [error.code] : []));
}

/** The server's own words: `CODE: detail` of each error (at most 3), else detail, else title. */
function serverWords(scrub: (text: string) => string, problem: Problem | undefined): string | undefined {
  const errors = (problem?.errors ?? [])
    .slice(0, 50)
    .map((error) => [error.code, error.detail].filter(Boolean).join(": "))
    .filter((text) => text !== "");
  if (errors.length > 0) {
    const total = problem?.errors?.length ?? errors.length;
    const shown = errors.slice(0, 3).join("; ");
    return cleanServerText(total > 3 ? `${shown}; and ${total - 3} more` : shown, scrub, 300);
  }
  const text = problem?.detail ?? problem?.title ?? undefined;
  return text ? cleanServerText(text, scrub, 300) : undefined;
}

/**
 * DAST Essentials' specialization of the shared status mapping. Precedence: report-not-ready codes
 * (retry later), then 401 / 429 / 5xx by status, then 404 as not_found, then the first error code
 * with a rule of its own, then the status. Unknown codes give a generic message that shows the
 * server's detail.
 */
function dastWording(scrub: (text: string) => string): ApiWording<FailureContext> {
  return {
    service: SERVICE,
    auth: authMessage,
    permission: permissionMessage,
    notFound: (context) => `${SERVICE} has no ${context.subject}.`,
    rateLimited: (wait) =>
      `Veracode is rate-limiting the bot (500 calls a minute per IP address); try again in ${wait}.`,
    unavailable: (status, ambiguous) =>
      ambiguous
        ? `${SERVICE} did not confirm the request (HTTP ${status}); it may still have been carried out. Check before trying again.`
        : `${SERVICE} is having trouble right now (HTTP ${status}). Try again in a few minutes.`,
    rejected: (context, words, status) =>
      `${SERVICE} rejected the request for ${context.subject}: ${words ?? `HTTP ${status} without details`}.`,
    serverWords: (response) => serverWords(scrub, readProblem(response)),
    specialize: (response, context, words) => {
      const { status } = response;
      const codes = problemCodes(readProblem(response));
      if (codes.some((code) => NOT_READY.has(code))) {
        return { kind: "unavailable", message: notReadyMessage(context), retryable: true };
      }
      if (status === 401 || status === 429 || status >= 500) return undefined;
      if (status === 404) {
        const known = codes.find((code) => code === "TARGET_NOT_FOUND" || RUN_NOT_FOUND.has(code));
        const rule = known === undefined ? undefined : CODE_RULES.get(known);
        return rule?.(context, words);
      }
      for (const code of codes) {
        const rule = CODE_RULES.get(code);
        if (rule) return rule(context, words);
      }
      return undefined;
    },
  };
}

/** Turns a non-2xx TCS answer into the matching AppError. */
export function dastFailure(
  transport: HttpTransport,
  response: HttpResponse,
  context: FailureContext,
): AppError {
  const scrub = (text: string) => transport.scrub(text);
  return statusFailure(dastWording(scrub), response, context, scrub);
}
