import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { DEFAULT_SLACK_API_URL, plain } from "./config-schema.js";
import { type SlackConfig, slackConfig } from "./config-slack.js";
import { AppError } from "./domain/errors.js";
import type { LogLevel, ReportFormat } from "./domain/ports.js";
import {
  type DAST_STOP_ACTIONS,
  parseDastScanType,
  parseDastTargetType,
  parseDastTeamId,
  parseRouteOverrides,
  parseWebhookProjects,
  type RouteTable,
  type SimulatorTiming,
  selectDastAccount,
  type WebhookProject,
} from "./scanners/settings.js";
import { cronProblem } from "./scheduler/index.js";
import { storeSecrets } from "./store/url.js";
// Not veracode/index.js: the identity client's modules (HTTP transport, schemas) need not load to read config.
import { loadVeracodeAccounts, type VeracodeAccount } from "./veracode/credentials.js";
import { stripVeracodePrefix } from "./veracode/signer.js";
import { parseWatchUserIds } from "./veracode/user-ids.js";

/**
 * All configuration comes from the environment, read here and nowhere else, validated once at start-up
 * and reported as one error listing every problem by variable name (never by value), each saying what
 * to set. Secrets may come from NAME_FILE.
 */

export type { SlackConfig, SlackInstallation } from "./config-slack.js";

export type Env = Record<string, string | undefined>;

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
    /** DAST_ESTIMATE_UNIT: the unit of an analysis run's `estimated_duration` (the API does not say). */
    estimateUnit: "seconds" | "minutes";
    targetType?: ReturnType<typeof parseDastTargetType>;
    scanType?: ReturnType<typeof parseDastScanType>;
    teamId?: string;
  };
  /** Veracode API accounts (environment, _FILE or credentials file) and the users watched through the first. */
  veracode: { accounts: VeracodeAccount[]; watchUserIds: string[] };
  roles: { admins: string[]; approvers: string[]; operators: string[]; allowedChannels: string[] };
  approvals: { required: boolean; ttlMs: number; channel?: string };
  allowPrivateTargets: boolean;
  /** SCANNER_UI_URL: link template to a scan in the scanner's web app ({projectId}, {scanId}). */
  scannerUiUrl?: string;
  watcher: {
    pollIntervalSeconds: number;
    maxRequestsPerMinute: number;
    reportFormats: ReportFormat[];
    tickSeconds: number;
  };
  /** Findings history: retention and when a result is suspect (domain/findings/suspect.ts). */
  findings: {
    retentionDays: number;
    suspect: { durationRatio: number; recentScans: number; manyFindings: number; errorShare: number };
  };
  /** REPORT_MAX_BYTES: larger reports are refused with a link to the scanner's UI. */
  reportMaxBytes: number;
  /** REPORT_TRANSFERS_MAX: report downloads-into-uploads at once; the rest wait in line. */
  reportTransfersMax: number;
  credentialCheck: { alertChannel?: string; cron: string; timezone: string };
  /** The time zone of channels that set none on subscribe (digests, quiet hours). */
  subscriptions: { timezone: string };
  /** SCHEDULE_CATCH_UP: at start, run each schedule's most recent missed occurrence once, or not. */
  scheduleCatchUp: "latest" | "none";
  /** Facts worth a warning at start-up (e.g. a poll interval below the vendor's advice). */
  warnings: string[];
  /** Every secret value, for log redaction. */
  secrets: string[];
}

