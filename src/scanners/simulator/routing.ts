import type { ServerResponse } from "node:http";
import {
  OPERATIONS,
  type Operation,
  type Route,
  type RouteTable,
  resolveRoutes,
  WEBHOOK_ROUTES,
  type WebhookOperation,
} from "../crashtest/routes.js";

/** The simulator's routing: the client's route table compiled to matchers, and how replies are sent. */

export type SimOperation = Operation | WebhookOperation;

interface CompiledRoute {
  operation: SimOperation;
  method: string;
  pattern: RegExp;
  names: string[];
}

function compile(operation: SimOperation, route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split(/(\{[^{}]+\})/)
    .map((part) => {
      if (part.startsWith("{") && part.endsWith("}")) {
        names.push(part.slice(1, -1));
        return "([^/]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("");
  return { operation, method: route.method, pattern: new RegExp(`^${source}$`), names };
}

/** A matcher over the REST routes (defaults or overrides) and the webhook paths. */
export function routeMatcher(overrides?: Partial<RouteTable>) {
  const table = resolveRoutes(overrides);
  const routes: CompiledRoute[] = [
    ...OPERATIONS.map((operation) => compile(operation, table[operation])),
    ...(Object.keys(WEBHOOK_ROUTES) as WebhookOperation[]).map((operation) =>
      compile(operation, WEBHOOK_ROUTES[operation]),
    ),
  ];
  return (
    method: string,
    path: string,
  ): { operation: SimOperation; params: Record<string, string> } | undefined => {
    for (const route of routes) {
      if (route.method !== method) continue;
      const found = route.pattern.exec(path);
      if (!found) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, index) => {
        params[name] = decodeURIComponent(found[index + 1] ?? "");
      });
      return { operation: route.operation, params };
    }
    return undefined;
  };
}

export function isRestOperation(operation: SimOperation): operation is Operation {
  return (OPERATIONS as readonly string[]).includes(operation);
}

export type Reply = {
  status: number;
  body: string | Uint8Array;
  type?: string;
  headers?: Record<string, string>;
};

export const json = (status: number, value: unknown): Reply => ({
  status,
  body: JSON.stringify(value),
  type: "application/json",
});
export const error = (status: number, message: string): Reply =>
  json(status, { message, status_code: status });

export function send(res: ServerResponse, reply: Reply): void {
  const bytes = typeof reply.body === "string" ? Buffer.from(reply.body) : Buffer.from(reply.body);
  res.writeHead(reply.status, {
    ...(reply.type === undefined ? {} : { "content-type": reply.type }),
    "content-length": String(bytes.byteLength),
    ...reply.headers,
  });
  res.end(bytes);
}
