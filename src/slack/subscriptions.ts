import type { ApprovalRequest } from "../domain/approvals.js";
import type { DecisionRequest } from "../domain/findings/decision-record.js";
import type { Logger } from "../domain/ports.js";
import {
  approvalEvent,
  decisionEvent,
  type Notice,
  type NoticeOutput,
  type NotificationRouter,
} from "../domain/subscriptions/index.js";
import { noticeMessage } from "./blocks/subscriptions.js";
import type { SlackGateway } from "./gateway.js";

/**
 * The subscriptions' Slack output: one message per outbox batch, to a channel or, for a user ID, to
 * the person's DM (conversations.open). The message carries the batch ID as metadata (event type
 * `crashtest_notice`), which is how a batch interrupted by a crash is found again instead of posted
 * twice.
 */

export const NOTICE_EVENT_TYPE = "crashtest_notice";

const isPerson = (destination: string) => /^[UW][A-Z0-9]+$/.test(destination);

export class SlackNotices implements NoticeOutput {
  private readonly dms = new Map<string, string>();

  constructor(
    private readonly slack: SlackGateway,
    private readonly logger: Logger,
  ) {}

  private async conversation(destination: string): Promise<string> {
    if (!isPerson(destination)) return destination;
    const known = this.dms.get(destination);
    if (known) return known;
    const id = await this.slack.openDm(destination);
    this.dms.set(destination, id);
    return id;
  }

  async deliver(destination: string, notices: readonly Notice[], batchId: string): Promise<void> {
    const channel = await this.conversation(destination);
    await this.slack.post(channel, noticeMessage(notices), {
      metadata: { event_type: NOTICE_EVENT_TYPE, event_payload: { batch: batchId } },
    });
    this.logger.debug("notifications posted", { destination, notices: notices.length });
  }

  async delivered(destination: string, batchId: string): Promise<boolean> {
    const channel = await this.conversation(destination);
    // The batch was saved right before its post: it is among the newest messages if it is there.
    for await (const m of this.slack.channelMessages(channel, 1)) {
      if (m.metadata?.event_type === NOTICE_EVENT_TYPE && m.metadata.event_payload?.batch === batchId)
        return true;
    }
    return false;
  }
}

/**
 * A request card (a scan request's or a finding decision's) was posted or changed: a new request goes
 * to the channels subscribed to `approval` (with a link to the card), a decision or expiry to its
 * requester's DM. Routed under the request's key, so showing the same state again adds nothing.
 */
export async function routeApproval(
  deps: { slack: SlackGateway; notifications: Pick<NotificationRouter, "approval">; logger: Logger },
  request: ApprovalRequest | DecisionRequest,
): Promise<void> {
  const event = "fingerprint" in request ? decisionEvent(request) : approvalEvent(request);
  if (!event) return;
  const card = request.card;
  const link = async () => (card ? await deps.slack.permalink(card).catch(() => undefined) : undefined);
  try {
    await deps.notifications.approval(event, link);
  } catch (error) {
    // The card is what matters; a lost notice is logged, never a failed click.
    deps.logger.warn("approval notice not routed", { requestId: request.id, error });
  }
}
