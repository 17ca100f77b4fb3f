/**
 * What config.ts reads for the scanners: each adapter's settings and their checks, without the
 * adapters' code, which from-config.ts loads for the configured scanner only.
 */

export { parseRouteOverrides, type RouteTable } from "./crashtest/routes.js";
export { parseWebhookProjects, type WebhookProject } from "./crashtest/webhook-projects.js";
export { STOP_ACTIONS as DAST_STOP_ACTIONS } from "./dast-essentials/api.js";
export { selectDastAccount } from "./dast-essentials/settings.js";
export {
  checkTeamId as parseDastTeamId,
  parseScanType as parseDastScanType,
  parseTargetType as parseDastTargetType,
} from "./dast-essentials/targets.js";
export { DEFAULT_REPORT_MAX_BYTES } from "./reports.js";
export type { SimulatorTiming } from "./simulator/server.js";
