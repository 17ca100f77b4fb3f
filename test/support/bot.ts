import assert from "node:assert/strict";
import { webApi } from "@slack/bolt";
import { SlackEmulator, type SlackEmulatorOptions } from "../../dev/slack-emulator/index.js";
import { loadConfig } from "../../src/config.js";
import type { Clock, HostResolver } from "../../src/domain/ports.js";
import { type Bot, type BotOverrides, startBot } from "../../src/main.js";
import { FakeResolver } from "./dns.js";
import { captureLogger } from "./logs.js";

/** The bot's Slack settings (HTTP mode) against the emulator. */
export const emulatorSlackEnv = (emulator: SlackEmulator) => ({
  SLACK_BOT_TOKEN: emulator.botToken,
  SLACK_SIGNING_SECRET: emulator.signingSecret,
  SLACK_API_URL: emulator.apiUrl,
});

/**
 * The real bot, in-process, against the Slack emulator: in HTTP mode (default) every request it gets is
 * signed like Slack's; with `mode: "socket"` it connects over Socket Mode (SLACK_APP_TOKEN, no signing
 * secret) and gets envelopes instead. Every Web API call it makes lands in the emulator's recorded state.
 */
export const PEOPLE = {
  admin: "U0ALICE",
  approver: "U0BOB",
  groupApprover: "U0DAVE",
  operator: "U0CAROL",
  stranger: "U0MALLORY",
} as const;

/** Five people with distinct roles, so permission and four-eyes rules can be exercised. */
export const SURFACE_EMULATOR: SlackEmulatorOptions = {
  users: [
    { id: PEOPLE.admin, name: "alice" },
    { id: PEOPLE.approver, name: "bob" },
    { id: PEOPLE.groupApprover, name: "dave" },
    { id: PEOPLE.operator, name: "carol" },
    { id: PEOPLE.stranger, name: "mallory" },
  ],
  userGroups: [{ id: "S0APPROVERS", handle: "approvers", users: [PEOPLE.groupApprover] }],
};

export const SURFACE_ENV = {
  ADMIN_USERS: PEOPLE.admin,
  APPROVER_USERS: `${PEOPLE.approver},S0APPROVERS`,
  OPERATOR_USERS: PEOPLE.operator,
};

export async function startTestBot(
  options: {
    env?: Record<string, string>;
    emulator?: SlackEmulatorOptions;
    clock?: Clock;
    mode?: "http" | "socket";
    /** DNS for target host names; by default every name points to a public address. */
    resolver?: HostResolver;
    overrides?: Pick<BotOverrides, "audit">;
  } = {},
) {
  const emulator = await SlackEmulator.start(options.emulator);
  const socket = options.mode === "socket";
  const env = {
    SLACK_BOT_TOKEN: emulator.botToken,
    ...(socket ? { SLACK_APP_TOKEN: emulator.appToken } : { SLACK_SIGNING_SECRET: emulator.signingSecret }),
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
      resolver: options.resolver ?? new FakeResolver(),
      ...(options.clock ? { clock: options.clock } : {}),
      ...options.overrides,
    });
  } catch (error) {
    await emulator.close();
    throw error;
  }
  // Socket Mode: startBot resolved after the hello, so deliveries already go over the socket.
  if (!socket) emulator.requestUrl = `http://127.0.0.1:${bot.port}/slack/events`;
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

/** Scans that end within seconds on the simulator, polled every second (tests add REQUIRE_APPROVAL). */
export const QUICK_SCANS_ENV = {
  SIMULATOR_QUEUE_SECONDS: "0",
  SIMULATOR_RUN_SECONDS: "1",
  SCAN_POLL_INTERVAL_SECONDS: "1",
  SCAN_WATCH_TICK_SECONDS: "1",
};

/** The bot on the surface emulator (or `emulator`) with QUICK_SCANS_ENV, and `env` over both. */
export function startQuickScanBot(
  env: Record<string, string>,
  emulator: SlackEmulatorOptions = SURFACE_EMULATOR,
) {
  return startTestBot({ env: { ...SURFACE_ENV, ...QUICK_SCANS_ENV, ...env }, emulator });
}