export interface LoadConfigOptions {
  /** The bot as a service needs Slack: missing Slack settings are then problems like any other. */
  requireSlack?: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Configuration is invalid:\n${problems.map((p) => `  - ${p}`).join("\n")}\nSee README.md ("Configuration") and .env.example.`,
    );
    this.name = "ConfigError";
  }
}

const DEFAULT_STORE_URL = "sqlite://data/chatops.sqlite";

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
    if (content === "") problems.push(`${name}_FILE names the empty file ${file}; put the value in it`);
    return content || undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    problems.push(`${name}_FILE names ${file}, which cannot be read (${code})`);
    return undefined;
  }
}

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

/** The bot as a service: the process environment, with Slack required. */
export function serviceConfig(): Config {
  return loadConfig(process.env, { requireSlack: true });
}

export function loadConfig(env: Env, options: LoadConfigOptions = {}): Config {
  const problems: string[] = [];
  const cleaned = Object.fromEntries(Object.keys(plain.shape).map((key) => [key, nonEmpty(env[key])]));
  // Parsed once: zod's eval-compiled fast path for objects costs more to build than it saves here.
  const parsed = plain.safeParse(cleaned, { jitless: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${String(issue.path[0])} ${issue.message}`);
  }
  const values = parsed.success ? parsed.data : undefined;
  const raw = (name: keyof typeof plain.shape) => cleaned[name];

  const botToken = readSecret(env, "SLACK_BOT_TOKEN", problems);
  const signingSecret = readSecret(env, "SLACK_SIGNING_SECRET", problems);
  const appToken = readSecret(env, "SLACK_APP_TOKEN", problems);
  const apiKey = readSecret(env, "CRASHTEST_API_KEY", problems);
  const webhooksText = readSecret(env, "CRASHTEST_WEBHOOKS", problems);
  const webhooks = attempt(problems, () => (webhooksText ? parseWebhookProjects(webhooksText) : []), []);
  const routesText = raw("CRASHTEST_ROUTES");
  const routes = attempt(problems, () => (routesText ? parseRouteOverrides(routesText) : {}), {});
  const dastTarget = raw("DAST_TARGET_TYPE");
  const dastScan = raw("DAST_SCAN_TYPE");
  const dastTeam = raw("DAST_TEAM_ID");
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
  const storeUrl = readSecret(env, "STORE_URL", problems) ?? DEFAULT_STORE_URL;
  const store = storeSecrets(storeUrl);
  if (store.problem) problems.push(`STORE_URL ${store.problem}`);

  const production = (values?.NODE_ENV ?? env.NODE_ENV) === "production";
  const slack = slackConfig(
    {
      botToken,
      signingSecret,
      appToken,
      apiUrl: values?.SLACK_API_URL ?? DEFAULT_SLACK_API_URL,
      installation: {
        ...(values?.SLACK_TEAM_ID ? { teamId: values.SLACK_TEAM_ID } : {}),
        ...(values?.SLACK_APP_ID ? { appId: values.SLACK_APP_ID } : {}),
      },
    },
    production || options.requireSlack === true,
    problems,
  );

  // The simulator must never stand in silently for a real scanner.
  const realScanner = apiKey !== undefined || webhooks.length > 0;
  let scanner = values?.SCANNER;
  if (scanner === undefined && raw("SCANNER") === undefined) {
    if (realScanner) scanner = "crashtest";
    else if (production) {
      problems.push(
        "SCANNER is not set: set CRASHTEST_API_KEY and CRASHTEST_TEAM_ID (or CRASHTEST_WEBHOOKS), or SCANNER=dast-essentials with Veracode API credentials (or SCANNER=simulator for a demo)",
      );
    } else scanner = "simulator";
  }
  if (scanner === "crashtest") {
    if (!realScanner) {
      problems.push("CRASHTEST_API_KEY is required when SCANNER=crashtest (or set CRASHTEST_WEBHOOKS)");
    }
    if (apiKey !== undefined && raw("CRASHTEST_TEAM_ID") === undefined) {
      problems.push("CRASHTEST_TEAM_ID is required with CRASHTEST_API_KEY: the team ID from crashtest.cloud");
    }
  }
  if (scanner === "dast-essentials" && apiKey !== undefined) {
    problems.push("SCANNER is 'dast-essentials' while CRASHTEST_API_KEY is set; unset one of them");
  }
  if (scanner === "simulator" && realScanner) {
    problems.push("SCANNER is 'simulator' while Crashtest credentials are set; unset one of them");
  }
  const cron = raw("CREDENTIAL_CHECK_CRON");
  const cronIssue = cron === undefined ? undefined : cronProblem(cron);
  if (cronIssue) problems.push(`CREDENTIAL_CHECK_CRON is not a valid cron expression (${cronIssue})`);

  // Veracode: accounts from the environment (or _FILE) and the credentials file, all problems at once.
  const keyId = readSecret(env, "VERACODE_API_KEY_ID", problems);
  const keySecret = readSecret(env, "VERACODE_API_KEY_SECRET", problems);
  const profile = raw("VERACODE_API_PROFILE")?.trim();
  const credentialsFile = raw("VERACODE_CREDENTIALS_FILE")?.trim();
  const baseUrl = raw("VERACODE_API_URL")?.trim();
  const veracode = loadVeracodeAccounts({
    ...(profile ? { profile } : {}),
    watch: (raw("VERACODE_ACCOUNTS") ?? "")
      .split(",")
      .map((name) => name.trim())
      .filter(Boolean),
    ...(keyId ? { keyId } : {}),
    ...(keySecret ? { keySecret } : {}),
    ...(credentialsFile ? { credentialsFile } : {}),
    ...(baseUrl ? { baseUrl } : {}),
    homeDir: raw("HOME") ?? homedir(),
  });
  problems.push(...veracode.problems);
  const watchUserIds = attempt(problems, () => parseWatchUserIds(raw("VERACODE_WATCH_USER_IDS")), []);
  const accounts = veracode.accounts;
  const dastAccount = values?.DAST_VERACODE_ACCOUNT ?? profile ?? "default";
  if (scanner === "dast-essentials" && veracode.problems.length === 0) {
    attempt(problems, () => selectDastAccount(accounts, dastAccount), undefined);
  }
  if (accounts.length > 0 && raw("ALERT_CHANNEL") === undefined) {
    problems.push(
      `ALERT_CHANNEL is required when Veracode accounts are configured (${accounts.map((a) => a.name).join(", ")}): set it to the ID (C…) of the channel that gets credential expiry alerts`,
    );
  }

  if (problems.length > 0 || !values || scanner === undefined) throw new ConfigError(problems);

  const warnings = [...veracode.warnings];
  if (values.SCAN_POLL_INTERVAL_SECONDS < 120) {
    warnings.push(
      `SCAN_POLL_INTERVAL_SECONDS=${values.SCAN_POLL_INTERVAL_SECONDS} is below the 120 s Veracode asks for; use it only for demos and tests`,
    );
  }
  if (!values.ADMIN_USERS.length && !values.APPROVER_USERS.length && !values.OPERATOR_USERS.length) {
    warnings.push(
      "no roles are configured (ADMIN_USERS, APPROVER_USERS, OPERATOR_USERS are empty): nobody can act; set ADMIN_USERS to your Slack user ID (U…)",
    );
  }

  const secrets = [
    botToken,
    signingSecret,
    appToken,
    apiKey,
    ...webhooks.map((w) => w.secret),
    ...store.secrets,
    // Key IDs and secrets by value, from every source, with and without their region prefix.
    ...accounts.flatMap((a) => [a.apiKeyId, a.apiKeySecret]).flatMap((s) => [s, stripVeracodePrefix(s)]),
  ].filter((s): s is string => s !== undefined);

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
    simulator: {
      queueSeconds: values.SIMULATOR_QUEUE_SECONDS,
      runSeconds: values.SIMULATOR_RUN_SECONDS,
      outcome: values.SIMULATOR_OUTCOME,
    },
    dast: {
      ...(values.DAST_API_URL ? { apiUrl: values.DAST_API_URL } : {}),
      account: dastAccount,
      stopAction: values.DAST_STOP_ACTION,
      estimateUnit: values.DAST_ESTIMATE_UNIT,
      ...(dastTargetType ? { targetType: dastTargetType } : {}),
      ...(dastScanType ? { scanType: dastScanType } : {}),
      ...(dastTeamId ? { teamId: dastTeamId } : {}),
    },
    veracode: { accounts, watchUserIds },
    roles: {
      admins: values.ADMIN_USERS,
      approvers: values.APPROVER_USERS,
      operators: values.OPERATOR_USERS,
      allowedChannels: values.ALLOWED_CHANNELS,
    },
    approvals: {
      required: values.REQUIRE_APPROVAL,
      ttlMs: values.APPROVAL_TTL_HOURS * 3600_000,
      ...(values.APPROVAL_CHANNEL ? { channel: values.APPROVAL_CHANNEL } : {}),
    },
    allowPrivateTargets: values.ALLOW_PRIVATE_TARGETS,
    ...(values.SCANNER_UI_URL ? { scannerUiUrl: values.SCANNER_UI_URL } : {}),
    watcher: {
      pollIntervalSeconds: values.SCAN_POLL_INTERVAL_SECONDS,
      maxRequestsPerMinute: values.SCANNER_MAX_REQUESTS_PER_MINUTE,
      reportFormats: values.REPORT_FORMATS,
      tickSeconds: values.SCAN_WATCH_TICK_SECONDS,
    },
    findings: {
      retentionDays: values.FINDINGS_RETENTION_DAYS,
      suspect: {
        durationRatio: values.FINDINGS_SUSPECT_DURATION_RATIO,
        recentScans: values.FINDINGS_SUSPECT_RECENT_SCANS,
        manyFindings: values.FINDINGS_SUSPECT_MANY_FINDINGS,
        errorShare: values.FINDINGS_SUSPECT_ERROR_SHARE,
      },
    },
    reportMaxBytes: values.REPORT_MAX_BYTES,
    reportTransfersMax: values.REPORT_TRANSFERS_MAX,
    scheduleCatchUp: values.SCHEDULE_CATCH_UP,
    credentialCheck: {
      ...(values.ALERT_CHANNEL ? { alertChannel: values.ALERT_CHANNEL } : {}),
      cron: values.CREDENTIAL_CHECK_CRON,
      timezone: values.CREDENTIAL_CHECK_TIMEZONE,
    },
    subscriptions: { timezone: values.SUBSCRIPTIONS_TIMEZONE },
    warnings,
    secrets,
  };
}
