import { pathToFileURL } from "node:url";
import { type Config, ConfigError, loadConfig } from "./config.js";
import { AppError } from "./domain/errors.js";
import type { KeyValueStore, Logger } from "./domain/ports.js";
import { BackgroundTasks } from "./domain/tasks.js";
import { createLogger } from "./logger.js";
import { type ConfiguredSlack, createSlackApp, type SlackAppOptions } from "./slack/app.js";
import { helpCommand } from "./slack/commands/help.js";
import { registerCommands } from "./slack/commands/listener.js";
import { CommandTable } from "./slack/commands/table.js";
import { describeStoreUrl, openStore } from "./store/index.js";

const SHUTDOWN_DEADLINE_MS = 10_000;
const README_HINT = 'See README.md ("Configuration") and .env.example.';

export interface Bot {
  store: KeyValueStore;
  /** The HTTP port bound (Slack requests in HTTP mode, /healthz in both). */
  port: number;
  stop(): Promise<void>;
}

export interface BotOverrides {
  logger?: Logger;
  clientOptions?: SlackAppOptions["clientOptions"];
}

/** Wires every part of the bot and starts it; `stop` undoes it in reverse order. */
export async function startBot(
  config: Config,
  slack: ConfiguredSlack,
  overrides: BotOverrides = {},
): Promise<Bot> {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel, secrets: config.secrets });
  const store = await openStore({
    url: config.storeUrl,
    onBackendError: (error) => logger.warn("store backend error", { error }),
  });
  const tasks = new BackgroundTasks(logger);

  const table = new CommandTable<Record<string, never>>();
  table.add(helpCommand(table));

  const slackApp = createSlackApp({
    slack,
    port: config.port,
    logger,
    logLevel: config.logLevel,
    clientOptions: overrides.clientOptions,
    health: async () => {
      try {
        await store.ping();
        return { ok: true, checks: { store: "ok" } };
      } catch {
        return { ok: false, checks: { store: "unreachable" } };
      }
    },
  });
  registerCommands(slackApp.app, table, {}, tasks, logger);

  let port: number;
  try {
    port = await slackApp.start();
  } catch (error) {
    await store.close();
    throw error;
  }
  logger.info("bot ready", { store: describeStoreUrl(config.storeUrl), scanner: config.scanner });

  return {
    store,
    port,
    async stop() {
      await slackApp.stop();
      const unfinished = await tasks.drain(SHUTDOWN_DEADLINE_MS - 2000);
      if (unfinished > 0) logger.warn("shutdown left background work unfinished", { unfinished });
      await store.close();
    },
  };
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  if (config.slack.mode === "unconfigured") {
    fail(`Slack is not configured: set ${config.slack.missing.join(" and ")}. ${README_HINT}`);
  }
  let bot: Bot;
  try {
    bot = await startBot(config, config.slack);
  } catch (error) {
    fail(
      error instanceof AppError
        ? `Start-up failed: ${error.userMessage}. ${README_HINT}`
        : `Start-up failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal} received, shutting down\n`);
    const deadline = setTimeout(() => fail("shutdown took longer than 10 s; exiting"), SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    bot.stop().then(
      () => process.exit(0),
      (error: unknown) => fail(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
