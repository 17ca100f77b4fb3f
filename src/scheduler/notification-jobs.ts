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
 * The minute job also tells requesters how their scan request ended when nobody routed it then (it
 * ran out unnoticed, or the process stopped right after the decision), once per request.
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
    const ended = await parts.router.unnoticed(await approvals.list());
    if (ended > 0) logger.debug("ended requests looked at for their requesters", { requests: ended });
  };
  const digest: Job = { name: DIGEST_JOB_NAME, cron: "* * * * *", timezone: "UTC", run: digestRun };
  return { jobs: [outbox, digest], catchUp: digestRun };
}
