import { randomUUID } from "node:crypto";
import type { Logger } from "../../domain/ports.js";
import type { RouteTable } from "../crashtest/routes.js";
import { type CrashtestScanner, createCrashtestScanner } from "../crashtest/scanner.js";
import { type SimulatorHandle, type SimulatorTiming, startSimulator } from "./server.js";

export interface SimulatedScannerOptions {
  logger: Logger;
  /** From readSimulatorTiming(process.env). */
  timing?: Partial<SimulatorTiming>;
  /** Project names to pre-create in the simulator and drive through webhook mode. */
  webhookProjects?: readonly string[];
  routes?: Partial<RouteTable>;
}

export interface SimulatedScanner extends CrashtestScanner {
  readonly simulator: SimulatorHandle;
}

/**
 * SCANNER=simulator: starts the simulator on loopback and points the production Crashtest adapter at
 * it, so demos exercise the real client code path. close() stops both.
 */
export async function createSimulatedScanner(options: SimulatedScannerOptions): Promise<SimulatedScanner> {
  const simulator = await startSimulator({
    ...(options.timing === undefined ? {} : { timing: options.timing }),
    ...(options.routes === undefined ? {} : { routes: options.routes }),
  });
  const webhooks = (options.webhookProjects ?? []).map((name) => {
    const secret = randomUUID();
    simulator.addProject({ name, url: `https://${name}.example.test`, webhookSecret: secret });
    return { name, secret, url: `https://${name}.example.test` };
  });
  const scanner = createCrashtestScanner({
    name: "simulator",
    logger: options.logger,
    baseUrl: simulator.url,
    apiKey: simulator.apiKey,
    teamId: simulator.teamId,
    webhooks,
    ...(options.routes === undefined ? {} : { routes: options.routes }),
  });
  return {
    ...scanner,
    simulator,
    close: async () => {
      await scanner.close();
      await simulator.close();
    },
  };
}
