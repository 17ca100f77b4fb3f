import { readFileSync } from "node:fs";
import { z } from "zod";
import type { LogLevel } from "./domain/ports.js";

/**
 * All configuration comes from the environment, is validated once at start-up, and is reported as one
 * error listing every problem by variable name (never by value). Secrets may come from NAME_FILE.
 */

export type Env = Record<string, string | undefined>;

export type SlackConfig =
  | { mode: "socket"; botToken: string; appToken: string; signingSecret?: string; apiUrl: string }
  | { mode: "http"; botToken: string; signingSecret: string; apiUrl: string }
  | { mode: "unconfigured"; missing: string[]; apiUrl: string };

export interface Config {
  nodeEnv: string;
  production: boolean;
  logLevel: LogLevel;
  port: number;
  slack: SlackConfig;
  storeUrl: string;
  scanner: "crashtest" | "simulator";
  crashtest: { apiUrl: string; apiKey?: string; teamId?: string };
  /** Every secret value, for log redaction. */
  secrets: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Configuration is invalid:\n${problems.map((p) => `  - ${p}`).join("\n")}\nSee README.md ("Configuration") and .env.example.`,
    );
    this.name = "ConfigError";
  }
}

const DEFAULT_SLACK_API_URL = "https://slack.com/api/";

const nonEmpty = (value: string | undefined) =>
  value === undefined || value.trim() === "" ? undefined : value;

/** Reads NAME, else the file named by NAME_FILE; a file that cannot be read is a problem. */
function readSecret(env: Env, name: string, problems: string[]): string | undefined {
  const direct = nonEmpty(env[name]);
  if (direct !== undefined) return direct.trim();
  const file = nonEmpty(env[`${name}_FILE`]);
  if (file === undefined) return undefined;
  try {
    const content = readFileSync(file, "utf8").trim();
    if (content === "") problems.push(`${name}_FILE: the file ${file} is empty`);
    return content || undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    problems.push(`${name}_FILE: cannot read ${file} (${code})`);
    return undefined;
  }
}

const httpUrl = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
  .transform((value) => value.replace(/\/*$/, "/"));

const plain = z.object({
  NODE_ENV: z.string().default("development"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  SLACK_API_URL: httpUrl.default(DEFAULT_SLACK_API_URL),
  SCANNER: z.enum(["crashtest", "simulator"]).optional(),
  CRASHTEST_API_URL: httpUrl.default("https://api.crashtest.cloud/"),
  CRASHTEST_TEAM_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be the numeric team ID from crashtest.cloud")
    .optional(),
});

const slackToken = (prefix: string) => (value: string) => value.startsWith(prefix);

export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const cleaned = Object.fromEntries(Object.keys(plain.shape).map((key) => [key, nonEmpty(env[key])]));
  const parsed = plain.safeParse(cleaned);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join(".")}: ${issue.message}`);
  }

  const botToken = readSecret(env, "SLACK_BOT_TOKEN", problems);
  const signingSecret = readSecret(env, "SLACK_SIGNING_SECRET", problems);
  const appToken = readSecret(env, "SLACK_APP_TOKEN", problems);
  const apiKey = readSecret(env, "CRASHTEST_API_KEY", problems);
  const storeUrl = readSecret(env, "STORE_URL", problems) ?? "sqlite://data/chatops.sqlite";

  if (botToken !== undefined && !slackToken("xoxb-")(botToken)) {
    problems.push("SLACK_BOT_TOKEN: must be a bot token starting with xoxb-");
  }
  if (appToken !== undefined && !slackToken("xapp-")(appToken)) {
    problems.push("SLACK_APP_TOKEN: must be an app-level token starting with xapp- (with connections:write)");
  }
  if (!/^(sqlite|redis|rediss|postgres|postgresql|memory):\/\//i.test(storeUrl)) {
    problems.push("STORE_URL: must start with sqlite://, redis://, rediss://, postgres:// or memory://");
  }

  const values = parsed.success ? parsed.data : undefined;
  const production = (values?.NODE_ENV ?? env.NODE_ENV) === "production";
  const apiUrl = values?.SLACK_API_URL ?? DEFAULT_SLACK_API_URL;

  let slack: SlackConfig;
  if (appToken !== undefined && botToken !== undefined) {
    slack = { mode: "socket", botToken, appToken, apiUrl, ...(signingSecret ? { signingSecret } : {}) };
  } else if (appToken === undefined && botToken !== undefined && signingSecret !== undefined) {
    slack = { mode: "http", botToken, signingSecret, apiUrl };
  } else {
    const missing = [
      ...(botToken === undefined ? ["SLACK_BOT_TOKEN"] : []),
      ...(appToken === undefined && signingSecret === undefined
        ? ["SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)"]
        : []),
    ];
    slack = { mode: "unconfigured", missing, apiUrl };
  }

  // The simulator must never stand in silently for a real scanner.
  let scanner = values?.SCANNER;
  if (scanner === undefined) {
    if (apiKey !== undefined) scanner = "crashtest";
    else if (production) problems.push("SCANNER: set CRASHTEST_API_KEY (or SCANNER=simulator for a demo)");
    else scanner = "simulator";
  }
  if (scanner === "crashtest") {
    if (apiKey === undefined) problems.push("CRASHTEST_API_KEY: required when SCANNER=crashtest");
    if (values && values.CRASHTEST_TEAM_ID === undefined) {
      problems.push("CRASHTEST_TEAM_ID: required when SCANNER=crashtest");
    }
  }
  if (scanner === "simulator" && apiKey !== undefined) {
    problems.push("SCANNER: is 'simulator' while CRASHTEST_API_KEY is set; unset one of them");
  }

  if (problems.length > 0 || !values || scanner === undefined) throw new ConfigError(problems);

  const secrets = [botToken, signingSecret, appToken, apiKey].filter((s): s is string => s !== undefined);
  // A store URL is only secret for its password.
  const storePassword = /\/\/[^:@/]*:([^@/]+)@/.exec(storeUrl)?.[1];
  if (storePassword) secrets.push(storePassword);

  return {
    nodeEnv: values.NODE_ENV,
    production,
    logLevel: values.LOG_LEVEL,
    port: values.PORT,
    slack,
    storeUrl,
    scanner,
    crashtest: {
      apiUrl: values.CRASHTEST_API_URL,
      ...(apiKey ? { apiKey } : {}),
      ...(values.CRASHTEST_TEAM_ID ? { teamId: values.CRASHTEST_TEAM_ID } : {}),
    },
    secrets,
  };
}
