import type { types } from "@slack/bolt";
import type { CredentialStatus } from "../../domain/credential-guard.js";
import { TERMINAL_SCAN_STATES } from "../../domain/ports.js";
import type { ApprovalRequest, ScanRecord } from "../../domain/scans.js";
import { ACTIONS, button, slackDate, stateLabel } from "./cards.js";
import { context, divider, escapeText, header, type KnownBlock, LIMITS, section } from "./common.js";
import { credentialStatusMessage } from "./credentials.js";

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

function scanLine(scan: ScanRecord): string {
  return `*${escapeText(scan.projectName)}* · scan ${escapeText(scan.scanId)} · ${stateLabel(scan.state, scan.rawCode)} · ${slackDate(scan.updatedAt)}`;
}

function list(lines: string[], empty: string): KnownBlock[] {
  if (lines.length === 0) return [context(empty)];
  const shown = lines.slice(0, PER_LIST).map((line) => section(line));
  if (lines.length > PER_LIST) shown.push(context(`…and ${lines.length - PER_LIST} more.`));
  return shown;
}

function approvalBlocks({ request, decidable }: HomeApproval): KnownBlock[] {
  const line = section(
    `*${escapeText(request.projectName)}* · requested by <@${request.requestedBy}> in <#${request.channel}> · expires ${slackDate(request.expiresAt)}`,
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

/**
 * The App Home tab of someone who may view: what is running, what waits for approval (with buttons
 * when they may decide), what just ended, credential health. Callers pass only what this viewer may see.
 */
export function homeView(input: {
  scans: readonly ScanRecord[];
  approvals: readonly HomeApproval[];
  credentials: readonly CredentialStatus[] | undefined;
  now: number;
  /** A line for the viewer at the top, e.g. about their last click. */
  notice?: string;
}): types.HomeView {
  const running = input.scans.filter((s) => !TERMINAL_SCAN_STATES.has(s.state));
  const recent = input.scans
    .filter((s) => TERMINAL_SCAN_STATES.has(s.state))
    .sort((a, b) => b.updatedAt - a.updatedAt)
    .slice(0, 10);
  const approvals = [...input.approvals].sort((a, b) => a.request.expiresAt - b.request.expiresAt);
  const approvalList =
    approvals.length === 0
      ? [context("Nothing waits for approval.")]
      : approvals.slice(0, APPROVALS_SHOWN).flatMap(approvalBlocks);
  if (approvals.length > APPROVALS_SHOWN)
    approvalList.push(context(`…and ${approvals.length - APPROVALS_SHOWN} more; the oldest expire first.`));
  const blocks: KnownBlock[] = [
    header("Crashtest ChatOps"),
    context(`Updated ${slackDate(input.now)} · \`/crashtest help\` lists the commands`),
    ...(input.notice ? [section(input.notice)] : []),
    divider(),
    section(`*Running scans* (${running.length})`),
    ...list(running.map(scanLine), "No scans are running."),
    divider(),
    section(`*Waiting for approval* (${approvals.length})`),
    ...approvalList,
    divider(),
    section("*Recent results*"),
    ...list(recent.map(scanLine), "No finished scans yet."),
    divider(),
  ];
  if (input.credentials === undefined) {
    blocks.push(
      section("*Veracode credentials*"),
      context("No Veracode accounts are configured (see the README)."),
    );
  } else {
    blocks.push(...credentialStatusMessage([...input.credentials], input.now).blocks);
  }
  return { type: "home", blocks: blocks.slice(0, LIMITS.blocksPerView) };
}

/** The Home of someone without view rights: who to ask, and nothing else. */
export function noAccessView(admins: readonly string[], now: number): types.HomeView {
  const who =
    admins.length > 0
      ? `Ask ${admins.map((id) => (id.startsWith("S") ? `<!subteam^${id}>` : `<@${id}>`)).join(", ")} for access.`
      : "No roles are configured yet: an operator of the bot must set ADMIN_USERS (see the README).";
  return {
    type: "home",
    blocks: [
      header("Crashtest ChatOps"),
      section(`:lock: You do not have access to scans here. ${who}`),
      context(`Updated ${slackDate(now)}`),
    ],
  };
}
