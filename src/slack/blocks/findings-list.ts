import type { ListedFinding, ListedStatus, ProjectFindings } from "../../domain/findings/history.js";
import type { Severity } from "../../domain/ports.js";
import { SEVERITIES } from "../../domain/ports.js";
import {
  context,
  escapeText,
  type KnownBlock,
  message,
  reportText,
  type SlackMessage,
  section,
} from "./common.js";
import { decisionMenu } from "./decisions.js";
import { diffLine, suspectText } from "./history.js";
import { slackDate } from "./time.js";

/**
 * The `findings` command's answer: a project's findings as its latest recorded scan left them, one
 * section per finding, a page at a time (Slack takes 50 blocks per message, 3000 characters per
 * section). Each finding's section has the block ID `finding:<fingerprint>` and, for findings still
 * open, the Accept risk / False positive menu (slack/blocks/decisions.ts) as its accessory.
 */

export const FINDINGS_PAGE_SIZE = 15;

export type ListFilter = "new" | "fixed" | "open" | "accepted";

export interface FindingsQuery {
  filter: ListFilter;
  /** Findings at least this severe. */
  minSeverity?: Severity;
  page: number;
}

const STATUS_LABEL: Record<ListedStatus, string> = {
  new: ":new: new",
  open: "open",
  fixed: ":white_check_mark: fixed",
  accepted: ":shield: accepted risk",
  false_positive: ":white_circle: false positive",
};

const FILTER_WORDS: Record<ListFilter, string> = {
  new: "new since the previous scan",
  fixed: "fixed since the previous scan",
  open: "open",
  accepted: "accepted or marked false positive",
};

/** Which statuses a filter shows: "open" is everything not fixed and not decided, new included. */
export function matches(filter: ListFilter, status: ListedStatus): boolean {
  if (filter === "open") return status === "open" || status === "new";
  if (filter === "accepted") return status === "accepted" || status === "false_positive";
  return status === filter;
}

/** The block ID of a listed finding, for whoever adds to it (decisions): stable per fingerprint. */
export const findingBlockId = (fingerprint: string) => `finding:${fingerprint}`.slice(0, 255);

function findingSection(projectId: string, finding: ListedFinding): KnownBlock {
  const where = finding.location ? ` · ${reportText(finding.location, 200)}` : "";
  const lines = [
    `*${reportText(finding.title, 150)}* (${finding.severity})${where}`,
    `_${STATUS_LABEL[finding.status]}_ · last seen in scan ${escapeText(finding.lastSeenScanId)}`,
  ];
  const decision = finding.decision;
  if (decision) {
    const until = decision.expiresAt ? ` until ${slackDate(decision.expiresAt)}` : "";
    lines.push(
      `Decided by <@${decision.requestedBy}>, approved by <@${decision.approvedBy}>${until}: ${reportText(decision.reason, 300)}`,
    );
  }
  const open = finding.status === "new" || finding.status === "open";
  const menu = open ? decisionMenu(projectId, finding.fingerprint) : undefined;
  return {
    type: "section",
    block_id: findingBlockId(finding.fingerprint),
    text: { type: "mrkdwn", text: lines.join("\n") },
    ...(menu ? { accessory: menu } : {}),
  };
}

/** The command that shows another page of the same list. */
function pageCommand(projectName: string, query: FindingsQuery, page: number): string {
  const name = /\s/.test(projectName) ? `"${projectName.replace(/"/g, "")}"` : projectName;
  const severity = query.minSeverity ? ` severity>=${query.minSeverity}` : "";
  return `\`/crashtest findings ${escapeText(name)} ${query.filter}${severity} page:${page}\``;
}

export function findingsListMessage(
  project: { id: string; name: string },
  state: ProjectFindings,
  query: FindingsQuery,
): SlackMessage {
  const name = escapeText(project.name);
  const floor = query.minSeverity ? SEVERITIES.indexOf(query.minSeverity) : SEVERITIES.length - 1;
  const chosen = state.findings.filter(
    (f) => matches(query.filter, f.status) && SEVERITIES.indexOf(f.severity) <= floor,
  );
  const pages = Math.max(1, Math.ceil(chosen.length / FINDINGS_PAGE_SIZE));
  const page = Math.min(query.page, pages);
  const shown = chosen.slice((page - 1) * FINDINGS_PAGE_SIZE, page * FINDINGS_PAGE_SIZE);
  const what = `${FILTER_WORDS[query.filter]}${query.minSeverity ? `, ${query.minSeverity} or worse` : ""}`;
  const head = `*Findings of ${name}* (${what}): *${chosen.length}* · latest scan ${escapeText(state.scanId)}, ended ${slackDate(state.endedAt)}`;
  const blocks: KnownBlock[] = [
    section(state.result ? `${head}\n${escapeText(diffLine(state.result))}` : head),
  ];
  const warning = state.result ? suspectText(state.result) : undefined;
  if (warning) blocks.push(section(warning));
  for (const finding of shown) blocks.push(findingSection(project.id, finding));
  const notes: string[] = [];
  if (chosen.length === 0) notes.push("Nothing to list with these filters.");
  if (pages > 1) {
    notes.push(
      page < pages
        ? `Page ${page} of ${pages}. More: ${pageCommand(project.name, query, page + 1)}`
        : `Page ${page} of ${pages}.`,
    );
  }
  if (state.dropped)
    notes.push(`${state.dropped} less severe findings of that scan are not kept in the history.`);
  notes.push("Filters: `new`, `fixed`, `open` (default), `accepted`; `severity>=high`; `page:2`.");
  blocks.push(context(...notes));
  return message(`Findings of ${project.name}: ${chosen.length} ${what}`, blocks);
}
