// First: refuses an unsupported Node before undici and Bolt load.
import "./node-version.js";
import { pathToFileURL } from "node:url";
import { type Bot, SHUTDOWN_DEADLINE_MS, startBot } from "./bot.js";
import { type Config, ConfigError, serviceConfig } from "./config.js";
import { AppError } from "./domain/errors.js";
import { createLogger, Redactor } from "./logger.js";

/** Process lifecycle: configuration, the bot (bot.ts builds and starts its parts), signals, exit codes. */

export { type Bot, type BotOverrides, startBot } from "./bot.js";

const README_HINT = 'See README.md ("Configuration") and .env.example.';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** Runs the bot as a service until SIGTERM or SIGINT. */
export async function main(): Promise<void> {
  let config: Config;
  try {
    config = serviceConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  // serviceConfig() requires Slack; this narrows the type.
  if (config.slack.mode === "unconfigured") fail(`Slack is not configured. ${README_HINT}`);
  const logger = createLogger({ level: config.logLevel, secrets: config.secrets });
  const redactor = new Redactor(config.secrets);
  // A library promise that rejects unhandled (Bolt's receiver on a malformed but signed body) must not
  // take the bot down: every piece of state lives in the store, so log it loudly and keep serving.
  process.on("unhandledRejection", (reason) => {
    logger.error("unhandled promise rejection; the bot keeps running", { error: reason });
  });
  let stopping = false;
  // Set before the start: the bot listens (and says "bot ready") while it is still building its parts,
  // and a SIGTERM then waits for the start to finish and stops it cleanly.
  let started: Promise<Bot> | undefined;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    const deadline = setTimeout(() => {
      logger.error("shutdown took longer than 10 s; exiting");
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    // A start that fails exits with its own message (below).
    started?.then(
      (bot) =>
        bot.stop().then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error("shutdown failed", { error });
            process.exit(1);
          },
        ),
      () => undefined,
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  try {
    started = startBot(config, config.slack, { logger });
    await started;
  } catch (error) {
    // One line a person can act on; the details (and any stack) are for debug logging only.
    logger.debug("start-up failed", { error });
    fail(
      redactor.text(
        error instanceof AppError
          ? `Start-up failed: ${error.userMessage}. ${README_HINT}`
          : `Start-up failed: ${error instanceof Error ? error.message : String(error)}`,
      ),
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
