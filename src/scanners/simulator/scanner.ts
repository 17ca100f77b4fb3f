import { randomUUID } from "node:crypto";
import type { KeyValueStore, Logger } from "../../domain/ports.js";
import type { RouteTable } from "../crashtest/routes.js";
import { type CrashtestScanner, createCrashtestScanner } from "../crashtest/scanner.js";
import { type SimulatorHandle, type SimulatorTiming, startSimulator } from "./server.js";

export interface SimulatedScannerOptions {
  logger: Logger;
  /** From configuration (SIMULATOR_QUEUE_SECONDS, SIMULATOR_RUN_SECONDS, SIMULATOR_OUTCOME). */
  timing?: Partial<SimulatorTiming>;
  /** Project names to pre-create in the simulator and drive through webhook mode. */
  webhookProjects?: readonly string[];
  routes?: Partial<RouteTable>;
  /** The bot's store: the simulator keeps its projects, scans and ID counters there, beside the bot's records. */
  store?: KeyValueStore;
  /** REPORT_MAX_BYTES. */
  maxReportBytes?: number;
}

const STATE_NAMESPACE = "simulator";
const STATE_KEY = "state";

export interface SimulatedScanner extends CrashtestScanner {
  readonly simulator: SimulatorHandle;
}

/**
 * SCANNER=simulator: starts the simulator on loopback and points the production Crashtest adapter at
 * it, so demos exercise the real client code path. close() stops both.
 */
export async function createSimulatedScanner(options: SimulatedScannerOptions): Promise<SimulatedScanner> {
  const { store } = options;
  const simulator = await startSimulator({
    ...(options.timing === undefined ? {} : { timing: options.timing }),
    ...(options.routes === undefined ? {} : { routes: options.routes }),
    ...(store === undefined
      ? {}
      : {
          state: {
            load: () => store.get(STATE_NAMESPACE, STATE_KEY),
            save: (state) => store.set(STATE_NAMESPACE, STATE_KEY, state),
          },
        }),
  });
  const webhooks = (options.webhookProjects ?? []).map((name) => {
    const url = `https://${name}.example.test`;
    // A webhook project saved by an earlier run keeps its secret (and so its scans).
    const known = simulator.findProject(name)?.webhookSecret;
    const secret = known ?? randomUUID();
    if (known === undefined) simulator.addProject({ name, url, webhookSecret: secret });
    return { name, secret, url };
  });
  const scanner = createCrashtestScanner({
    name: "simulator",
    logger: options.logger,
    baseUrl: simulator.url,
    apiKey: simulator.apiKey,
    teamId: simulator.teamId,
    webhooks,
    ...(options.routes === undefined ? {} : { routes: options.routes }),
    ...(options.maxReportBytes === undefined ? {} : { maxReportBytes: options.maxReportBytes }),
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
