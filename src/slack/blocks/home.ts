import type { types } from "@slack/bolt";
import type { CredentialStatus } from "../../domain/credential-guard.js";
import { type DecisionRequest, KIND_WORDS } from "../../domain/findings/decision-record.js";
import { TERMINAL_SCAN_STATES } from "../../domain/ports.js";
import type { ApprovalRequest, ScanRecord } from "../../domain/scans.js";
import { ACTIONS, button, type CardView, countsLine, headline, slackDate } from "./cards.js";
import { context, divider, escapeText, header, type KnownBlock, LIMITS, section } from "./common.js";
import { describeTimeLeft } from "./credentials.js";
import { subjectLine } from "./decisions.js";

const PER_LIST = 15;
/** Approvals carry an actions block each; fewer of them keep the tab inside 100 blocks. */
const APPROVALS_SHOWN = 10;
/** Block IDs of the Home's approval buttons start with this, so a listener can tell them from cards. */
export const HOME_BLOCK_PREFIX = "home_approval:";

/** What the viewer may do with a pending request: decide it, withdraw their own, or only look. */
export type Decidable = "decide" | "withdraw" | "none";

export interface HomeApproval {
  request: ApprovalRequest;
  decidable: Decidable;
}

/** A pending finding decision the viewer asked for (`mine`) or may decide, with its card's link. */
export interface HomeDecision {
  request: DecisionRequest;
  mine: boolean;
  link?: string;
}

/** Finding decisions are decided on their cards: one line each, in one section, soonest to expire first. */
const DECISIONS_SHOWN = 10;

function decisionList(decisions: readonly HomeDecision[]): KnownBlock[] {
  if (decisions.length === 0) return [context("No risk acceptance or false positive waits for a decision.")];
  const lines = [...decisions]
    .sort((a, b) => a.request.expiresAt - b.request.expiresAt)
    .slice(0, DECISIONS_SHOWN)
    .map(({ request, mine, link }) => {
      const who = mine ? "yours" : `asked by <@${request.requestedBy}>`;
      const where = link ? `decide on its ${link}` : `in <#${request.approvalChannel ?? request.channel}>`;
      return `${KIND_WORDS[request.kind]} · *${escapeText(request.projectName)}* · ${subjectLine(request.finding, request.fingerprint)} · ${who} · expires ${slackDate(request.expiresAt)} · ${where}`;
    });
  const more = decisions.length - DECISIONS_SHOWN;
  return [section(lines.join("\n")), ...(more > 0 ? [context(`…and ${more} more.`)] : [])];
}

/** A scan as the Home lists it: with a link to its card and, once ended, its findings when known. */
export interface HomeScan {
  scan: ScanRecord;
  /** `<permalink|card>` from chat.getPermalink; absent when Slack gave none. */
  link?: string;
  findings?: CardView["findings"];
}

function scanLine({ scan, link, findings }: HomeScan, now: number): string {
  const parts = [
    `*${escapeText(scan.projectName)}* · scan ${escapeText(scan.scanId)}`,
    headline(scan, now, true),
  ];
  if (findings) parts.push(findings.total === 0 ? "no findings" : countsLine(findings.counts));
  if (link) parts.push(link);
  return parts.join(" · ");
}

function list(lines: string[], empty: string): KnownBlock[] {
  if (lines.length === 0) return [context(empty)];
  const shown = lines.slice(0, PER_LIST).map((line) => section(line));
  if (lines.length > PER_LIST) shown.push(context(`…and ${lines.length - PER_LIST} more.`));
  return shown;
}

function approvalBlocks({ request, decidable }: HomeApproval): KnownBlock[] {
  const by = decidable === "withdraw" ? "" : ` · requested by <@${request.requestedBy}>`;
  const line = section(
    `*${escapeText(request.projectName)}*${by} in <#${request.channel}> · expires ${slackDate(request.expiresAt)}`,
  );
  if (decidable === "none") return [line];
  const deny = button(decidable === "withdraw" ? "Withdraw" : "Deny", ACTIONS.deny, request.id, "danger", {
    title: decidable === "withdraw" ? "Withdraw this request?" : "Deny this scan?",
    text: `The scan of *${escapeText(request.projectName)}* will not run.`,
    confirm: decidable === "withdraw" ? "Withdraw" : "Deny",
  });
  const elements =
    decidable === "decide" ? [button("Approve", ACTIONS.approve, request.id, "primary"), deny] : [deny];
  return [line, { type: "actions", block_id: `${HOME_BLOCK_PREFIX}${request.id}`, elements }];
}

function approvalList(approvals: readonly HomeApproval[], empty: string): KnownBlock[] {
  if (approvals.length === 0) return [context(empty)];
  const blocks = approvals.slice(0, APPROVALS_SHOWN).flatMap(approvalBlocks);
  if (approvals.length > APPROVALS_SHOWN)
    blocks.push(context(`…and ${approvals.length - APPROVALS_SHOWN} more; the oldest expire first.`));
  return blocks;
}

