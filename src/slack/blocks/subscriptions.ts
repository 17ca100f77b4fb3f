import { KIND_WORDS } from "../../domain/findings/decision-record.js";
import type { SeverityCounts } from "../../domain/findings/types.js";
import type { Severity } from "../../domain/ports.js";
import { SEVERITIES } from "../../domain/ports.js";
import { clockText } from "../../domain/subscriptions/local-time.js";
import type { DigestSummary, Notice } from "../../domain/subscriptions/matching.js";
import type { ChannelSettings, DigestSchedule, Subscription } from "../../domain/subscriptions/records.js";
import { button, slackDate } from "./cards.js";
import {
  context,
  divider,
  escapeText,
  header,
  type KnownBlock,
  LIMITS,
  message,
  reportText,
  type SlackMessage,
  section,
  truncate,
} from "./common.js";

/**
 * Subscription messages: one compact line per event with a link to the scan card's thread (never a
 * copy of it), grouped when several accumulated; the digest; and a channel's subscription list.
 */

export const SUBSCRIPTION_ACTIONS = { remove: "subscription_remove" } as const;

const SHORT: Record<Severity, string> = {
  critical: "critical",
  high: "high",
  medium: "medium",
  low: "low",
  info: "info",
};

export function countsText(counts: SeverityCounts | undefined): string {
  if (!counts) return "";
  const parts = SEVERITIES.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${counts[s]} ${SHORT[s]}`);
  return parts.length > 0 ? parts.join(", ") : "none";
}

const ICON: Record<Notice["kind"], string> = {
  started: ":arrow_forward:",
  finished: ":white_check_mark:",
  failed: ":x:",
  "new-findings": ":rotating_light:",
  approval: ":raised_hand:",
  approved: ":white_check_mark:",
  denied: ":no_entry:",
  expired: ":hourglass:",
  digest: ":newspaper:",
};

/** One line per notice: at most about 350 characters, so MAX_GROUP of them stay within 11k characters. */
export function noticeLine(n: Notice): string {
  const project = `*${escapeText(truncate(n.projectName, 60))}*`;
  const scan = n.scanId ? `scan ${escapeText(truncate(n.scanId, 40))}` : "scan";
  const link = n.link ? ` · <${n.link}|${n.requestId && !n.scanId ? "request" : "thread"}>` : "";
  const by = n.requestedBy ? ` by <@${n.requestedBy}>` : "";
  // A finding decision request names the finding; a scan request is "a scan".
  const finding = n.about?.title ? ` of *${reportText(n.about.title, 80)}*` : "";
  const asked = n.about ? `a ${KIND_WORDS[n.about.kind]}${finding}` : "a scan";
  const request = n.about ? `${KIND_WORDS[n.about.kind]} request${finding}` : "scan request";
  let what: string;
  switch (n.kind) {
    case "started":
      what = `${project}: ${scan} started${by}`;
      break;
    case "finished":
      what = `${project}: ${scan} finished${n.counts ? ` · findings: ${countsText(n.counts)}` : ""}${n.newCounts ? ` · new: ${countsText(n.newCounts)}` : ""}`;
      break;
    case "new-findings":
      what = `${project}: ${scan} found new findings: ${countsText(n.newCounts)}${n.fixedCounts && countsText(n.fixedCounts) !== "none" ? ` · fixed: ${countsText(n.fixedCounts)}` : ""}`;
      break;
    case "failed":
      what = `${project}: ${scan} failed at the scanner`;
      break;
    case "approval":
      what = `${project}: ${asked}${by} waits for approval`;
      break;
    case "approved":
      what = `${project}: your ${request} was approved${n.by ? ` by <@${n.by}>` : ""}${n.scanId ? `; ${scan} started` : ""}`;
      break;
    case "denied":
      what = `${project}: your ${request} was denied${n.by ? ` by <@${n.by}>` : ""}`;
      break;
    case "expired":
      what = `${project}: your ${request} expired before anyone approved it`;
      break;
    case "digest":
      what = `${project}: digest`;
      break;
  }
  return `${ICON[n.kind]} ${truncate(what, 220)}${link}`;
}

/** Lines as sections, each within the section text limit. */
function sections(lines: readonly string[], title?: string): KnownBlock[] {
  const out: KnownBlock[] = [];
  let chunk: string[] = title ? [title] : [];
  for (const line of lines) {
    if (chunk.length > 0 && [...chunk, line].join("\n").length > LIMITS.sectionText) {
      out.push(section(chunk.join("\n")));
      chunk = [];
    }
    chunk.push(line);
  }
  if (chunk.length > 0) out.push(section(chunk.join("\n")));
  return out;
}

/** The one message for what accumulated: one line for one notice, a grouped list for more. */
export function noticeMessage(notices: readonly Notice[]): SlackMessage {
  const digest = notices.find((n) => n.kind === "digest");
  if (digest?.digest && notices.length === 1) return digestMessage(digest);
  const lines = notices.filter((n) => n.kind !== "digest").map(noticeLine);
  const digests = notices.filter((n) => n.kind === "digest" && n.digest);
  if (lines.length === 1 && digests.length === 0) {
    const line = lines[0] as string;
    return message(line, [section(line)]);
  }
  const blocks: KnownBlock[] = [
    context(`${lines.length} scan events since the last message`),
    ...sections(lines),
  ];
  for (const d of digests) blocks.push(divider(), ...digestBlocks(d).slice(0, 10));
  return message(`${lines.length} scan events`, blocks);
}

function digestBlocks(n: Notice): KnownBlock[] {
  const d = n.digest as DigestSummary;
  const scope = n.projectId === "*" ? "all projects" : escapeText(n.projectName);
  const blocks: KnownBlock[] = [
    header(`Scan digest: ${n.projectId === "*" ? "all projects" : n.projectName}`),
    context(`${slackDate(d.from)} – ${slackDate(d.to)} · ${scope}`),
  ];
  if (d.projects.length === 0 && d.approvals === 0 && !d.decisions)
    blocks.push(section("No scans ended in this period."));
  const lines = d.projects.slice(0, 30).map((p) => {
    const parts = [`${p.finished} finished`];
    if (p.failed > 0) parts.push(`${p.failed} failed`);
    const added = countsText(p.newCounts);
    const fixed = countsText(p.fixedCounts);
    if (added !== "none") parts.push(`new: ${added}`);
    if (fixed !== "none") parts.push(`fixed: ${fixed}`);
    return `*${escapeText(truncate(p.projectName, 60))}*: ${parts.join(" · ")}`;
  });
  blocks.push(...sections(lines));
  if (d.projects.length > 30) blocks.push(context(`…and ${d.projects.length - 30} more projects.`));
  if (d.approvals > 0)
    blocks.push(context(`${d.approvals} scan request${d.approvals === 1 ? "" : "s"} waited for approval.`));
  const decisions = d.decisions ?? 0;
  if (decisions > 0)
    blocks.push(context(`${decisions} finding decision${decisions === 1 ? "" : "s"} waited for approval.`));
  if (d.expiring.length > 0) {
    const expiring = d.expiring.map(
      (e) =>
        `• *${escapeText(truncate(e.projectName, 60))}* \`${escapeText(truncate(e.fingerprint, 40))}\` until ${slackDate(e.expiresAt)}`,
    );
    blocks.push(...sections(expiring, "*Risk acceptances expiring soon*"));
  }
  return blocks;
}

