/**
 * Block Kit messages for the credential expiry guard: one alert, and the status list shown by
 * `/crashtest credentials` and the App Home tab. Pure functions; posting is the caller's job.
 */
import { type CredentialAlert, type CredentialStatus, DAY_MS } from "../../domain/credential-guard.js";
import {
  context,
  escapeText,
  header,
  type KnownBlock,
  LIMITS,
  type SlackMessage,
  section,
} from "./common.js";

export interface CredentialMessageOptions {
  /** Link to the team's rotation runbook, shown with the rotation steps. */
  runbookUrl?: string;
}

const HOUR_MS = 3_600_000;

/** Exact expiry in UTC, e.g. "2025-10-01 12:00:00 UTC". */
export function formatUtc(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** "6 days left", "less than a day left (5 hours)", "expired 2 days ago". */
export function describeTimeLeft(msLeft: number): string {
  if (msLeft <= 0) {
    const days = Math.floor(-msLeft / DAY_MS);
    return days === 0 ? "expired less than a day ago" : `expired ${plural(days, "day")} ago`;
  }
  if (msLeft < DAY_MS) return `less than a day left (${plural(Math.floor(msLeft / HOUR_MS), "hour")})`;
  return `${plural(Math.floor(msLeft / DAY_MS), "day")} left`;
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}

const keyText = (hint: string | undefined): string => (hint ? `…${escapeText(hint)}` : "unknown");

function rotationSteps(options: CredentialMessageOptions): string {
  const runbook = options.runbookUrl?.startsWith("https://")
    ? `\nRunbook: <${escapeText(options.runbookUrl).replace(/\|/g, "%7C")}|rotation steps>`
    : "";
  return [
    "*How to rotate* (a person does this; the bot never rotates keys itself):",
    "1. Plan a short window: *generating new credentials immediately revokes the old ones for every integration using this account* (CI pipelines, scripts, this bot).",
    "2. In the Veracode Platform, sign in as the account (or as an administrator for an API service account) and generate new API credentials.",
    "3. Update every integration that uses the account, including this bot's secret store or `~/.veracode/credentials` profile, then restart the bot.",
    `4. Run \`/crashtest credentials\` to confirm the new expiry.${runbook}`,
  ].join("\n");
}

const ALERT_TITLES = {
  "7d": "Veracode API credentials expire within 7 days",
  "1d": "Veracode API credentials expire within 1 day",
  expired: "Veracode API credentials have expired",
} as const;

export function credentialAlertMessage(
  alert: CredentialAlert,
  options: CredentialMessageOptions = {},
): SlackMessage {
  const account = escapeText(alert.label);
  if (alert.kind === "expiry") {
    const title = ALERT_TITLES[alert.threshold];
    const when = `${formatUtc(alert.expiresAt)} (${describeTimeLeft(alert.msLeft)})`;
    return {
      text: `${title}: ${account} (key ${keyText(alert.keyHint)}), ${when}.`,
      blocks: [
        header(`${alert.threshold === "expired" ? "🚨" : "⚠️"} ${title}`),
        section(
          [
            `*Account:* ${account}`,
            `*Key ID:* ${keyText(alert.keyHint)}`,
            `*Expires:* ${formatUtc(alert.expiresAt)}`,
            `*Time left:* ${describeTimeLeft(alert.msLeft)}`,
          ].join("\n"),
        ),
        section(rotationSteps(options)),
      ],
    };
  }
  const lastKnown =
    alert.lastKnownExpiresAt === undefined
      ? ""
      : `\n*Last known expiry:* ${formatUtc(alert.lastKnownExpiresAt)}`;
  const blocks: KnownBlock[] = [
    header("❗ Veracode credential check failing"),
    section(
      `*Account:* ${account}\n*Key ID:* ${keyText(alert.keyHint)}\n*Problem:* ${escapeText(alert.reason)}${lastKnown}`,
    ),
  ];
  // A 401 or revocation usually means the key must be replaced; other failures are config or network.
  if (alert.errorKind === "auth") blocks.push(section(rotationSteps(options)));
  blocks.push(context("This alert repeats at most once a day while the check keeps failing."));
  return {
    text: `Veracode credential check failing for ${account}: ${escapeText(alert.reason)}`,
    blocks,
  };
}

const STATE_LABELS: Record<CredentialStatus["state"], string> = {
  ok: "✅ OK",
  "7d": "⚠️ Expires within 7 days",
  "1d": "⚠️ Expires within 1 day",
  expired: "🚨 Expired",
  failing: "❗ Check failing",
};

function statusLine(status: CredentialStatus, now: number): string {
  const lines = [
    `*${escapeText(status.label)}* (key ${keyText(status.keyHint)}): ${STATE_LABELS[status.state]}`,
  ];
  if (status.expiresAt !== undefined) {
    lines.push(
      status.state === "failing"
        ? `Last known expiry: ${formatUtc(status.expiresAt)}`
        : `Expires ${formatUtc(status.expiresAt)} (${describeTimeLeft(status.expiresAt - now)})`,
    );
  }
  if (status.reason) lines.push(escapeText(status.reason));
  lines.push(`Checked ${formatUtc(status.checkedAt)}`);
  return lines.join("\n");
}

/** The status list; `now` is used for the time left, so pass the current time when rendering. */
export function credentialStatusMessage(statuses: readonly CredentialStatus[], now: number): SlackMessage {
  if (statuses.length === 0) {
    const text = "No Veracode API credentials are being watched (none configured, or no check has run yet).";
    return { text, blocks: [section(text)] };
  }
  const counts = new Map<string, number>();
  for (const status of statuses) counts.set(status.state, (counts.get(status.state) ?? 0) + 1);
  const summary = [...counts].map(
    ([state, count]) => `${count} ${STATE_LABELS[state as CredentialStatus["state"]]}`,
  );
  const blocks: KnownBlock[] = [header("Veracode API credentials")];
  // Header and a possible "more" note take two of Slack's 50 blocks.
  const room = LIMITS.blocksPerMessage - 2;
  const shown = statuses.length > room + 1 ? statuses.slice(0, room) : statuses;
  for (const status of shown) blocks.push(section(statusLine(status, now)));
  if (shown.length < statuses.length) {
    blocks.push(context(`…and ${statuses.length - shown.length} more accounts not shown.`));
  }
  return { text: `Veracode API credentials: ${summary.join(", ")}.`, blocks };
}
