import { webApi } from "@slack/bolt";
import type { SlackEmulator } from "../../dev/slack-emulator/index.js";
import type { Logger } from "../../src/domain/ports.js";
import { createCrashtestScanner } from "../../src/scanners/index.js";

/** The pieces tests that wire the domain by hand share (tests of the whole bot use support/bot.ts). */

/** A Web API client on the emulator that retries at once and logs only errors. */
export function emulatorClient(emulator: Pick<SlackEmulator, "botToken" | "apiUrl">): webApi.WebClient {
  return new webApi.WebClient(emulator.botToken, {
    slackApiUrl: emulator.apiUrl,
    retryConfig: webApi.retryPolicies.rapidRetryPolicy,
    logLevel: webApi.LogLevel.ERROR,
  });
}

/** The scanner simulator through the real Crashtest adapter, without retries: one call is one request. */
export function simulatorScanner(sim: { url: string; apiKey: string; teamId: string }, logger: Logger) {
  return createCrashtestScanner({
    name: "simulator",
    logger,
    baseUrl: sim.url,
    apiKey: sim.apiKey,
    teamId: sim.teamId,
    retry: { maxRetries: 0 },
  });
}