const HEALTH: Record<CredentialStatus["state"], (s: CredentialStatus, now: number) => string> = {
  ok: (s, now) =>
    `:white_check_mark: fine${s.expiresAt === undefined ? "" : `, expires ${slackDate(s.expiresAt)} (${describeTimeLeft(s.expiresAt - now)})`}`,
  "7d": (s, now) =>
    `:warning: expires ${slackDate(s.expiresAt ?? now)} (${describeTimeLeft((s.expiresAt ?? now) - now)}): ask an admin to create a new API credential in Veracode and give it to the bot before then`,
  "1d": (s, now) =>
    `:warning: expires ${slackDate(s.expiresAt ?? now)} (${describeTimeLeft((s.expiresAt ?? now) - now)}): ask an admin to replace it today`,
  expired: () =>
    ":rotating_light: expired: scanner calls signed with it fail until an admin replaces it with a new API credential",
  failing: (s) =>
    `:exclamation: the bot could not check it${s.reason ? ` (${escapeText(s.reason)})` : ""}: ask an admin to look at the bot's Veracode settings`,
};

/** Credential health in words: what is wrong and who should do what, nothing to look up elsewhere. */
function credentialHealth(statuses: readonly CredentialStatus[] | undefined, now: number): KnownBlock[] {
  const title = section("*Veracode credentials*");
  if (statuses === undefined) {
    return [title, context("Not watched: the bot has no Veracode API credentials to check.")];
  }
  if (statuses.length === 0) {
    return [title, context("No check has run yet; the first daily check reports here.")];
  }
  const lines = statuses
    .slice(0, PER_LIST)
    .map(
      (s) =>
        `*${escapeText(s.label)}*${s.keyHint ? ` (key …${escapeText(s.keyHint)})` : ""}: ${HEALTH[s.state](s, now)}`,
    );
  const more =
    statuses.length > PER_LIST
      ? [context(`…and ${statuses.length - PER_LIST} more; \`/crashtest credentials\` lists them all.`)]
      : [];
  return [title, ...lines.map((l) => section(l)), ...more];
}

/**
 * The App Home tab of someone who may view: their own pending requests, the approvals they can decide
 * (with buttons), what is running (with elapsed time and a link to the card), the next scheduled
 * scans, what just ended (with its findings), credential health. Callers pass only what this viewer
 * may see.
 */
export function homeView(input: {
  scans: readonly HomeScan[];
  approvals: readonly HomeApproval[];
  /** Pending finding decisions of channels the viewer sees, theirs or ones they may decide. */
  decisions?: readonly HomeDecision[];
  credentials: readonly CredentialStatus[] | undefined;
  now: number;
  /** A line for the viewer at the top, e.g. about their last click. */
  notice?: string;
  /** The "next scheduled scans" section, built by its own builder; shown after the running scans. */
  upcoming?: readonly KnownBlock[];
}): types.HomeView {
  const { now } = input;
  const running = input.scans.filter((s) => !TERMINAL_SCAN_STATES.has(s.scan.state));
  const recent = input.scans
    .filter((s) => TERMINAL_SCAN_STATES.has(s.scan.state))
    .sort((a, b) => (b.scan.endedAt ?? b.scan.updatedAt) - (a.scan.endedAt ?? a.scan.updatedAt))
    .slice(0, 10);
  const approvals = [...input.approvals].sort((a, b) => a.request.expiresAt - b.request.expiresAt);
  const mine = approvals.filter((a) => a.decidable === "withdraw");
  const decide = approvals.filter((a) => a.decidable === "decide");
  const blocks: KnownBlock[] = [
    header("Crashtest ChatOps"),
    context(`Updated ${slackDate(now)} · \`/crashtest help\` lists the commands`),
    ...(input.notice ? [section(input.notice)] : []),
    divider(),
    section(`*Your pending requests* (${mine.length})`),
    ...approvalList(mine, "You have no scan request waiting for approval."),
    divider(),
    section(`*Approvals you can decide* (${decide.length})`),
    ...approvalList(decide, "Nothing waits for your approval."),
    divider(),
    section(`*Finding decisions waiting* (${input.decisions?.length ?? 0})`),
    ...decisionList(input.decisions ?? []),
    divider(),
    section(`*Running scans* (${running.length})`),
    ...list(
      running.map((s) => scanLine(s, now)),
      "No scans are running.",
    ),
    divider(),
    ...(input.upcoming && input.upcoming.length > 0 ? [...input.upcoming, divider()] : []),
    section("*Recent results*"),
    ...list(
      recent.map((s) => scanLine(s, now)),
      "No finished scans yet.",
    ),
    divider(),
    ...credentialHealth(input.credentials, now),
  ];
  return { type: "home", blocks: blocks.slice(0, LIMITS.blocksPerView) };
}

/** The Home of someone without view rights: who to ask, and nothing else. */
export function noAccessView(admins: readonly string[], now: number): types.HomeView {
  const who =
    admins.length > 0
      ? `Ask ${admins.map((id) => (id.startsWith("S") ? `<!subteam^${id}>` : `<@${id}>`)).join(", ")} for access.`
      : "Nobody has been given a role yet: whoever runs the bot has to name its admins first.";
  return {
    type: "home",
    blocks: [
      header("Crashtest ChatOps"),
      section(`:lock: You do not have access to scans here. ${who}`),
      context(`Updated ${slackDate(now)}`),
    ],
  };
}
