/**
 * Which way the bot talks to Slack, from the tokens config.ts has read: Socket Mode with an app-level
 * token, HTTP mode with a signing secret, or unconfigured (the console). Token shapes and what is
 * missing are added to `problems`, worded with where each token is found in the Slack app's settings.
 */

/** The one installation the bot serves; unset fields are learned from auth.test/bots.info at start-up. */
export interface SlackInstallation {
  teamId?: string;
  appId?: string;
}

export type SlackConfig =
  | {
      mode: "socket";
      botToken: string;
      appToken: string;
      signingSecret?: string;
      apiUrl: string;
      installation?: SlackInstallation;
    }
  | {
      mode: "http";
      botToken: string;
      signingSecret: string;
      apiUrl: string;
      installation?: SlackInstallation;
    }
  | { mode: "unconfigured"; missing: string[]; apiUrl: string };

const SLACK_HINTS = {
  SLACK_BOT_TOKEN:
    "SLACK_BOT_TOKEN is not set: the bot token (xoxb-…) from your Slack app's OAuth & Permissions page",
  mode: "SLACK_APP_TOKEN (Socket Mode, an xapp-… token with connections:write) or SLACK_SIGNING_SECRET (HTTP mode, from Basic Information) is not set",
} as const;

export interface SlackSecrets {
  botToken: string | undefined;
  signingSecret: string | undefined;
  appToken: string | undefined;
  apiUrl: string;
  installation: SlackInstallation;
}

/** `required`: a missing token is a problem (production, or the bot as a service), not the console. */
export function slackConfig(secrets: SlackSecrets, required: boolean, problems: string[]): SlackConfig {
  const { botToken, signingSecret, appToken, apiUrl, installation } = secrets;
  if (botToken !== undefined && !botToken.startsWith("xoxb-")) {
    problems.push("SLACK_BOT_TOKEN must be a bot token starting with xoxb- (OAuth & Permissions)");
  }
  if (appToken !== undefined && !appToken.startsWith("xapp-")) {
    problems.push("SLACK_APP_TOKEN must be an app-level token starting with xapp- (with connections:write)");
  }

  if (appToken !== undefined && botToken !== undefined) {
    return {
      mode: "socket",
      botToken,
      appToken,
      apiUrl,
      installation,
      ...(signingSecret ? { signingSecret } : {}),
    };
  }
  if (appToken === undefined && botToken !== undefined && signingSecret !== undefined) {
    return { mode: "http", botToken, signingSecret, apiUrl, installation };
  }
  const missing = [
    ...(botToken === undefined ? ["SLACK_BOT_TOKEN"] : []),
    ...(appToken === undefined && signingSecret === undefined
      ? ["SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)"]
      : []),
  ];
  if (required) {
    if (botToken === undefined) problems.push(SLACK_HINTS.SLACK_BOT_TOKEN);
    if (appToken === undefined && signingSecret === undefined) problems.push(SLACK_HINTS.mode);
  }
  return { mode: "unconfigured", missing, apiUrl };
}
