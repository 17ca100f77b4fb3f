import type { ApprovalRequest } from "../domain/approvals.js";
import type { Logger } from "../domain/ports.js";
import type { Subscriptions } from "../domain/subscriptions/index.js";
import type { Job } from "./index.js";

/** Job names: replicas agree on each slot through them (store-backed run coordinator). */
export const OUTBOX_JOB_NAME = "notification-outbox";
export const DIGEST_JOB_NAME = "subscription-digest";

/**
 * The subscriptions' two jobs. The outbox is drained every second (at most one message per channel
 * per pass, so never more than one per second per channel); digests are looked at every minute, each
 * sent at its channel's local time, and at start-up, so a bot that was down sends the one it missed.
 * The minute job also tells requesters whose scan request ran out unnoticed (once per request).
 */
export function notificationJobs(
  parts: Pick<Subscriptions, "outbox" | "digests" | "router">,
  approvals: { list(): Promise<ApprovalRequest[]> },
  logger: Logger,
) {
  const outbox: Job = {
    name: OUTBOX_JOB_NAME,
    cron: "* * * * * *",
    timezone: "UTC",
    run: async () => {
      const posted = await parts.outbox.drain();
      if (posted > 0) logger.debug("notifications delivered", { messages: posted });
    },
  };
  const digestRun = async () => {
    const queued = await parts.digests.run();
    if (queued > 0) logger.info("digests queued", { digests: queued });
    const expired = await parts.router.expired(await approvals.list());
    if (expired > 0) logger.debug("expired requests routed", { requests: expired });
  };
  const digest: Job = { name: DIGEST_JOB_NAME, cron: "* * * * *", timezone: "UTC", run: digestRun };
  return { jobs: [outbox, digest], catchUp: digestRun };
}