/**
 * `/crashtest <text>` typed by `user` in `channel`, signed like Slack's: the ack must be a 200, and this
 * resolves to the ephemeral answer once it has arrived.
 */
export async function commandReply(
  t: Pick<TestBot, "emulator">,
  user: string,
  channel: string,
  text: string,
  timeoutMs = 5000,
): Promise<EphemeralMessage> {
  const seen = t.emulator.ephemerals(user).length;
  const sent = await t.emulator.slashCommand({ user, channel, text });
  assert.equal(sent.status, 200, `the ack of /crashtest ${text}`);
  return eventually(() => t.emulator.ephemerals(user)[seen], timeoutMs);
}

/**
 * `scan start <project>` by `user` in `channel`, waited for until the project's `index`-th scan card
 * shows its findings history line (the scan ended and was compared): that card's ts and visible text.
 */
export async function scanToHistory(
  t: Pick<TestBot, "emulator">,
  where: { user: string; channel: string; project: string },
  index: number,
): Promise<{ ts: string; text: string }> {
  const { user, channel, project } = where;
  await commandReply(t, user, channel, `scan start ${project}`, 10_000);
  const card = await eventually(
    () =>
      t.emulator
        .channelMessages(channel)
        .filter((m) => m.text.startsWith("Scan ") && m.text.includes(` of ${project}`))[index],
    10_000,
  );
  const text = await eventually(() => {
    const shown = visibleText(t.emulator.message(channel, card.ts));
    return /Since the last scan|First scan/.test(shown) ? shown : undefined;
  }, 20_000);
  return { ts: card.ts, text };
}

/**
 * A signed click on a button (or menu option: `value`) of a message in `channel`; the interaction must be
 * acked with 200. `seen` counts the clicker's ephemerals before it; `answer` waits for the next one.
 */
export async function clickFor(
  t: Pick<TestBot, "emulator">,
  click: {
    user: string;
    channel: string;
    messageTs: string;
    actionId: string;
    blockId?: string;
    value?: string;
  },
) {
  const { user, blockId, value } = click;
  const seen = t.emulator.ephemerals(user).length;
  const sent = await t.emulator.click({
    user,
    channel: click.channel,
    messageTs: click.messageTs,
    actionId: click.actionId,
    ...(blockId ? { blockId } : {}),
    ...(value ? { value } : {}),
  });
  assert.equal(sent.status, 200, `the ack of a click on ${click.actionId}`);
  return {
    seen,
    answer: async (timeoutMs = 5000) =>
      visibleText(await eventually(() => t.emulator.ephemerals(user)[seen], timeoutMs)),
  };
}

/** Opens `user`'s App Home and returns the view the bot published in answer. */
export async function openHome(t: Pick<TestBot, "emulator">, user: string) {
  const published = t.emulator.calls("views.publish").length;
  await t.emulator.homeOpened(user);
  await eventually(() => t.emulator.calls("views.publish").length > published);
  const home = t.emulator.views(user).find((v) => v.type === "home");
  assert.ok(home, `a Home published for ${user}`);
  return {
    id: home.id,
    json: JSON.stringify(home.view),
    text: visibleText(home.view as { blocks?: unknown }),
  };
}

type EphemeralMessage = NonNullable<ReturnType<SlackEmulator["ephemerals"]>[number]>;

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

/**
 * Waits until the emulator has seen no Web API call for `quietMs` (bounded): work an earlier step
 * started in the background (card edits, thread replies) is over before a test counts calls.
 */
export async function slackQuiet(emulator: Pick<SlackEmulator, "calls">, quietMs = 400, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let seen = emulator.calls().length;
  let since = Date.now();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    const now = emulator.calls().length;
    if (now !== seen) {
      seen = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    if (Date.now() > deadline) throw new Error(`Slack calls did not settle within ${timeoutMs} ms`);
  }
}

/** Everything a person sees in a message: its fallback text and every text inside its blocks. */
export function visibleText(message: { text?: string; blocks?: unknown } | undefined): string {
  if (!message) return "";
  const parts: string[] = [message.text ?? ""];
  JSON.stringify(message.blocks ?? [], (key, value) => {
    if (key === "text" && typeof value === "string") parts.push(value);
    return value;
  });
  return parts.join("\n");
}
