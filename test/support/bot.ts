import { webApi } from "@slack/bolt";
import { loadConfig } from "../../src/config.js";
import { SlackEmulator, type SlackEmulatorOptions } from "../../src/dev/slack-emulator/index.js";
import { type Bot, startBot } from "../../src/main.js";
import { captureLogger } from "./logs.js";

/**
 * The real bot, in-process, in HTTP mode, against the Slack emulator: every request it gets is signed
 * like Slack's, and every Web API call it makes lands in the emulator's recorded state.
 */
export async function startTestBot(
  options: { env?: Record<string, string>; emulator?: SlackEmulatorOptions } = {},
) {
  const emulator = await SlackEmulator.start(options.emulator);
  const env = {
    SLACK_BOT_TOKEN: emulator.botToken,
    SLACK_SIGNING_SECRET: emulator.signingSecret,
    SLACK_API_URL: emulator.apiUrl,
    PORT: "0",
    STORE_URL: "memory://",
    LOG_LEVEL: "debug",
    ...options.env,
  };
  const config = loadConfig(env);
  if (config.slack.mode === "unconfigured") throw new Error("test bot needs Slack settings");
  const logs = captureLogger(config.secrets);
  let bot: Bot;
  try {
    bot = await startBot(config, config.slack, {
      logger: logs.logger,
      clientOptions: { retryConfig: webApi.retryPolicies.rapidRetryPolicy },
    });
  } catch (error) {
    await emulator.close();
    throw error;
  }
  emulator.requestUrl = `http://127.0.0.1:${bot.port}/slack/events`;
  return {
    emulator,
    bot,
    logs,
    config,
    baseUrl: `http://127.0.0.1:${bot.port}`,
    async close() {
      await bot.stop();
      await emulator.close();
    },
  };
}

export type TestBot = Awaited<ReturnType<typeof startTestBot>>;

/** Background work answers after the ack; wait until a condition holds (bounded). */
export async function eventually<T>(probe: () => T | Promise<T>, timeoutMs = 5000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
