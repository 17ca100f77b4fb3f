import type { Config } from "../config.js";
import type { KeyValueStore, Logger, Project, Scanner } from "../domain/ports.js";
import { selectDastAccount } from "./dast-essentials/settings.js";

/**
 * The scanner the configuration names: Crashtest, DAST Essentials (signing with a Veracode account) or
 * the simulator. Only that adapter's modules are loaded (the others' code and response schemas would
 * only lengthen the start).
 */
export async function scannerFromConfig(
  config: Pick<Config, "scanner" | "crashtest" | "dast" | "simulator" | "veracode" | "reportMaxBytes">,
  deps: { logger: Logger; store: KeyValueStore },
): Promise<Scanner & { readonly webhookProjects?: readonly Project[] }> {
  const { logger, store } = deps;
  if (config.scanner === "dast-essentials") {
    const { dast } = config;
    const { createDastEssentialsScanner } = await import("./dast-essentials/scanner.js");
    return createDastEssentialsScanner({
      logger,
      account: selectDastAccount(config.veracode.accounts, dast.account),
      stopAction: dast.stopAction,
      estimateUnit: dast.estimateUnit,
      maxReportBytes: config.reportMaxBytes,
      ...(dast.apiUrl ? { baseUrl: dast.apiUrl } : {}),
      targetDefaults: {
        ...(dast.targetType ? { targetType: dast.targetType } : {}),
        ...(dast.scanType ? { scanType: dast.scanType } : {}),
        ...(dast.teamId ? { teamId: dast.teamId } : {}),
      },
    });
  }
  if (config.scanner === "simulator") {
    logger.warn("using the built-in scanner simulator: no real scans run", { timing: config.simulator });
    const { createSimulatedScanner } = await import("./simulator/scanner.js");
    // Its projects and scans live in the bot's store, so both survive (or vanish with) a restart together.
    return createSimulatedScanner({
      logger,
      timing: config.simulator,
      store,
      maxReportBytes: config.reportMaxBytes,
    });
  }
  const { createCrashtestScanner } = await import("./crashtest/scanner.js");
  return createCrashtestScanner({
    logger,
    baseUrl: config.crashtest.apiUrl,
    ...(config.crashtest.apiKey ? { apiKey: config.crashtest.apiKey } : {}),
    ...(config.crashtest.teamId ? { teamId: config.crashtest.teamId } : {}),
    routes: config.crashtest.routes,
    webhooks: config.crashtest.webhooks,
    maxReportBytes: config.reportMaxBytes,
  });
}
