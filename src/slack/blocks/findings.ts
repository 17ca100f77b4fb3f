import type { ScanResult } from "../../domain/findings/types.js";
import type { Finding, FindingsSummary, ReportFormat, Severity } from "../../domain/ports.js";
import { SEVERITIES } from "../../domain/ports.js";
import { ACTIONS, button, countsLine } from "./cards.js";
import {
  context,
  divider,
  escapeText,
  type KnownBlock,
  LIMITS,
  message,
  reportText,
  type SlackMessage,
  section,
} from "./common.js";
import { reviewFindingsButton } from "./decisions.js";
import { historySummaryBlocks, NEW_MARKER, splitNew } from "./history.js";

export { reportText };

/**
 * The findings summary posted in a scan's thread when it finishes: the counts once, then the
 * findings grouped by type ("3 × SQL Injection: /login, /search, /api/items") with the scanner's
 * own fix and links, then what to do next. Titles, locations, fixes and details come from the
 * scanner's report, and reports quote attack payloads verbatim: all of it is treated as hostile text
 * (flattened, capped, then escaped), links are rebuilt from parsed http(s) URLs only, and the message
 * stays well below Slack's limits (50 blocks, 3000 characters per section, about 13k per message).
 */

export const FINDINGS_LIMITS = {
  /** Finding types listed one by one, most severe first; the rest are counted. */
  top: 10,
  titleChars: 120,
  categoryChars: 40,
  detailChars: 280,
  /** Places listed per type; the rest are counted. */
  places: 5,
  placeChars: 80,
  /** The scanner's fix, cut to one line. */
  fixChars: 160,
  /** Budget for all block text of the message; Slack has refused messages from about 13.2k. */
  messageChars: 11_000,
} as const;

export interface FindingsSubject {
  scanId: string;
  projectName: string;
}

const SEVERITY_LABEL: Record<Severity, string> = {
  critical: ":rotating_light: Critical",
  high: ":red_circle: High",
  medium: ":large_orange_circle: Medium",
  low: ":large_yellow_circle: Low",
  info: ":large_blue_circle: Info",
};

/** Inline code keeps payloads from being formatted or linked; a backtick cannot close it early. */
function codeText(input: string, max: number): string {
  return `\`${reportText(input.replace(/`/g, "'"), max)}\``;
}

/** The plain-text list of counts, every severity: "1 critical, 0 high, …" (notification text). */
export function severityCounts(summary: FindingsSummary): string {
  return SEVERITIES.map((s) => `${summary.counts[s]} ${s}`).join(", ");
}

/** One type of finding: the findings of one check (the scanner's slug, else its title). */
interface FindingGroup {
  first: Finding;
  count: number;
  places: string[];
}

function placeOf(finding: Finding): string | undefined {
  const where = finding.location?.path ?? finding.location?.url;
  if (!where) return undefined;
  return finding.location?.parameter ? `${where} (${finding.location.parameter})` : where;
}

/** Groups by type, keeping the report's order (most severe first) and each type's distinct places. */
function groupsOf(findings: readonly Finding[]): FindingGroup[] {
  const groups = new Map<string, FindingGroup>();
  for (const finding of findings) {
    const key = `${finding.slug ?? finding.title}\u0000${finding.severity}`;
    const group = groups.get(key) ?? { first: finding, count: 0, places: [] };
    group.count++;
    const place = placeOf(finding);
    if (place && !group.places.includes(place) && group.places.length < FINDINGS_LIMITS.places) {
      group.places.push(place);
    }
    groups.set(key, group);
  }
  const rank = (g: FindingGroup) => SEVERITIES.indexOf(g.first.severity);
  return [...groups.values()].sort((a, b) => rank(a) - rank(b) || b.count - a.count);
}

/** A link from the report, rebuilt: a parsed http(s) URL without the characters that end mrkdwn links. */
function safeLink(url: string, label: string): string | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return undefined;
    const href = parsed.href.replace(/\|/g, "%7C").replace(/</g, "%3C").replace(/>/g, "%3E");
    return href.length > 500 ? undefined : `<${href}|${reportText(label, 40).replace(/\|/g, "/")}>`;
  } catch {
    return undefined;
  }
}

function groupBlock(group: FindingGroup, marker = ""): KnownBlock {
  const { first, count } = group;
  const title = reportText(first.title, FINDINGS_LIMITS.titleChars);
  const what = count > 1 ? `${count} × ${title}` : title;
  const shown = group.places.slice(0, FINDINGS_LIMITS.places);
  const more = count - shown.length;
  const places =
    shown.length > 0
      ? `: ${shown.map((p) => codeText(p, FINDINGS_LIMITS.placeChars)).join(", ")}${more > 0 ? ` and ${more} more` : ""}`
      : "";
  const lines = [`${marker}*${SEVERITY_LABEL[first.severity]} · ${what}*${places}`];
  // A single finding without a place: its own words say where.
  if (shown.length === 0 && first.detail) lines.push(codeText(first.detail, FINDINGS_LIMITS.detailChars));
  const fix = first.remediation?.howToFix;
  if (fix) lines.push(`*Fix:* ${reportText(fix, FINDINGS_LIMITS.fixChars)}`);
  const links = (first.remediation?.references ?? [])
    .map((r) => safeLink(r.url, r.label))
    .filter((l): l is string => l !== undefined)
    .slice(0, 3);
  if (links.length > 0) lines.push(links.join(" · "));
  return section(lines.join("\n"));
}

