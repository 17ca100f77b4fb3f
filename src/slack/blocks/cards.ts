import type { ApprovalRequest } from "../../domain/approvals.js";
import type { ScanResult, SeverityCounts } from "../../domain/findings/types.js";
import type { ReportFormat, ScanState } from "../../domain/ports.js";
import { SEVERITIES, TERMINAL_SCAN_STATES } from "../../domain/ports.js";
import type { ScanRecord } from "../../domain/scans.js";
import {
  context,
  escapeText,
  type KnownBlock,
  LIMITS,
  message,
  reportText,
  type SlackMessage,
  section,
  truncate,
} from "./common.js";
import { historyCardBlocks } from "./history.js";
import { duration, slackAgo, slackDate } from "./time.js";

export { slackDate };

/** Action IDs: the listeners match on these; values carry opaque IDs only, re-read on the server. */
export const ACTIONS = {
  approve: "scan_approve",
  deny: "scan_deny",
  retry: "scan_retry",
  stop: "scan_stop",
  report: "scan_report",
  rescan: "scan_rescan",
  openScanner: "scan_open_scanner",
  deleteProject: "project_delete",
} as const;

const STATE_LABEL: Record<ScanState, string> = {
  queued: ":hourglass_flowing_sand: Queued",
  running: ":arrows_counterclockwise: Running",
  finished: ":white_check_mark: Finished",
  stopped: ":octagonal_sign: Stopped",
  failed: ":x: Failed",
};

export function stateLabel(state: ScanState, rawCode?: string): string {
  const raw = rawCode && rawCode !== state ? ` (${escapeText(rawCode)})` : "";
  return `${STATE_LABEL[state]}${raw}`;
}

export function button(
  text: string,
  actionId: string,
  value: string,
  style?: "primary" | "danger",
  confirm?: { title: string; text: string; confirm: string },
) {
  return {
    type: "button" as const,
    text: { type: "plain_text" as const, text: truncate(text, LIMITS.buttonText), emoji: true },
    action_id: actionId,
    value: truncate(value, LIMITS.buttonValue),
    ...(style ? { style } : {}),
    ...(confirm
      ? {
          confirm: {
            title: { type: "plain_text" as const, text: truncate(confirm.title, LIMITS.confirmTitle) },
            text: { type: "mrkdwn" as const, text: truncate(confirm.text, LIMITS.confirmText) },
            confirm: { type: "plain_text" as const, text: truncate(confirm.confirm, LIMITS.confirmButton) },
            deny: { type: "plain_text" as const, text: "Cancel" },
            ...(style === "danger" ? { style: "danger" as const } : {}),
          },
        }
      : {}),
  };
}

export function target(url: string): string {
  return url ? escapeText(url) : "_unknown (linked project)_";
}

/** What a scan card shows besides the scan record: gathered at render time (slack/card-facts.ts). */
export interface CardView {
  /** When the card is drawn (the notification text says how long until then). Default: the record's last change. */
  now?: number;
  /** An extra line (attached to a running scan, no longer watched). */
  note?: string;
  /** How long the project's previous finished scan ran: progress for scanners without an estimate. */
  previousDurationMs?: number;
  /** The ended scan's findings, once counted. */
  findings?: { counts: SeverityCounts; total: number };
  /** The scanner's report formats: the Report menu of an ended scan. */
  reportFormats?: readonly ReportFormat[];
  /** SCANNER_UI_URL filled in for this scan: the Open in scanner button. */
  scannerUrl?: string;
  /** Report files Slack refused to take into the thread. */
  filesRefused?: readonly ReportFormat[];
  /** The findings history's result of the ended scan: the diff and the suspect warning. */
  result?: ScanResult;
}

const SEVERITY_DOT: Record<keyof SeverityCounts, string> = {
  critical: ":rotating_light:",
  high: ":red_circle:",
  medium: ":large_orange_circle:",
  low: ":large_yellow_circle:",
  info: ":large_blue_circle:",
};

/** "2 high · 3 medium · 1 info" (severities with findings only), the card's one line of counts. */
export function countsLine(counts: SeverityCounts): string {
  return SEVERITIES.filter((s) => counts[s] > 0)
    .map((s) => `${SEVERITY_DOT[s]} ${counts[s]} ${s}`)
    .join(" · ");
}

/** From the first sight of it running (or, in records without that, its request) to its end or now. */
function runTime(scan: ScanRecord, now: number): number | undefined {
  const from = scan.runningAt ?? scan.startedAt;
  if (TERMINAL_SCAN_STATES.has(scan.state))
    return scan.endedAt === undefined ? undefined : scan.endedAt - from;
  return now - from;
}

/**
 * The human state, first: "Running for 12 min", "Stopped by @alice after 8 min", "Failed: <reason>".
 * A card is redrawn when the state changes, not as time passes, so unless `fresh` (a view drawn for
 * a reader now, such as App Home) a queued or running scan says when it was requested or started as
 * a token each reader's client keeps current ("started 12 minutes ago").
 */
