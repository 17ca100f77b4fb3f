import type { ScanResult, SeverityCounts } from "../../domain/findings/types.js";
import type { Finding } from "../../domain/ports.js";
import { SEVERITIES } from "../../domain/ports.js";
import { context, escapeText, type KnownBlock, LIMITS, section, truncate } from "./common.js";

/**
 * Findings history on the scan card and in the findings summary: what changed since the project's
 * previous scan, and why a result may not be trusted. Pure builders; the card and the summary
 * (cards.ts, findings.ts) place them.
 */

export const FIRST_SCAN_LINE = "First scan of this project, nothing to compare.";

const sum = (counts: SeverityCounts) => SEVERITIES.reduce((n, s) => n + counts[s], 0);

/** "2 high, 1 medium": the severities that have any, most severe first. */
function bySeverity(counts: SeverityCounts): string {
  return SEVERITIES.filter((s) => counts[s] > 0)
    .map((s) => `${counts[s]} ${s}`)
    .join(", ");
}

/** "New 2 high, 1 medium · Fixed 3 · Still open 40 · Accepted 1", or the first-scan line. */
export function diffLine(result: ScanResult): string {
  const { diff } = result;
  if (diff.first) {
    const decided = [
      ...(diff.accepted > 0 ? [`Accepted ${diff.accepted}`] : []),
      ...(diff.falsePositive > 0 ? [`False positive ${diff.falsePositive}`] : []),
    ];
    return [FIRST_SCAN_LINE, ...decided].join(" · ");
  }
  const fresh = sum(diff.new);
  const parts = [
    fresh === 0 ? "New 0" : `New ${bySeverity(diff.new)}`,
    `Fixed ${sum(diff.fixed)}`,
    `Still open ${sum(diff.open)}`,
    ...(diff.accepted > 0 ? [`Accepted ${diff.accepted}`] : []),
    ...(diff.falsePositive > 0 ? [`False positive ${diff.falsePositive}`] : []),
  ];
  return parts.join(" · ");
}

/** ":warning: Suspect result: 0 findings, but the scan ran 4 min against a usual 2 h: …" */
export function suspectText(result: ScanResult): string | undefined {
  const reasons = result.suspect?.reasons ?? [];
  if (reasons.length === 0) return undefined;
  return truncate(
    `:warning: *This result may not be trustworthy:* ${reasons.map(escapeText).join("; ")}.`,
    LIMITS.sectionText,
  );
}

/** The final card's lines: the diff, and the suspect warning when there is one. */
export function historyCardBlocks(result: ScanResult | undefined): KnownBlock[] {
  if (result === undefined) return [];
  const warning = suspectText(result);
  return [context(`*Since the last scan:* ${diffLine(result)}`), ...(warning ? [section(warning)] : [])];
}

/** The summary's lines under its counts: the diff and the suspect warning. */
export function historySummaryBlocks(result: ScanResult | undefined): KnownBlock[] {
  if (result === undefined) return [];
  const warning = suspectText(result);
  return [section(`*Since the last scan:* ${diffLine(result)}`), ...(warning ? [section(warning)] : [])];
}

/** The summary's findings split into the new ones and the rest (each order kept: most severe first). */
export function splitNew(
  findings: readonly Finding[],
  fresh: readonly Finding[] | undefined,
): { fresh: Finding[]; rest: Finding[] } {
  const isNew = new Set(fresh ?? []);
  return { fresh: findings.filter((f) => isNew.has(f)), rest: findings.filter((f) => !isNew.has(f)) };
}

/** The label new findings get in the summary list. */
export const NEW_MARKER = ":new: *New* · ";
