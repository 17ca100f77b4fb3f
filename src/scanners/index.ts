/** Scanner adapters: what config.ts and main.ts wire up. Domain code sees only the Scanner port. */

export type { RetrySettings, Timeouts } from "./crashtest/http.js";
export { parseRouteOverrides, type RouteTable } from "./crashtest/routes.js";
export {
  type CrashtestScanner,
  type CrashtestScannerOptions,
  createCrashtestScanner,
  DEFAULT_CRASHTEST_URL,
} from "./crashtest/scanner.js";
export { parseWebhookProjects, type WebhookProject } from "./crashtest/webhook.js";
export { summarizeFindingsJson, summarizeJunit, summarizeReport } from "./findings.js";
export {
  createSimulatedScanner,
  type SimulatedScanner,
  type SimulatedScannerOptions,
} from "./simulator/scanner.js";
export {
  readSimulatorTiming,
  type SimulatorHandle,
  type SimulatorOptions,
  type SimulatorTiming,
  startSimulator,
} from "./simulator/server.js";