export function headline(scan: ScanRecord, now: number, fresh = false): string {
  const took = runTime(scan, now);
  switch (scan.state) {
    case "queued":
      return fresh
        ? `:hourglass_flowing_sand: *Queued* for ${duration(now - scan.startedAt)}`
        : `:hourglass_flowing_sand: *Queued* · requested ${slackAgo(scan.startedAt)}`;
    case "running": {
      const stopping = scan.stopRequestedBy ? " · stopping" : "";
      return fresh
        ? `:arrows_counterclockwise: *Running for ${duration(took ?? 0)}*${stopping}`
        : `:arrows_counterclockwise: *Running* · started ${slackAgo(scan.runningAt ?? scan.startedAt)}${stopping}`;
    }
    case "finished":
      return `:white_check_mark: *Finished${took === undefined ? "" : ` in ${duration(took)}`}*`;
    case "stopped": {
      const by = scan.stopRequestedBy ? ` by <@${scan.stopRequestedBy}>` : "";
      return `:octagonal_sign: *Stopped${by}${took === undefined ? "" : ` after ${duration(took)}`}*`;
    }
    case "failed": {
      const reason = scan.rawText ? reportText(scan.rawText, 300) : "the scanner gave no reason";
      return `:x: *Failed${took === undefined ? "" : ` after ${duration(took)}`}:* ${reason}`;
    }
  }
}

/**
 * When a running scan should end: from the scanner's estimate, else the project's last scan. Absolute
 * times, so the line stays true while the card is not redrawn.
 */
function progress(scan: ScanRecord, view: CardView): string | undefined {
  if (scan.state !== "running") return undefined;
  const from = scan.runningAt ?? scan.startedAt;
  if (scan.estimatedDurationMs !== undefined) {
    return `Expected to end around ${slackDate(from + scan.estimatedDurationMs)} (the scanner estimates ${duration(scan.estimatedDurationMs)})`;
  }
  if (view.previousDurationMs !== undefined) {
    return `The project's last scan took ${duration(view.previousDurationMs)}: if this one is alike, it ends around ${slackDate(from + view.previousDurationMs)}`;
  }
  return undefined;
}

function findingsLine(view: CardView): string | undefined {
  if (!view.findings) return undefined;
  const { total, counts } = view.findings;
  if (total === 0) return "*No findings.*";
  return `*${total} finding${total === 1 ? "" : "s"}:* ${countsLine(counts)}`;
}

function people(scan: ScanRecord): string {
  const who = [`${scan.scheduleId ? "Scheduled" : "Requested"} by <@${scan.requestedBy}>`];
  if (scan.approvedBy) who.push(`approved by <@${scan.approvedBy}>`);
  // Kept after the scan says Stopped: the card says who asked for it.
  if (scan.stopRequestedBy) {
    const when = scan.stopRequestedAt === undefined ? "" : ` at ${slackDate(scan.stopRequestedAt)}`;
    who.push(`stop requested by <@${scan.stopRequestedBy}>${when}`);
  }
  return who.join(" · ");
}

/** The raw scanner status, for whoever needs the code: only here, never in the headline. */
function details(scan: ScanRecord): string {
  const code = scan.rawCode ? ` · status \`${reportText(scan.rawCode.replace(/`/g, "'"), 40)}\`` : "";
  const words = scan.rawText && scan.state !== "failed" ? ` (${reportText(scan.rawText, 120)})` : "";
  return `${escapeText(scan.backend)} · scan ${escapeText(scan.scanId)}${code}${words}`;
}

function reportMenu(scan: ScanRecord, formats: readonly ReportFormat[]) {
  return {
    type: "static_select" as const,
    action_id: ACTIONS.report,
    placeholder: { type: "plain_text" as const, text: "Report…" },
    options: formats.map((format) => ({
      text: { type: "plain_text" as const, text: `${format.toUpperCase()} report` },
      // The scan ID and the format name: parsed and re-checked on receipt (slack/card-actions.ts).
      value: `${scan.scanId}:${format}`,
    })),
  };
}

