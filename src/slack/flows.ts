import type { ApprovalAudience, ApprovalRequest } from "../domain/approvals.js";
import type { Authorizer } from "../domain/authz.js";
import { TERMINAL_SCAN_STATES } from "../domain/ports.js";
import type { MessageRef, ScanRecord } from "../domain/scans.js";
import { approvalCard, scanCard } from "./blocks/cards.js";
import { escapeText, message, type SlackMessage, section } from "./blocks/common.js";
import type { SurfaceDeps } from "./deps.js";
import type { MessageMetadata, SlackGateway } from "./gateway.js";

/** A link to a card, for "see the card" replies (chat.getPermalink, through the gateway). */
export function cardLink(deps: SurfaceDeps, card: MessageRef): Promise<string> {
  return deps.slack.linkTo(card, "card");
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
    const text = `Scan ${escapeText(scan.scanId)} of *${escapeText(scan.projectName)}* is already running; follow it on its ${await cardLink(deps, scan.card)}.`;
    return { scan, reply: message(text, [section(text)]) };
  }
  const note = alreadyRunning
    ? "A scan was already running for this project; the bot attached to it."
    : undefined;
  const card = await deps.slack.post(scan.channel, scanCard(scan, note), {
    metadata: cardMetadata(scan),
  });
  const posted: ScanRecord = { ...scan, card };
  await deps.scans.saveScan(posted);
  await deps.watcher.watch(posted);
  const text = alreadyRunning
    ? `Scan ${escapeText(scan.scanId)} of *${escapeText(scan.projectName)}* was already running; the bot is now watching it.`
    : `Scan ${escapeText(scan.scanId)} of *${escapeText(scan.projectName)}* started.`;
  return { scan: posted, reply: message(text, [section(text)]) };
}

/** Marks a scan card so that start-up reconciliation can find it (see reconcileScans). */
function cardMetadata(scan: ScanRecord): MessageMetadata {
  return { event_type: "crashtest_scan_card", event_payload: { scan_id: scan.scanId } };
}

/**
 * At start-up: every running scan the bot started gets its card and its watch, even if the bot died
 * between starting the scan and watching it. A card that was posted before the crash is found again
 * by its metadata instead of being posted twice.
 */
export async function reconcileScans(deps: SurfaceDeps): Promise<void> {
  for (const scan of await deps.scans.listScans()) {
    if (TERMINAL_SCAN_STATES.has(scan.state) || (await deps.watcher.isWatched(scan.scanId))) continue;
    // One replica per scan does the repair.
    if (!(await deps.store.add("scan-reconcile", scan.scanId, { at: deps.clock.now() }, 5 * 60_000)))
      continue;
    try {
      if (scan.card) {
        await deps.watcher.watch(scan);
        continue;
      }
      const card = await deps.slack.findByMetadata(scan.channel, cardMetadata(scan));
      if (card) {
        const found = { ...scan, card };
        await deps.scans.saveScan(found);
        await deps.watcher.watch(found);
      } else {
        await announceScan(deps, scan, false);
      }
      deps.logger.info("reconciled an unwatched scan", {
        scanId: scan.scanId,
        cardFound: card !== undefined,
      });
    } catch (error) {
      deps.logger.error("could not reconcile scan; `/crashtest scan status` re-attaches it", {
        scanId: scan.scanId,
        error,
      });
    }
  }
}

/** `scan stop` and the Stop button: stop once, then show who asked on the card and in its thread. */
export async function stopScan(
  deps: SurfaceDeps,
  scanId: string,
  user: string,
  channel?: string,
): Promise<ScanRecord> {
  const scan = await deps.scans.stop(scanId, user, channel);
  if (scan.card) {
    await deps.slack.update(scan.card, scanCard(scan));
    await deps.slack.note(scan.card, `:octagonal_sign: Stop requested by <@${user}>.`);
  }
  return scan;
}

/** Posts a request card where approvers see it (APPROVAL_CHANNEL or the requesting channel). */
export async function postApprovalCard(
  deps: SurfaceDeps,
  request: ApprovalRequest,
): Promise<ApprovalRequest> {
  const card = await deps.slack.post(request.approvalChannel ?? request.channel, approvalCard(request));
  return (await deps.scans.approvals.cardPosted(request.id, card)) ?? { ...request, card };
}

/** Shows a request's new state on its card (when it has one) and says what happened in its thread. */
export async function showApproval(
  deps: SurfaceDeps,
  request: ApprovalRequest,
  note?: string,
): Promise<void> {
  if (!request.card) return;
  await deps.slack.update(request.card, approvalCard(request));
  if (note) await deps.slack.note(request.card, note);
}

/**
 * Who can approve a request made in a conversation: any member other than the requester holding
 * approve_scan.
 */
export function approvalAudience(
  slack: Pick<SlackGateway, "channelMembers">,
  authz: Pick<Authorizer, "can">,
): ApprovalAudience {
  return {
    async approverCanSee(channel, requester) {
      for (const member of await slack.channelMembers(channel)) {
        if (member !== requester && (await authz.can(member, "approve_scan"))) return true;
      }
      return false;
    },
  };
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
