import type { Config } from "./config.js";
import type { AuditOptions } from "./domain/audit.js";
import {
  type Clock,
  type HostResolver,
  type KeyValueStore,
  type Logger,
  type Scanner,
  systemClock,
} from "./domain/ports.js";
import { BackgroundTasks } from "./domain/tasks.js";
import { createLogger } from "./logger.js";
import { type ConfiguredSlack, createSlackApp, type SlackAppOptions } from "./slack/app.js";
import { describeStoreUrl, openStore, storeHealth } from "./store/index.js";

/**
 * The bot as one object: opens the store, builds the parts through their folders' factories, starts them
 * and stops them in reverse order. main.ts runs it as a process.
 */

/** How long a stop may take in all; background work gets this less 2 s to drain. */
export const SHUTDOWN_DEADLINE_MS = 10_000;

export interface Bot {
  store: KeyValueStore;
  scanner: Scanner;
  /** The HTTP port bound (Slack requests in HTTP mode, /healthz in both). */
  port: number;
  stop(): Promise<void>;
}

export interface BotOverrides {
  logger?: Logger;
  clientOptions?: SlackAppOptions["clientOptions"];
  clock?: Clock;
  /** How target host names are looked up (defaults to DNS). */
  resolver?: HostResolver;
  /** Audit batching (tests widen the window to prove shutdown writes it). */
  audit?: Partial<AuditOptions>;
}

/** Wires every part of the bot and starts it; `stop` undoes it in reverse order. */
export async function startBot(
  config: Config,
  slack: ConfiguredSlack,
  overrides: BotOverrides = {},
): Promise<Bot> {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel, secrets: config.secrets });
  const clock = overrides.clock ?? systemClock;
  for (const warning of config.warnings) logger.warn(warning);
  // The rest of the bot's modules (most of a start's time) load while the store opens and the
  // installation check waits on Slack; they are built once the receiver listens.
  const partsModule = import("./bot-parts.js");
  partsModule.catch(() => {});
  const store = await openStore({
    url: config.storeUrl,
    // Every reconnect attempt reports an error; the store says once that it went and once that it is back.
    onBackendError: (error) => logger.debug("store backend error", { error }),
    onHealth: (change) =>
      change.state === "unreachable"
        ? logger.warn("store unreachable: commands answer 'try again' until it is back", {
            error: change.error,
          })
        : logger.info("store back", { downSeconds: Math.round(change.downMs / 1000) }),
  });
  const closers: Array<() => Promise<void>> = [() => store.close()];
  const stop = async () => {
    for (const close of closers.reverse())
      await close().catch((error) => logger.warn("close failed", { error }));
  };
  try {
    const tasks = new BackgroundTasks(logger);
    const { port: httpPort, logLevel } = config;
    const listeners = Promise.withResolvers<unknown>();
    const slackApp = createSlackApp({
      slack,
      port: httpPort,
      logger,
      logLevel,
      clientOptions: overrides.clientOptions,
      health: storeHealth(store),
      maxTransfers: config.reportTransfersMax,
      listeners: listeners.promise,
    });
    // Configuration, the store (and its single-process lock) and the installation check come first;
    // the rest of the bot (its modules are most of the start's time) is built once the receiver listens,
    // and a request that comes meanwhile waits for it (a few hundred ms, inside Slack's 3 s).
    const port = await slackApp.start();
    const stopSlack = async () => {
      await slackApp.stop();
      const unfinished = await tasks.drain(SHUTDOWN_DEADLINE_MS - 2000);
      if (unfinished > 0) logger.warn("shutdown left background work unfinished", { unfinished });
    };
    const ready = {
      mode: slack.mode,
      port,
      store: describeStoreUrl(config.storeUrl),
      scanner: config.scanner,
    };
    logger.info("bot ready", { ...ready, veracodeAccounts: config.veracode.accounts.length });
    const surface = Promise.withResolvers<void>();
    const parts = partsModule.then(({ startParts }) =>
      startParts({
        config,
        store,
        slackApp,
        logger,
        clock,
        tasks,
        overrides,
        closers,
        surfaceReady: surface.resolve,
      }),
    );
    // Requests wait for the command surface, not for the cron jobs started after it; a failed start
    // fails them too.
    listeners.resolve(Promise.race([surface.promise, parts]));
    let scanner: Scanner;
    try {
      scanner = await parts;
    } catch (error) {
      await stopSlack();
      throw error;
    }
    closers.push(stopSlack);
    return { store, scanner, port, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