/** The one message per scan; later updates edit it in place and reply in its thread. */
export function scanCard(scan: ScanRecord, view: CardView = {}): SlackMessage {
  const now = view.now ?? scan.updatedAt;
  const active = !TERMINAL_SCAN_STATES.has(scan.state);
  const title = `*Scan ${escapeText(scan.scanId)}* · *${escapeText(scan.projectName)}*`;
  const lines = [title, headline(scan, now), findingsLine(view)].filter(Boolean);
  const fields = [
    { type: "mrkdwn" as const, text: truncate(`*Target*\n${target(scan.targetUrl)}`, LIMITS.fieldText) },
    { type: "mrkdwn" as const, text: `*Requested*\n${slackDate(scan.startedAt)}` },
    ...(scan.runningAt === undefined
      ? []
      : [{ type: "mrkdwn" as const, text: `*Started*\n${slackDate(scan.runningAt)}` }]),
    ...(!active && scan.endedAt !== undefined
      ? [{ type: "mrkdwn" as const, text: `*Ended*\n${slackDate(scan.endedAt)}` }]
      : []),
  ];
  const blocks: KnownBlock[] = [section(lines.join("\n")), { type: "section", fields }];
  blocks.push(...historyCardBlocks(view.result));
  const moving = progress(scan, view);
  if (moving) blocks.push(context(moving));
  if (view.filesRefused && view.filesRefused.length > 0) {
    const formats = view.filesRefused.map((f) => f.toUpperCase()).join(", ");
    blocks.push(
      context(
        `:warning: Slack did not take the ${formats} report file into the thread: choose it in *Report* to try again.`,
      ),
    );
  }
  blocks.push(context(people(scan)), context(details(scan), ...(view.note ? [view.note] : [])));
  const elements: Array<
    ReturnType<typeof button> | ReturnType<typeof reportMenu> | ReturnType<typeof linkButton>
  > = [];
  if (active && !scan.stopRequestedBy) {
    elements.push(
      button("Stop scan", ACTIONS.stop, scan.scanId, "danger", {
        title: "Stop this scan?",
        text: `Scan ${escapeText(scan.scanId)} of *${escapeText(scan.projectName)}* stops now; results found so far may be incomplete.`,
        confirm: "Stop scan",
      }),
    );
  }
  if (!active) {
    if (view.reportFormats && view.reportFormats.length > 0)
      elements.push(reportMenu(scan, view.reportFormats));
    elements.push(
      button("Rescan", ACTIONS.rescan, scan.scanId, "primary", {
        title: "Scan this project again?",
        text: `A new scan of *${escapeText(scan.projectName)}* is requested for you; approval rules apply as for \`/crashtest scan start\`.`,
        confirm: "Rescan",
      }),
    );
  }
  if (view.scannerUrl) elements.push(linkButton(view.scannerUrl, scan.scanId));
  if (elements.length > 0) blocks.push({ type: "actions", elements });
  return message(`Scan ${scan.scanId} of ${scan.projectName}: ${plainHeadline(scan, now)}`, blocks);
}

function linkButton(url: string, scanId: string) {
  return { ...button("Open in scanner", ACTIONS.openScanner, scanId), url };
}

/** The notification text: the headline without markup. */
function plainHeadline(scan: ScanRecord, now: number): string {
  return headline(scan, now, true)
    .replace(/:[a-z_]+: /, "")
    .replace(/\*/g, "");
}

/** A request card shows the project as the approver decides on it: name, scanner ID and target URL. */
export function approvalCard(request: ApprovalRequest): SlackMessage {
  const head = `*Scan request* for *${escapeText(request.projectName)}* (ID \`${escapeText(request.projectId)}\`)\n${target(request.targetUrl)}`;
  const blocks: KnownBlock[] = [section(head)];
  const text = `Scan request for ${request.projectName} by ${request.requestedBy}: ${STATUS_WORD[request.status]}`;
  const requested = `Requested by <@${request.requestedBy}>`;
  const when = request.decidedAt ? ` at ${slackDate(request.decidedAt)}` : "";
  const who = request.decidedBy ? ` by <@${request.decidedBy}>` : "";
  switch (request.status) {
    case "pending":
      blocks.push(
        context(
          `${requested} · needs an approver other than the requester · expires ${slackDate(request.expiresAt)}`,
        ),
        {
          type: "actions",
          elements: [
            button("Approve", ACTIONS.approve, request.id, "primary"),
            button("Deny", ACTIONS.deny, request.id, "danger", {
              title: "Deny this scan?",
              text: `The scan of *${escapeText(request.projectName)}* will not run.`,
              confirm: "Deny",
            }),
          ],
        },
      );
      break;
    case "approved": {
      const scan = request.scanId ? ` · scan ${escapeText(request.scanId)}` : "";
      blocks.push(context(`${requested} · :white_check_mark: Approved${who}${when}${scan}`));
      break;
    }
    case "start_failed":
      blocks.push(
        context(
          `${requested} · :white_check_mark: Approved${who}${when} · :warning: the scan did not start: ${escapeText(request.failure ?? "unknown error")}`,
        ),
        {
          type: "actions",
          elements: [button("Retry", ACTIONS.retry, request.id, "primary")],
        },
      );
      break;
    case "denied":
      blocks.push(context(`${requested} · :no_entry: Denied${who}${when}`));
      break;
    case "withdrawn":
      blocks.push(context(`${requested} · :leftwards_arrow_with_hook: Withdrawn${who}${when}`));
      break;
    case "expired":
      blocks.push(
        context(
          request.reason
            ? `${requested} · :no_entry_sign: ended: ${escapeText(request.reason)}; nothing was started`
            : `${requested} · :hourglass: expired ${slackDate(request.expiresAt)} without a decision; request again with \`/crashtest scan start ${escapeText(request.projectName)}\``,
        ),
      );
      break;
  }
  return message(text, blocks);
}

const STATUS_WORD: Record<ApprovalRequest["status"], string> = {
  pending: "pending",
  approved: "approved",
  start_failed: "approved, start failed",
  denied: "denied",
  withdrawn: "withdrawn",
  expired: "expired",
};
