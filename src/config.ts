import { readFileSync } from "node:fs";
import { z } from "zod";
import { AppError } from "./domain/errors.js";
import type { LogLevel, ReportFormat } from "./domain/ports.js";
import {
  DAST_STOP_ACTIONS,
  parseDastScanType,
  parseDastTargetType,
  parseDastTeamId,
  parseRouteOverrides,
  parseWebhookProjects,
  type RouteTable,
  readSimulatorTiming,
  type SimulatorTiming,
  type WebhookProject,
} from "./scanners/index.js";
import { cronProblem } from "./scheduler/index.js";

/**
 * All configuration comes from the environment, is validated once at start-up, and is reported as one
 * error listing every problem by variable name (never by value). Secrets may come from NAME_FILE.
 */

export type Env = Record<string, string | undefined>;

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

export interface Config {
  nodeEnv: string;
  production: boolean;
  logLevel: LogLevel;
  port: number;
  slack: SlackConfig;
  storeUrl: string;
  scanner: "crashtest" | "simulator" | "dast-essentials";
  crashtest: {
    apiUrl: string;
    apiKey?: string;
    teamId?: string;
    routes: Partial<RouteTable>;
    webhooks: WebhookProject[];
  };
  simulator: SimulatorTiming;
  dast: {
    apiUrl?: string;
    account: string;
    stopAction: (typeof DAST_STOP_ACTIONS)[number];
    targetType?: ReturnType<typeof parseDastTargetType>;
    scanType?: ReturnType<typeof parseDastScanType>;
    teamId?: string;
  };
  roles: { admins: string[]; approvers: string[]; operators: string[]; allowedChannels: string[] };
  approvals: { required: boolean; ttlMs: number };
  allowPrivateTargets: boolean;
  watcher: {
    pollIntervalSeconds: number;
    maxRequestsPerMinute: number;
    reportFormats: ReportFormat[];
    tickSeconds: number;
  };
  credentialCheck: { alertChannel?: string; cron: string; timezone: string };
  /** Facts worth a warning at start-up (e.g. a poll interval below the vendor's advice). */
  warnings: string[];
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

function idList(pattern: RegExp, what: string) {
  return z
    .string()
    .default("")
    .transform((value) => value.split(/[\s,]+/).filter(Boolean))
    .pipe(z.array(z.string().regex(pattern, `must be a comma-separated list of ${what}`)));
}

function bool(fallback: boolean) {
  return z
    .enum(["true", "false", "1", "0", "yes", "no"], "must be true or false")
    .default(fallback ? "true" : "false")
    .transform((value) => value === "true" || value === "1" || value === "yes");
}

const plain = z.object({
  NODE_ENV: z.string().default("development"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  SLACK_API_URL: httpUrl.default(DEFAULT_SLACK_API_URL),
  SLACK_TEAM_ID: z
    .string()
    .regex(/^[TE][A-Z0-9]{2,}$/, "must be a workspace (T…) or organization (E…) ID")
    .optional(),
  SLACK_APP_ID: z
    .string()
    .regex(/^A[A-Z0-9]{2,}$/, "must be an app ID (A…)")
    .optional(),
  SCANNER: z.enum(["crashtest", "simulator", "dast-essentials"]).optional(),
  DAST_API_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  DAST_STOP_ACTION: z.enum(DAST_STOP_ACTIONS, "must be STOP_SAVE or STOP_DELETE").default("STOP_SAVE"),
  DAST_VERACODE_ACCOUNT: z.string().optional(),
  CRASHTEST_API_URL: httpUrl.default("https://api.crashtest.cloud/"),
  CRASHTEST_TEAM_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be the numeric team ID from crashtest.cloud")
    .optional(),
  ADMIN_USERS: idList(/^[UWS][A-Z0-9]{2,}$/, "Slack user IDs (U…/W…) or user group IDs (S…)"),
  APPROVER_USERS: idList(/^[UWS][A-Z0-9]{2,}$/, "Slack user IDs (U…/W…) or user group IDs (S…)"),
  OPERATOR_USERS: idList(/^[UWS][A-Z0-9]{2,}$/, "Slack user IDs (U…/W…) or user group IDs (S…)"),
  ALLOWED_CHANNELS: idList(/^[CGD][A-Z0-9]{2,}$/, "Slack channel IDs (C…/G…)"),
  REQUIRE_APPROVAL: bool(true),
  APPROVAL_TTL_HOURS: z.coerce.number().positive().max(720).default(24),
  ALLOW_PRIVATE_TARGETS: bool(false),
  SCAN_POLL_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(120),
  SCANNER_MAX_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).max(10_000).default(120),
  SCAN_WATCH_TICK_SECONDS: z.coerce
    .number()
    .int()
    .refine((n) => [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30].includes(n), "must divide a minute evenly (1–30 s)")
    .default(15),
  REPORT_FORMATS: z
    .string()
    .default("pdf,json")
    .transform((value) =>
      value
        .split(",")
        .map((f) => f.trim().toLowerCase())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(["pdf", "xml", "json", "junit", "csv"], "use pdf, xml, json, junit or csv")).min(1)),
  ALERT_CHANNEL: z
    .string()
    .regex(/^[CG][A-Z0-9]{2,}$/, "must be a channel ID (C…/G…)")
    .optional(),
  CREDENTIAL_CHECK_CRON: z.string().default("0 9 * * *"),
  CREDENTIAL_CHECK_TIMEZONE: z
    .string()
    .default("UTC")
    .refine((zone) => {
      try {
        new Intl.DateTimeFormat("en", { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    }, "must be an IANA time zone such as UTC or Europe/Berlin"),
});

/** Runs a parser that reports problems as AppError("config"), collecting its message. */
function attempt<T>(problems: string[], parse: () => T, fallback: T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof AppError) {
      problems.push(error.userMessage);
      return fallback;
    }
    throw error;
  }
}

const slackToken = (prefix: string) => (value: string) => value.startsWith(prefix);

export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const cleaned = Object.fromEntries(Object.keys(plain.shape).map((key) => [key, nonEmpty(env[key])]));
  const parsed = plain.safeParse(cleaned);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${String(issue.path[0])}: ${issue.message}`);
  }

  const botToken = readSecret(env, "SLACK_BOT_TOKEN", problems);
  const signingSecret = readSecret(env, "SLACK_SIGNING_SECRET", problems);
  const appToken = readSecret(env, "SLACK_APP_TOKEN", problems);
  const apiKey = readSecret(env, "CRASHTEST_API_KEY", problems);
  const webhooksText = readSecret(env, "CRASHTEST_WEBHOOKS", problems);
  const webhooks = attempt(problems, () => (webhooksText ? parseWebhookProjects(webhooksText) : []), []);
  const routesText = nonEmpty(env.CRASHTEST_ROUTES);
  const routes = attempt(problems, () => (routesText ? parseRouteOverrides(routesText) : {}), {});
  const simulator = attempt(problems, () => readSimulatorTiming(env), undefined);
  const dastTarget = nonEmpty(env.DAST_TARGET_TYPE);
  const dastScan = nonEmpty(env.DAST_SCAN_TYPE);
  const dastTeam = nonEmpty(env.DAST_TEAM_ID);
  const dastTargetType = attempt(
    problems,
    () => dastTarget && parseDastTargetType(dastTarget, "DAST_TARGET_TYPE"),
    undefined,
  );
  const dastScanType = attempt(
    problems,
    () => dastScan && parseDastScanType(dastScan, "DAST_SCAN_TYPE"),
    undefined,
  );
  const dastTeamId = attempt(
    problems,
    () => dastTeam && parseDastTeamId(dastTeam, "DAST_TEAM_ID"),
    undefined,
  );
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

  const installation: SlackInstallation = {
    ...(values?.SLACK_TEAM_ID ? { teamId: values.SLACK_TEAM_ID } : {}),
    ...(values?.SLACK_APP_ID ? { appId: values.SLACK_APP_ID } : {}),
  };
  let slack: SlackConfig;
  if (appToken !== undefined && botToken !== undefined) {
    slack = {
      mode: "socket",
      botToken,
      appToken,
      apiUrl,
      installation,
      ...(signingSecret ? { signingSecret } : {}),
    };
  } else if (appToken === undefined && botToken !== undefined && signingSecret !== undefined) {
    slack = { mode: "http", botToken, signingSecret, apiUrl, installation };
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
  const realScanner = apiKey !== undefined || webhooks.length > 0;
  let scanner = values?.SCANNER;
  if (scanner === undefined) {
    if (realScanner) scanner = "crashtest";
    else if (production) {
      problems.push("SCANNER: set CRASHTEST_API_KEY or CRASHTEST_WEBHOOKS (or SCANNER=simulator for a demo)");
    } else scanner = "simulator";
  }
  if (scanner === "crashtest") {
    if (!realScanner)
      problems.push("CRASHTEST_API_KEY: required when SCANNER=crashtest (or CRASHTEST_WEBHOOKS)");
    if (apiKey !== undefined && values && values.CRASHTEST_TEAM_ID === undefined) {
      problems.push("CRASHTEST_TEAM_ID: required with CRASHTEST_API_KEY");
    }
  }
  if (scanner === "dast-essentials" && apiKey !== undefined) {
    problems.push("SCANNER: is 'dast-essentials' while CRASHTEST_API_KEY is set; unset one of them");
  }
  if (scanner === "simulator" && realScanner) {
    problems.push("SCANNER: is 'simulator' while Crashtest credentials are set; unset one of them");
  }
  const cron = nonEmpty(env.CREDENTIAL_CHECK_CRON);
  const cronIssue = cron === undefined ? undefined : cronProblem(cron);
  if (cronIssue) problems.push(`CREDENTIAL_CHECK_CRON: ${cronIssue}`);

  if (problems.length > 0 || !values || scanner === undefined || !simulator) throw new ConfigError(problems);

  const warnings: string[] = [];
  if (values.SCAN_POLL_INTERVAL_SECONDS < 120) {
    warnings.push(
      `SCAN_POLL_INTERVAL_SECONDS=${values.SCAN_POLL_INTERVAL_SECONDS} is below the 120 s Veracode asks for; use it only for demos and tests`,
    );
  }

  const secrets = [botToken, signingSecret, appToken, apiKey, ...webhooks.map((w) => w.secret)].filter(
    (s): s is string => s !== undefined,
  );
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
      routes,
      webhooks,
    },
    simulator,
    dast: {
      ...(values.DAST_API_URL ? { apiUrl: values.DAST_API_URL } : {}),
      account: values.DAST_VERACODE_ACCOUNT ?? nonEmpty(env.VERACODE_API_PROFILE) ?? "default",
      stopAction: values.DAST_STOP_ACTION,
      ...(dastTargetType ? { targetType: dastTargetType } : {}),
      ...(dastScanType ? { scanType: dastScanType } : {}),
      ...(dastTeamId ? { teamId: dastTeamId } : {}),
    },
    roles: {
      admins: values.ADMIN_USERS,
      approvers: values.APPROVER_USERS,
      operators: values.OPERATOR_USERS,
      allowedChannels: values.ALLOWED_CHANNELS,
    },
    approvals: { required: values.REQUIRE_APPROVAL, ttlMs: values.APPROVAL_TTL_HOURS * 3600_000 },
    allowPrivateTargets: values.ALLOW_PRIVATE_TARGETS,
    watcher: {
      pollIntervalSeconds: values.SCAN_POLL_INTERVAL_SECONDS,
      maxRequestsPerMinute: values.SCANNER_MAX_REQUESTS_PER_MINUTE,
      reportFormats: values.REPORT_FORMATS,
      tickSeconds: values.SCAN_WATCH_TICK_SECONDS,
    },
    credentialCheck: {
      ...(values.ALERT_CHANNEL ? { alertChannel: values.ALERT_CHANNEL } : {}),
      cron: values.CREDENTIAL_CHECK_CRON,
      timezone: values.CREDENTIAL_CHECK_TIMEZONE,
    },
    warnings,
    secrets,
  };
}
