import assert from "node:assert/strict";
import { test } from "node:test";
import { webApi } from "@slack/bolt";
import cron from "node-cron";
import { SlackEmulator } from "../dev/slack-emulator/index.js";
import { startParts } from "../src/bot-parts.js";
import { loadConfig } from "../src/config.js";
import { systemClock } from "../src/domain/ports.js";
import { BackgroundTasks } from "../src/domain/tasks.js";
import { createSlackApp } from "../src/slack/app.js";
import { openStore, storeHealth } from "../src/store/index.js";
import { emulatorSlackEnv } from "./support/bot.js";
import { FakeResolver } from "./support/dns.js";
import { captureLogger } from "./support/logs.js";

test("the command surface is ready for requests before the cron jobs are scheduled", async (t) => {
  const emulator = await SlackEmulator.start();
  const config = loadConfig({
    ...emulatorSlackEnv(emulator),
    PORT: "0",
    STORE_URL: "memory://",
    SCANNER: "simulator",
    ADMIN_USERS: "U0ALICE",
  });
  if (config.slack.mode === "unconfigured") throw new Error("needs Slack settings");
  const { logger } = captureLogger(config.secrets);
  const store = await openStore({ url: config.storeUrl });
  const tasks = new BackgroundTasks(logger);
  const closers: Array<() => Promise<void>> = [() => store.close()];
  t.after(async () => {
    await tasks.drain(5000);
    for (const close of closers.reverse()) await close();
    await emulator.close();
  });
  const slackApp = createSlackApp({
    slack: config.slack,
    port: 0,
    logger,
    logLevel: config.logLevel,
    health: storeHealth(store),
    clientOptions: { retryConfig: webApi.retryPolicies.rapidRetryPolicy },
  });
  // As bot.ts does: the receiver listens (after the installation check), then the parts are built.
  await slackApp.start();
  closers.push(() => slackApp.stop());
  // Tasks may be created while the parts are wired; they run once started (scheduled).
  const scheduled = () =>
    [...cron.getTasks().values()].filter((task) => task.getStatus() !== "stopped").length;
  const tasksBefore = scheduled();
  let tasksAtReady: number | undefined;
  await startParts({
    config,
    store,
    slackApp,
    logger,
    clock: systemClock,
    tasks,
    overrides: { resolver: new FakeResolver() },
    closers,
    surfaceReady: () => {
      tasksAtReady = scheduled();
    },
  });
  assert.equal(tasksAtReady, tasksBefore, "no cron job scheduled yet when requests may go on");
  assert.ok(scheduled() > tasksBefore, "the cron jobs are scheduled by the end of the start");
});
