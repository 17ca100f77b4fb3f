import type { AnyMiddlewareArgs, Middleware } from "@slack/bolt";
import * as z from "zod";
import type { SlackInstallation } from "../config.js";
import { readOutside } from "../domain/outside.js";
import type { Logger } from "../domain/ports.js";
import type { SlackGateway } from "./gateway.js";

/** The one workspace (or organization) and app this bot serves. */
export interface Installation {
  teamId: string;
  enterpriseId?: string;
  appId: string;
}

/**
 * Learns the installation from the bot token: `auth.test` names the workspace (and organization),
 * `bots.info` the app (auth.test has no app ID; https://api.slack.com/methods/auth.test,
 * https://api.slack.com/methods/bots.info, scope users:read). SLACK_TEAM_ID / SLACK_APP_ID override.
 */
export async function learnInstallation(
  slack: Pick<SlackGateway, "identity" | "appIdOf">,
  configured: SlackInstallation = {},
): Promise<Installation> {
  let teamId = configured.teamId;
  let enterpriseId: string | undefined;
  let appId = configured.appId;
  if (teamId === undefined || appId === undefined) {
    const auth = await slack.identity();
    teamId ??= auth.teamId;
    enterpriseId = auth.enterpriseId;
    if (appId === undefined) {
      if (!auth.botId) throw new Error("auth.test named no bot; set SLACK_APP_ID");
      try {
        appId = await slack.appIdOf(auth.botId);
      } catch (error) {
        throw new Error("could not learn the app ID with bots.info (needs users:read); set SLACK_APP_ID", {
          cause: error,
        });
      }
    }
  }
  // An organization ID given as SLACK_TEAM_ID (E…) pins the organization instead of one workspace.
  if (teamId.startsWith("E")) return { teamId, enterpriseId: teamId, appId };
  return { teamId, appId, ...(enterpriseId ? { enterpriseId } : {}) };
}

/** What a request says about the installation it is for (never the user's own team). */
export interface RequestSource {
  teamId: string | undefined;
  enterpriseId: string | undefined;
  appId: string | undefined;
}

const id = z.string().min(1).max(64);
const teamRef = z.object({ id: id.optional(), enterprise_id: id.nullish() }).nullish();
// Plain objects: only these fields are read, and not copying every other key of every request's body
// keeps this guard a few µs (npm run bench).
const sourceFields = z.object({
  team_id: id.nullish(),
  enterprise_id: id.nullish(),
  api_app_id: id.nullish(),
  team: teamRef,
  enterprise: z.object({ id: id.optional() }).nullish(),
  view: z.object({ app_installed_team_id: id.nullish() }).nullish(),
  authorizations: z.array(z.object({ team_id: id.nullish(), enterprise_id: id.nullish() })).nullish(),
});

/**
 * The same installation fields Bolt's own source builder reads (bolt-js src/App.ts `buildSource`):
 * events name the installation in `authorizations[0]`, commands in `team_id`, interactions in `team`
 * (a modal opened from a Slack Connect channel in `view.app_installed_team_id`). `user.team_id` is the
 * clicker's home workspace and is deliberately not read: a guest from another workspace in a shared
 * channel is not refused for that alone; roles decide.
 */
export function requestSource(body: unknown): RequestSource {
  const b = readOutside(sourceFields, body);
  if (!b) return { teamId: undefined, enterpriseId: undefined, appId: undefined };
  const auth = b.authorizations?.[0];
  const teamId = auth?.team_id ?? b.view?.app_installed_team_id ?? b.team?.id ?? b.team_id ?? undefined;
  const enterpriseId =
    auth?.enterprise_id ?? b.enterprise?.id ?? b.team?.enterprise_id ?? b.enterprise_id ?? undefined;
  return { teamId, enterpriseId, appId: b.api_app_id ?? undefined };
}

/** Why a request is not for this installation, or undefined when it is. */
export function mismatch(source: RequestSource, installation: Installation): string | undefined {
  if (source.appId !== installation.appId) return "api_app_id";
  if (installation.enterpriseId !== undefined) {
    if (source.enterpriseId !== installation.enterpriseId) return "enterprise_id";
    // Pinned to an organization (SLACK_TEAM_ID=E…): any of its workspaces.
    if (installation.teamId === installation.enterpriseId) return undefined;
  } else if (source.enterpriseId !== undefined) {
    return "enterprise_id";
  }
  if (source.teamId !== installation.teamId) return "team_id";
  return undefined;
}

const MAX_LOGGED_SOURCES = 1000;

/**
 * Global middleware: a request for another workspace, organization or app stops here, before any
 * listener. It is acknowledged with an empty body (nothing useful to whoever sent it) and logged once
 * per source, so a flood cannot fill the log.
 */
export function installationGuard(
  installation: () => Installation | undefined,
  logger: Logger,
): Middleware<AnyMiddlewareArgs> {
  const logged = new Set<string>();
  return async (args) => {
    const expected = installation();
    const source = requestSource(args.body);
    const wrong = expected ? mismatch(source, expected) : "installation not learned yet";
    if (wrong === undefined) {
      await args.next();
      return;
    }
    if ("ack" in args && typeof args.ack === "function") await (args.ack as () => Promise<void>)();
    const key = `${source.teamId ?? "-"}|${source.enterpriseId ?? "-"}|${source.appId ?? "-"}`;
    if (logged.has(key)) return;
    if (logged.size < MAX_LOGGED_SOURCES) {
      logged.add(key);
      logger.warn("request for another installation refused", { field: wrong, ...source });
    } else if (logged.size === MAX_LOGGED_SOURCES) {
      logged.add("overflow");
      logger.warn("requests for other installations keep arriving from many sources; no longer logged");
    }
  };
}
