import * as z from "zod";
import { AppError } from "../../domain/errors.js";

/**
 * The one table of Crashtest REST routes (https://docs.veracode.com/r/Crashtest_Security_API lists the operations, not their paths). Both the client and the simulator read it, so an
 * override from configuration changes both sides the same way.
 *
 * UNVERIFIED: no public source shows any REST path. The defaults below are an educated guess
 * (Lumen + Dingo backend, team-scoped IDs, no /api prefix). Verify against the real API and override
 * with CRASHTEST_ROUTES rather than editing code.
 */

export const OPERATIONS = [
  "createProject",
  "getProject",
  "deleteProject",
  "startScan",
  "stopScan",
  "scanStatus",
  "report",
] as const;
export type Operation = (typeof OPERATIONS)[number];

export type RouteMethod = "GET" | "POST" | "DELETE";

export interface Route {
  method: RouteMethod;
  /** Path template with `{placeholder}` segments, e.g. `/teams/{teamId}/projects`. */
  path: string;
}

export type RouteTable = Readonly<Record<Operation, Route>>;

/** Placeholders each operation may use; the client always knows these values. */
export const PLACEHOLDERS: Readonly<Record<Operation, readonly string[]>> = {
  createProject: ["teamId"],
  getProject: ["teamId", "projectId"],
  deleteProject: ["teamId", "projectId"],
  startScan: ["teamId", "projectId"],
  stopScan: ["teamId", "projectId", "scanId"],
  scanStatus: ["teamId", "projectId", "scanId"],
  report: ["teamId", "projectId", "scanId", "format"],
};

/** UNVERIFIED defaults: no public source shows the REST paths. */
export const DEFAULT_ROUTES: RouteTable = {
  createProject: { method: "POST", path: "/teams/{teamId}/projects" },
  getProject: { method: "GET", path: "/teams/{teamId}/projects/{projectId}" },
  deleteProject: { method: "DELETE", path: "/teams/{teamId}/projects/{projectId}" },
  startScan: { method: "POST", path: "/teams/{teamId}/projects/{projectId}/scans" },
  stopScan: { method: "DELETE", path: "/teams/{teamId}/projects/{projectId}/scans/{scanId}" },
  scanStatus: { method: "GET", path: "/teams/{teamId}/projects/{projectId}/scans/{scanId}/status" },
  report: { method: "GET", path: "/teams/{teamId}/projects/{projectId}/scans/{scanId}/report/{format}" },
};

/** Webhook API paths, confirmed by the vendor's own clients (github.com/crashtest-security/github-action), so not configurable. */
export const WEBHOOK_ROUTES = {
  webhookStart: { method: "POST", path: "/webhook/{secret}" },
  webhookStatus: { method: "GET", path: "/webhook/{secret}/scans/{scanId}/status" },
  webhookReport: { method: "GET", path: "/webhook/{secret}/scans/{scanId}/report/junit" },
} as const satisfies Record<string, Route>;
export type WebhookOperation = keyof typeof WEBHOOK_ROUTES;

const PLACEHOLDER = /\{([^{}]*)\}/g;
const ROUTE_TEXT = /^(GET|POST|DELETE)\s+(\/\S*)$/;

/** Placeholder names used in a template, in order of appearance. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((match) => match[1] ?? "");
}

/** Fills a template; every value is percent-encoded so an ID can never add a path segment. */
export function fillPath(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(PLACEHOLDER, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for route placeholder {${name}}`);
    return encodeURIComponent(value);
  });
}

export function describeRoute(route: Route): string {
  return `${route.method} ${route.path}`;
}

function parseRoute(operation: Operation, text: string, source: string): Route {
  const match = ROUTE_TEXT.exec(text.trim());
  if (!match) {
    throw new AppError(
      "config",
      `${source}.${operation} must look like "GET /path/{placeholder}" (methods: GET, POST, DELETE).`,
    );
  }
  const [, method, path] = match as unknown as [string, RouteMethod, string];
  const allowed = PLACEHOLDERS[operation];
  for (const name of placeholdersOf(path)) {
    if (!allowed.includes(name)) {
      throw new AppError(
        "config",
        `${source}.${operation}: unknown placeholder {${name}}; allowed: ${allowed.map((n) => `{${n}}`).join(", ")}.`,
      );
    }
  }
  if (path.replace(PLACEHOLDER, "").includes("{") || path.replace(PLACEHOLDER, "").includes("}")) {
    throw new AppError("config", `${source}.${operation}: unbalanced braces in "${path}".`);
  }
  // Without {format} every report format would be fetched from the same URL.
  if (operation === "report" && !placeholdersOf(path).includes("format")) {
    throw new AppError("config", `${source}.report must contain the {format} placeholder.`);
  }
  return { method, path };
}

const OverrideJson = z.record(z.string(), z.string());

/**
 * Parses a route override such as CRASHTEST_ROUTES:
 * `{"startScan":"POST /teams/{teamId}/projects/{projectId}/scans"}`. Unknown operations and
 * placeholders are rejected with an AppError("config") naming the culprit.
 */
export function parseRouteOverrides(text: string, source = "CRASHTEST_ROUTES"): Partial<RouteTable> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError("config", `${source} is not valid JSON; expected {"operation":"METHOD /path"}.`);
  }
  const parsed = OverrideJson.safeParse(json);
  if (!parsed.success) {
    throw new AppError("config", `${source} must be a JSON object of operation name to "METHOD /path".`);
  }
  const out: Partial<Record<Operation, Route>> = {};
  for (const [name, value] of Object.entries(parsed.data)) {
    if (!(OPERATIONS as readonly string[]).includes(name)) {
      throw new AppError(
        "config",
        `${source}: unknown operation "${name}"; known operations: ${OPERATIONS.join(", ")}.`,
      );
    }
    const operation = name as Operation;
    out[operation] = parseRoute(operation, value, source);
  }
  return out;
}

export function resolveRoutes(overrides: Partial<RouteTable> = {}): RouteTable {
  return { ...DEFAULT_ROUTES, ...overrides };
}