export function digestMessage(n: Notice): SlackMessage {
  const d = n.digest as DigestSummary;
  const finished = d.projects.reduce((sum, p) => sum + p.finished, 0);
  return message(`Scan digest: ${finished} finished scan${finished === 1 ? "" : "s"}`, digestBlocks(n));
}

const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

export function digestText(d: DigestSchedule): string {
  const time = clockText(d.hour * 60 + d.minute);
  return d.every === "weekly" ? `weekly on ${DAY_NAMES[d.day ?? 1]} at ${time}` : `daily at ${time}`;
}

function subscriptionLine(s: Subscription): string {
  const project = s.projectId === "*" ? "every project" : `*${escapeText(truncate(s.projectName, 60))}*`;
  const parts = [`events: ${s.events.join(", ")}`];
  parts.push(s.minSeverity ? `severity ≥ ${s.minSeverity}` : "any severity");
  if (s.digest) parts.push(`digest ${digestText(s.digest)}`);
  return `${project} · ${parts.join(" · ")}`;
}

/** The channel's subscriptions, each with a Remove button (at most 20 shown, within 50 blocks). */
export function subscriptionList(
  subscriptions: readonly Subscription[],
  settings: ChannelSettings,
): SlackMessage {
  const shown = subscriptions.slice(0, 20);
  const blocks: KnownBlock[] = [section(`*Subscriptions of this channel* · ${subscriptions.length}`)];
  for (const s of shown) {
    blocks.push({
      type: "section",
      text: { type: "mrkdwn", text: truncate(subscriptionLine(s), LIMITS.sectionText) },
      accessory: button("Remove", SUBSCRIPTION_ACTIONS.remove, s.id, "danger", {
        title: "Remove subscription?",
        text: `This channel stops hearing about ${s.projectId === "*" ? "every project" : escapeText(truncate(s.projectName, 60))}.`,
        confirm: "Remove",
      }),
    });
  }
  if (subscriptions.length > shown.length)
    blocks.push(
      context(
        `…and ${subscriptions.length - shown.length} more; \`/crashtest unsubscribe <project>\` removes one.`,
      ),
    );
  if (subscriptions.length === 0)
    blocks.push(context("None yet. `/crashtest subscribe <project|*>` subscribes this channel."));
  const quiet = settings.quiet
    ? `quiet ${clockText(settings.quiet.from)}-${clockText(settings.quiet.to)}${settings.urgent?.length ? ` (urgent: ${settings.urgent.join(", ")})` : ""}`
    : "no quiet hours";
  blocks.push(context(`Time zone ${escapeText(settings.timezone)} · ${quiet}`));
  return message(`${subscriptions.length} subscription${subscriptions.length === 1 ? "" : "s"}`, blocks);
}
