import type { Finding, FindingsSummary, ReportFormat, Severity } from "../../domain/ports.js";
import { SEVERITIES } from "../../domain/ports.js";
import {
  context,
  divider,
  escapeText,
  type KnownBlock,
  LIMITS,
  message,
  type SlackMessage,
  section,
  truncate,
} from "./common.js";

/**
 * The findings summary posted in a scan's thread when it finishes. Finding titles, categories and
 * details come from the scanner's report, and reports quote attack payloads verbatim: all of it is
 * treated as hostile text (flattened, capped, then escaped), and the message is capped well below
 * Slack's limits (50 blocks, 3000 characters per section, about 13k characters per message).
 */

export const FINDINGS_LIMITS = {
  /** Findings listed one by one, most severe first; the rest are counted. */
  top: 10,
  titleChars: 120,
  categoryChars: 40,
  detailChars: 280,
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

// Control characters, and the invisible/bidirectional ones that can disguise text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/**
 * Report text made safe for mrkdwn: invisible and control characters removed, whitespace flattened
 * (a payload cannot fake new lines or blocks), cut to `max` characters (never inside a surrogate
 * pair), then escaped, so no `<!channel>`, `<@U…>` or `<url|label>` survives. Cutting happens before
 * escaping, so an entity is never cut in half.
 */
export function reportText(input: string, max: number): string {
  // Cut before any pattern runs: report text can be megabytes, and only `max` characters are shown.
  let head = input.length > max * 8 ? input.slice(0, max * 8) : input;
  if (head.length < input.length && /[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1);
  const flat = head.replace(HIDDEN, " ").replace(/\s+/g, " ").trim();
  const chars = Array.from(flat);
  const cut = chars.length <= max ? flat : `${chars.slice(0, Math.max(0, max - 1)).join("")}…`;
  return escapeText(cut);
}

/** Inline code keeps payloads from being formatted or linked; a backtick cannot close it early. */
function codeText(input: string, max: number): string {
  return `\`${reportText(input.replace(/`/g, "'"), max)}\``;
}

export function severityCounts(summary: FindingsSummary): string {
  return SEVERITIES.map((s) => `${summary.counts[s]} ${s}`).join(", ");
}

function findingBlock(finding: Finding): KnownBlock {
  const head = [
    `*${SEVERITY_LABEL[finding.severity]}*`,
    `*${reportText(finding.title, FINDINGS_LIMITS.titleChars)}*`,
    ...(finding.category ? [codeText(finding.category, FINDINGS_LIMITS.categoryChars)] : []),
    ...(finding.score === undefined ? [] : [`score ${finding.score}`]),
  ].join(" · ");
  const detail = finding.detail ? `\n${codeText(finding.detail, FINDINGS_LIMITS.detailChars)}` : "";
  return section(`${head}${detail}`);
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
 * Counts by severity, then the most severe findings (up to `top`, and only as many as fit the
 * character budget), then where to find the rest.
 */
export function findingsSummaryMessage(
  subject: FindingsSubject,
  summary: FindingsSummary,
  options: { top?: number; format?: ReportFormat } = {},
): SlackMessage {
  const id = escapeText(subject.scanId);
  const name = escapeText(subject.projectName);
  const top = Math.max(0, Math.min(options.top ?? FINDINGS_LIMITS.top, LIMITS.blocksPerMessage - 6));
  const text = `Findings of scan ${id} (${name}): ${summary.total} (${severityCounts(summary)})`;
  const blocks: KnownBlock[] = [
    section(
      `*Findings* · scan ${id} · *${name}*\n${summary.total === 0 ? "No findings. :tada:" : `*${summary.total}* finding${summary.total === 1 ? "" : "s"}: ${severityCounts(summary)}`}`,
    ),
  ];
  if (summary.total === 0) return message(text, blocks);
  blocks.push({
    type: "section",
    fields: SEVERITIES.map((s) => ({
      type: "mrkdwn" as const,
      text: truncate(`*${SEVERITY_LABEL[s]}*\n${summary.counts[s]}`, LIMITS.fieldText),
    })),
  });
  blocks.push(divider());
  let used = blocks.reduce((n, b) => n + blockChars(b), 0);
  // Room for the closing context line.
  const budget = FINDINGS_LIMITS.messageChars - 400;
  let shown = 0;
  for (const finding of summary.findings.slice(0, top)) {
    const block = findingBlock(finding);
    const size = blockChars(block);
    if (used + size > budget) break;
    blocks.push(block);
    used += size;
    shown++;
  }
  const rest = summary.total - shown;
  const format = options.format ?? "json";
  const where = `Full details: the report files in this thread, or \`/crashtest report ${id} ${format}\`.`;
  blocks.push(
    context(
      rest > 0
        ? `Showing the ${shown} most severe of ${summary.total} findings. ${where}`
        : `${summary.total === 1 ? "The finding is" : `All ${summary.total} findings`} shown. ${where}`,
    ),
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
