import type { ApprovalRequest, ScanRecord } from "../domain/scans.js";
import { approvalCard, scanCard } from "./blocks/cards.js";
import { escapeText, message, type SlackMessage, section } from "./blocks/common.js";
import type { SurfaceDeps } from "./deps.js";

/** A link to a message, for "see the card" replies. */
export function messageLink(channel: string, ts: string): string {
  return `<https://slack.com/app_redirect?channel=${channel}&message_ts=${ts}|card>`;
}

/**
 * After a scan starts (or turns out to be running already): post its card in the channel, remember
 * where the card is, and hand the scan to the watcher. A scan that already has a card is not posted
 * twice; the person gets a pointer to the existing card instead.
 */
export async function announceScan(
  deps: SurfaceDeps,
  scan: ScanRecord,
  alreadyRunning: boolean,
): Promise<{ scan: ScanRecord; reply: SlackMessage }> {
  if (scan.card) {
    const text = `Scan ${escapeText(scan.scanId)} of *${escapeText(scan.projectName)}* is already running; follow it on its ${messageLink(scan.card.channel, scan.card.ts)}.`;
    return { scan, reply: message(text, [section(text)]) };
  }
  const note = alreadyRunning
    ? "A scan was already running for this project; the bot attached to it."
    : undefined;
  const card = await deps.messenger.post(scan.channel, scanCard(scan, note));
  const posted: ScanRecord = { ...scan, card };
  await deps.scans.saveScan(posted);
  await deps.watcher.watch(posted);
  const text = alreadyRunning
    ? `Scan ${escapeText(scan.scanId)} of *${escapeText(scan.projectName)}* was already running; the bot is now watching it.`
    : `Scan ${escapeText(scan.scanId)} of *${escapeText(scan.projectName)}* started.`;
  return { scan: posted, reply: message(text, [section(text)]) };
}

export async function postApprovalCard(
  deps: SurfaceDeps,
  request: ApprovalRequest,
): Promise<ApprovalRequest> {
  const card = await deps.messenger.post(request.channel, approvalCard(request));
  const saved = { ...request, card };
  await deps.scans.saveApproval(saved);
  return saved;
}

/** Records a refusal or failure in the audit trail; successes are audited by the domain. */
export async function auditFailure(
  deps: SurfaceDeps,
  entry: { user: string; action: string; target: string; kind: string },
): Promise<void> {
  await deps.audit
    .record({
      user: entry.user,
      action: entry.action,
      target: entry.target,
      outcome: entry.kind === "permission" ? "denied" : entry.kind === "validation" ? "refused" : "failed",
      detail: entry.kind,
    })
    .catch((error: unknown) => deps.logger.error("audit write failed", { error }));
}
