import type { ServerResponse } from "node:http";
// node:net, not node:http: importing node:http as an ES module evaluates all its exports, lazy ones
// included, which loads node's own undici (25-30 ms of a start). Bolt's http.Server is a net.Server.
import { Server } from "node:net";
import {
  App,
  type CustomRoute,
  HTTPModuleFunctions,
  HTTPReceiver,
  type Receiver,
  SocketModeReceiver,
  type webApi,
} from "@slack/bolt";

type WebClientOptions = webApi.WebClientOptions;

import type { SlackConfig } from "../config.js";
import type { Logger, LogLevel } from "../domain/ports.js";
import { SlackGateway } from "./gateway.js";
import { type Installation, installationGuard, learnInstallation } from "./installation.js";
import { boltLevel, boltLogger } from "./logger.js";

export type ConfiguredSlack = Exclude<SlackConfig, { mode: "unconfigured" }>;

export interface HealthReport {
  ok: boolean;
  checks: Record<string, string>;
}

export interface SlackAppOptions {
  slack: ConfiguredSlack;
  port: number;
  logger: Logger;
  logLevel: LogLevel;
  health: () => Promise<HealthReport>;
  /** Extra Web client options (tests pass a rapid retry policy). */
  clientOptions?: Partial<WebClientOptions>;
  /** Report transfers at once (REPORT_TRANSFERS_MAX). */
  maxTransfers?: number;
  /**
   * Settles once the listeners are registered (bot.ts builds them after start()): requests that come
   * earlier wait for it, after the installation check.
   */
  listeners?: Promise<unknown>;
}

export interface SlackApp {
  app: App;
  /** Every Web API call the bot makes, the installation check's included. */
  gateway: SlackGateway;
  /** Resolves to the port actually bound (PORT=0 picks a free one). */
  start(): Promise<number>;
  stop(): Promise<void>;
}

function healthRoute(health: () => Promise<HealthReport>, logger: Logger): CustomRoute {
  return {
    path: "/healthz",
    method: ["GET"],
    handler: (_req, res: ServerResponse) => {
      health()
        .catch((error: unknown): HealthReport => {
          logger.warn("health check failed", { error });
          return { ok: false, checks: { health: "error" } };
        })
        .then((report) => {
          res.writeHead(report.ok ? 200 : 503, { "content-type": "application/json" });
          res.end(JSON.stringify(report));
        });
    },
  };
}

/** The HTTP server SocketModeReceiver keeps for custom routes (Bolt has it private). */
function socketModeHealthServer(receiver: Receiver): Server | undefined {
  const server = (receiver as unknown as { httpServer?: unknown }).httpServer;
  return server instanceof Server ? server : undefined;
}

/** Settles once the server listens or fails to; attach before listen() so an error is not unhandled. */
function listeningOn(server: Server): Promise<void> {
  const ready = new Promise<void>((resolve, reject) => {
    if (server.listening) return resolve();
    server.once("listening", () => {
      server.off("error", reject);
      resolve();
    });
    server.once("error", reject);
  });
  ready.catch(() => undefined);
  return ready;
}

/**
 * Builds the Bolt app in Socket Mode (SLACK_APP_TOKEN set) or HTTP mode (signing secret, Bolt's
 * default path /slack/events). Both serve GET /healthz on PORT and both send Web API calls to
 * SLACK_API_URL, including the Socket Mode client's own apps.connections.open.
 */
export function createSlackApp(options: SlackAppOptions): SlackApp {
  const { slack, port, logger } = options;
  const log = boltLogger(logger, boltLevel(options.logLevel));
  const clientOptions: WebClientOptions = { slackApiUrl: slack.apiUrl, ...options.clientOptions };
  const routes = [healthRoute(options.health, logger)];

  let receiver: Receiver;
  if (slack.mode === "socket") {
    receiver = new SocketModeReceiver({
      appToken: slack.appToken,
      logger: log,
      customRoutes: routes,
      // A copy: the Socket Mode client writes its own retry default (100 retries) into the object it
      // gets, which would otherwise become the retry policy of every Web API call the bot makes.
      installerOptions: { port, clientOptions: { ...clientOptions } },
    });
  } else {
    receiver = new HTTPReceiver({
      signingSecret: slack.signingSecret,
      logger: log,
      customRoutes: routes,
      port,
      // A signed payload that Bolt cannot even route (no user, wrong shapes) is the sender's fault: 400,
      // not 500, which Slack would retry. Everything else keeps Bolt's handling.
      processEventErrorHandler: async (args) => {
        if (args.error instanceof TypeError && !args.response.headersSent) {
          logger.warn("malformed Slack payload refused", { error: args.error });
          args.response.writeHead(400);
          args.response.end();
          return false;
        }
        return HTTPModuleFunctions.defaultProcessEventErrorHandler(args);
      },
    });
  }

  // No conversation store: the bot never reads it, and it costs every request a store round trip.
  const app = new App({ token: slack.botToken, receiver, logger: log, clientOptions, convoStore: false });
  app.error(async (error) => {
    logger.error("unhandled Slack listener error", { error });
  });
  // One workspace, one app: runs before every listener, whatever order they were registered in.
  let installation: Installation | undefined;
  app.use(installationGuard(() => installation, logger));
  const { listeners } = options;
  if (listeners) {
    let registered = false;
    listeners.then(
      () => {
        registered = true;
      },
      () => undefined,
    );
    app.use(async ({ next }) => {
      if (!registered) await listeners;
      await next();
    });
  }
  const gateway = new SlackGateway(app.client, {
    ...(options.maxTransfers === undefined ? {} : { maxTransfers: options.maxTransfers }),
  });
  // Asked now, answered while the rest of the bot is built: Slack's round trips (auth.test, bots.info)
  // need not wait for the store and the watcher. start() waits for the answer (and throws its error).
  const learned = learnInstallation(gateway, slack.installation);
  learned.catch(() => undefined);

  return {
    app,
    gateway,
    async start() {
      // Socket Mode: Bolt listens on PORT (for /healthz) without waiting for it, and app.start()
      // resolves with the apps.connections.open answer, not with that server.
      const health = slack.mode === "socket" ? socketModeHealthServer(receiver) : undefined;
      const listening = health ? listeningOn(health) : undefined;
      let server: unknown;
      try {
        // Before the receiver starts, so no request is ever judged against an unknown installation.
        installation = await learned;
        server = await app.start(port);
        if (health) {
          await listening;
          server = health;
        }
      } catch (error) {
        // A failed start (say, invalid_auth from apps.connections.open) must not leave PORT open.
        await app.stop().catch(() => undefined);
        throw error;
      }
      const address = (server as { address?: () => unknown } | undefined)?.address?.();
      const bound =
        typeof address === "object" && address !== null && "port" in address ? Number(address.port) : port;
      logger.info("slack app started", { mode: slack.mode, port: bound, ...installation });
      return bound;
    },
    async stop() {
      await app.stop();
    },
  };
}
