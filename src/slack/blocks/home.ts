import type { types } from "@slack/bolt";
import type { CredentialStatus } from "../../domain/credential-guard.js";
import { TERMINAL_SCAN_STATES } from "../../domain/ports.js";
import type { ApprovalRequest, ScanRecord } from "../../domain/scans.js";
import { slackDate, stateLabel } from "./cards.js";
import { context, divider, escapeText, header, type KnownBlock, LIMITS, section } from "./common.js";
import { credentialStatusMessage } from "./credentials.js";

const PER_LIST = 15;

function scanLine(scan: ScanRecord): string {
  return `*${escapeText(scan.projectName)}* · scan ${escapeText(scan.scanId)} · ${stateLabel(scan.state, scan.rawCode)} · ${slackDate(scan.updatedAt)}`;
}

function list(lines: string[], empty: string): KnownBlock[] {
  if (lines.length === 0) return [context(empty)];
  const shown = lines.slice(0, PER_LIST).map((line) => section(line));
  if (lines.length > PER_LIST) shown.push(context(`…and ${lines.length - PER_LIST} more.`));
  return shown;
}

/** The App Home tab: what is running, what waits for approval, what just ended, credential health. */
export function homeView(input: {
  scans: readonly ScanRecord[];
  approvals: readonly ApprovalRequest[];
  credentials: readonly CredentialStatus[] | undefined;
  now: number;
}): types.HomeView {
  const running = input.scans.filter((s) => !TERMINAL_SCAN_STATES.has(s.state));
  const recent = input.scans
    .filter((s) => TERMINAL_SCAN_STATES.has(s.state))
    .sort((a, b) => b.updatedAt - a.updatedAt)
    .slice(0, 10);
  const blocks: KnownBlock[] = [
    header("Crashtest ChatOps"),
    context(`Updated ${slackDate(input.now)} · \`/crashtest help\` lists the commands`),
    divider(),
    section(`*Running scans* (${running.length})`),
    ...list(running.map(scanLine), "No scans are running."),
    divider(),
    section(`*Waiting for approval* (${input.approvals.length})`),
    ...list(
      input.approvals.map(
        (a) =>
          `*${escapeText(a.projectName)}* · requested by <@${a.requestedBy}> · expires ${slackDate(a.expiresAt)}`,
      ),
      "Nothing waits for approval.",
    ),
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