function blockChars(block: KnownBlock): number {
  if (block.type === "section") {
    return (block.text?.text.length ?? 0) + (block.fields ?? []).reduce((n, f) => n + f.text.length, 0);
  }
  if (block.type === "context") {
    return block.elements.reduce(
      (n, e) => n + ("text" in e && typeof e.text === "string" ? e.text.length : 0),
      0,
    );
  }
  return 0;
}

/**
 * What the scan covered, when the report says: the checks it lists (for a scan without findings),
 * and those that could not run.
 */
function coverage(summary: FindingsSummary): string | undefined {
  const parts: string[] = [];
  if (summary.total === 0 && summary.checks && summary.checks.length > 0) {
    const names = summary.checks.slice(0, 30).map((c) => reportText(c, FINDINGS_LIMITS.categoryChars));
    parts.push(`Checks run: ${names.join(", ")}${summary.checks.length > 30 ? " …" : ""}.`);
  }
  if (summary.scannerErrors) {
    const { count, checks } = summary.scannerErrors;
    parts.push(`:warning: ${count} of ${checks} check${checks === 1 ? "" : "s"} could not run.`);
  }
  return parts.length > 0 ? parts.join(" ") : undefined;
}

/**
 * Counts by severity once, then the most severe finding types (up to `top`, and only as many as fit
 * the character budget), then what next: where the rest is, and a Rescan button.
 */
export function findingsSummaryMessage(
  subject: FindingsSubject,
  summary: FindingsSummary,
  options: { top?: number; format?: ReportFormat; result?: ScanResult; fresh?: readonly Finding[] } = {},
): SlackMessage {
  const id = escapeText(subject.scanId);
  const name = escapeText(subject.projectName);
  const top = Math.max(0, Math.min(options.top ?? FINDINGS_LIMITS.top, LIMITS.blocksPerMessage - 8));
  const text = `Findings of scan ${id} (${name}): ${summary.total} (${severityCounts(summary)})`;
  const format = options.format ?? "json";
  const covered = coverage(summary);
  if (summary.total === 0) {
    const head = `*Findings* · scan ${id} · *${name}*\n*No findings.* The scanner found nothing to report in this scan.`;
    return message(text, [
      section(covered ? `${head}\n${covered}` : head),
      ...historySummaryBlocks(options.result),
    ]);
  }
  const blocks: KnownBlock[] = [
    section(
      `*Findings* · scan ${id} · *${name}*\n*${summary.total} finding${summary.total === 1 ? "" : "s"}:* ${countsLine(summary.counts)}`,
    ),
    ...historySummaryBlocks(options.result),
    divider(),
  ];
  let used = blocks.reduce((n, b) => n + blockChars(b), 0);
  // Room for the closing lines and the button.
  const budget = FINDINGS_LIMITS.messageChars - 800;
  // New since the previous scan first, marked; then the rest, each most severe first.
  const split = splitNew(summary.findings, options.fresh);
  const groups = [
    ...groupsOf(split.fresh).map((group) => ({ ...group, marker: NEW_MARKER })),
    ...groupsOf(split.rest).map((group) => ({ ...group, marker: "" })),
  ];
  let shownGroups = 0;
  let shownFindings = 0;
  for (const group of groups.slice(0, top)) {
    const block = groupBlock(group, group.marker);
    const size = blockChars(block);
    if (used + size > budget) break;
    blocks.push(block);
    used += size;
    shownGroups++;
    shownFindings += group.count;
  }
  const rest = summary.total - shownFindings;
  const whole = `\`/crashtest report ${id} ${format}\``;
  const shown =
    rest > 0
      ? `Showing the ${shownGroups} most severe finding types (${shownFindings} of ${summary.total} findings).`
      : `${summary.total === 1 ? "The finding is" : `All ${summary.total} findings are`} shown.`;
  blocks.push(
    divider(),
    context(
      `*What next:* ${shown} The report files are attached in this thread; ${whole} has every finding. After a fix, press *Rescan*.`,
      ...(covered ? [covered] : []),
    ),
    {
      type: "actions",
      elements: [
        button("Rescan", ACTIONS.rescan, subject.scanId, "primary"),
        reviewFindingsButton(subject.scanId),
      ],
    },
  );
  return message(text, blocks);
}

export function findingsUnavailableMessage(subject: FindingsSubject, reason: string): SlackMessage {
  const id = escapeText(subject.scanId);
  const text = `The findings summary of scan ${id} is not available: ${reportText(reason, 500)}`;
  return message(text, [
    section(
      `:warning: The findings summary of scan ${id} is not available: ${reportText(reason, 500)}\nThe report files (or \`/crashtest report ${id} json\`) have the details.`,
    ),
  ]);
}
