/**
 * Scanner adapters: the folder's whole surface, for tests and dev tools. The bot's start imports only
 * settings.ts (through config.ts) and from-config.ts, so that only the configured adapter is loaded.
 * Domain code sees only the Scanner port.
 */

export type { RetrySettings, Timeouts } from "../http/transport.js";
export type { RouteTable } from "./crashtest/routes.js";
export {
  type CrashtestScanner,
  type CrashtestScannerOptions,
  createCrashtestScanner,
  DEFAULT_CRASHTEST_URL,
} from "./crashtest/scanner.js";
export {
  DAST_REPORT_FORMATS,
  DAST_TCS_PATH,
  DEFAULT_DAST_API_URL,
  SCAN_TYPES as DAST_SCAN_TYPES,
  type ScanType as DastScanType,
  type StopAction as DastStopAction,
  TARGET_TYPES as DAST_TARGET_TYPES,
  type TargetType as DastTargetType,
} from "./dast-essentials/api.js";
export {
  createDastEssentialsScanner,
  type DastEssentialsScanner,
  type DastEssentialsScannerOptions,
} from "./dast-essentials/scanner.js";
export { dastApiUrl } from "./dast-essentials/settings.js";
export {
  TARGET_OPTION_KEYS as DAST_TARGET_OPTION_KEYS,
  type TargetDefaults as DastTargetDefaults,
} from "./dast-essentials/targets.js";
export { summarizeFindingsJson, summarizeJunit, summarizeReport } from "./findings.js";
export { scannerFromConfig } from "./from-config.js";
export {
  DAST_STOP_ACTIONS,
  DEFAULT_REPORT_MAX_BYTES,
  parseDastScanType,
  parseDastTargetType,
  parseDastTeamId,
  parseRouteOverrides,
  parseWebhookProjects,
  selectDastAccount,
  type WebhookProject,
} from "./settings.js";
export {
  createSimulatedScanner,
  type SimulatedScanner,
  type SimulatedScannerOptions,
} from "./simulator/scanner.js";
export {
  type SimulatorHandle,
  type SimulatorOptions,
  type SimulatorTiming,
  startSimulator,
} from "./simulator/server.js";
