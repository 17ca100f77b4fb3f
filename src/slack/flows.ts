import type { ApprovalAudience, ApprovalRequest } from "../domain/approvals.js";
import type { Authorizer } from "../domain/authz.js";
import type { Announced, MessageRef, ScanOutput, ScanRecord } from "../domain/scans.js";
import { approvalCard, scanCard } from "./blocks/cards.js";
import { escapeText, message, type SlackMessage, section } from "./blocks/common.js";
import type { CardFacts } from "./card-facts.js";
import type { SurfaceDeps } from "./deps.js";
import type { MessageMetadata, SlackGateway } from "./gateway.js";
import { routeApproval } from "./subscriptions.js";

/** A link to a card, for "see the card" replies (chat.getPermalink, through the gateway). */
export function cardLink(deps: SurfaceDeps, card: MessageRef): Promise<string> {
  return deps.slack.linkTo(card, "card");
}

/** What the person who started (or attached to) a scan is told: where to follow it. */
export async function announcedReply(deps: SurfaceDeps, announced: Announced): Promise<SlackMessage> {
  const { scan } = announced;
  const what = `Scan ${escapeText(scan.scanId)} of *${escapeText(scan.projectName)}*`;
  const text =
    announced.hadCard && scan.card
      ? `${what} is already running; follow it on its ${await cardLink(deps, scan.card)}.`
      : announced.alreadyRunning
        ? `${what} was already running; the bot is now watching it.`
        : `${what} started.`;
  return message(text, [section(text)]);
}

/** Marks a scan card so that start-up reconciliation can find it (ScanService.reconcile). */
function cardMetadata(scan: ScanRecord): MessageMetadata {
  return { event_type: "crashtest_scan_card", event_payload: { scan_id: scan.scanId } };
}

/** Renders the scan lifecycle's effects (domain ScanOutput) as Slack messages; writes no record. */
export function scanCards(
  slack: Pick<SlackGateway, "post" | "findByMetadata" | "update" | "note">,
  facts?: Pick<CardFacts, "view">,
): ScanOutput {
  const draw = async (scan: ScanRecord, note?: string) => {
    const known = note ? { note } : {};
    return scanCard(scan, facts ? await facts.view(scan, known) : known);
  };
  return {
    postCard: async (scan, note) =>
      slack.post(
        scan.channel,
        await draw(
          scan,
          note === "attached"
            ? "A scan was already running for this project; the bot attached to it."
            : undefined,
        ),
        { metadata: cardMetadata(scan) },
      ),
    findCard: (scan) => slack.findByMetadata(scan.channel, cardMetadata(scan)),
    updateCard: async (scan) => slack.update(scan.card, await draw(scan)),
    reply: async (scan, notice) => {
      switch (notice.kind) {
        case "stop_requested":
          await slack.note(scan.card, `:octagonal_sign: Stop requested by <@${notice.by}>.`);
      }
    },
  };
}

/** Posts a request card where approvers see it (APPROVAL_CHANNEL or the requesting channel). */
export async function postApprovalCard(
  deps: SurfaceDeps,
  request: ApprovalRequest,
): Promise<ApprovalRequest> {
  const card = await deps.slack.post(request.approvalChannel ?? request.channel, approvalCard(request));
  const posted = (await deps.scans.approvals.cardPosted(request.id, card)) ?? { ...request, card };
  await routeApproval(deps, posted);
  return posted;
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
  await routeApproval(deps, request);
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
