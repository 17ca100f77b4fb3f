import type { ApprovalRequest } from "../../domain/approvals.js";
import type { ScanState } from "../../domain/ports.js";
import { TERMINAL_SCAN_STATES } from "../../domain/ports.js";
import type { ProjectRecord } from "../../domain/projects.js";
import type { ScanRecord } from "../../domain/scans.js";
import {
  context,
  escapeText,
  type KnownBlock,
  LIMITS,
  message,
  type SlackMessage,
  section,
  truncate,
} from "./common.js";

/** Action IDs: the listeners match on these; values carry opaque IDs only, re-read on the server. */
export const ACTIONS = {
  approve: "scan_approve",
  deny: "scan_deny",
  retry: "scan_retry",
  stop: "scan_stop",
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

/** Slack renders this in each reader's own time zone; the fallback is UTC. */
export function slackDate(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${new Date(ms).toISOString().replace(/\.\d+Z$/, "Z")}>`;
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

function target(url: string): string {
  return url ? escapeText(url) : "_unknown (linked project)_";
}

/** The one message per scan; later updates edit it in place and reply in its thread. */
export function scanCard(scan: ScanRecord, note?: string): SlackMessage {
  const active = !TERMINAL_SCAN_STATES.has(scan.state);
  const people = [`Requested by <@${scan.requestedBy}>`];
  if (scan.approvedBy) people.push(`approved by <@${scan.approvedBy}>`);
  if (scan.stopRequestedBy && active) people.push(`stop requested by <@${scan.stopRequestedBy}>`);
  const blocks: KnownBlock[] = [
    section(
      `*Scan ${escapeText(scan.scanId)}* · *${escapeText(scan.projectName)}*\n${stateLabel(scan.state, scan.rawCode)}`,
    ),
    {
      type: "section",
      fields: [
        { type: "mrkdwn", text: truncate(`*Target*\n${target(scan.targetUrl)}`, LIMITS.fieldText) },
        { type: "mrkdwn", text: `*Started*\n${slackDate(scan.startedAt)}` },
      ],
    },
    context(`${people.join(", ")} · ${escapeText(scan.backend)}`, ...(note ? [note] : [])),
  ];
  if (active && !scan.stopRequestedBy) {
    blocks.push({
      type: "actions",
      elements: [
        button("Stop scan", ACTIONS.stop, scan.scanId, "danger", {
          title: "Stop this scan?",
          text: `Scan ${escapeText(scan.scanId)} of *${escapeText(scan.projectName)}* stops now; results found so far may be incomplete.`,
          confirm: "Stop scan",
        }),
      ],
    });
  }
  return message(`Scan ${scan.scanId} of ${scan.projectName}: ${scan.state}`, blocks);
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

/** Block text one message may carry: Slack refuses whole messages near 13.2k characters (bolt-js #2509). */
export const MESSAGE_TEXT_BUDGET = 11_000;

/** Characters of text in a block, as Slack's whole-message limit counts them. */
function textOf(block: KnownBlock): number {
  let n = 0;
  JSON.stringify(block, (key, value) => {
    if (key === "text" && typeof value === "string") n += value.length;
    return value;
  });
  return n;
}

function projectBlock(project: ProjectRecord): KnownBlock {
  return {
    type: "section",
    text: {
      type: "mrkdwn",
      text: truncate(
        `*${escapeText(project.name)}* · ID \`${escapeText(project.id)}\`\n${truncate(target(project.url), 300)}${project.linked ? " · linked" : ""}`,
        LIMITS.sectionText,
      ),
    },
    accessory: button("Delete", ACTIONS.deleteProject, project.id, "danger", {
      title: `Delete ${truncate(project.name, 60)}?`,
      text: project.linked
        ? `*${escapeText(project.name)}* is forgotten by the bot; the project itself stays at the scanner.`
        : `*${escapeText(project.name)}* and its scan history are deleted at the scanner. This cannot be undone.`,
      confirm: "Delete",
    }),
  };
}

/**
 * One page of projects, inside 50 blocks and the message text budget. Pages are cut greedily from the
 * start, so page N is the same whoever asks; the last block names the next page.
 */
export function projectList(projects: readonly ProjectRecord[], page = 1): SlackMessage {
  if (projects.length === 0) {
    const text =
      "No projects yet. Create one with `/crashtest project create <name> <url>` or register an existing one with `/crashtest link <project-id> <name>`.";
    return message(text, [section(text)]);
  }
  // Header and paging note leave 48 blocks and most of the text budget to projects.
  const perPage = LIMITS.blocksPerMessage - 2;
  const budget = MESSAGE_TEXT_BUDGET - 500;
  const pages: KnownBlock[][] = [[]];
  let used = 0;
  for (const project of projects) {
    const block = projectBlock(project);
    const size = textOf(block);
    let current = pages.at(-1) as KnownBlock[];
    if (current.length > 0 && (current.length >= perPage || used + size > budget)) {
      current = [];
      pages.push(current);
      used = 0;
    }
    current.push(block);
    used += size;
  }
  const shown = pages[page - 1];
  const head = section(
    `*Projects* (${projects.length})${pages.length > 1 ? ` · page ${page} of ${pages.length}` : ""}`,
  );
  if (!shown) {
    return message(`No page ${page}`, [
      head,
      context(`There is no page ${page}; the list has ${pages.length}.`),
    ]);
  }
  const blocks: KnownBlock[] = [head, ...shown];
  const rest = pages.slice(page).reduce((n, p) => n + p.length, 0);
  if (rest > 0) {
    blocks.push(
      context(
        `…and ${rest} more blocks not shown: \`/crashtest projects page:${page + 1}\` lists the next ones.`,
      ),
    );
  }
  const count = `${projects.length} project${projects.length === 1 ? "" : "s"}`;
  return message(`${count}: ${projects.map((p) => p.name).join(", ")}`, blocks);
}
