import { type DecisionExpiryDeps, expireDecisions } from "../domain/findings/decision-expiry.js";
import type { Job } from "./index.js";

/** Job name: replicas agree on each slot through it (store-backed run coordinator). */
export const DECISION_JOB_NAME = "finding-decision-expiry";
/** Every 5 minutes: an acceptance counts as open again at its expiry; the line follows within 5 min. */
export const DECISION_JOB_CRON = "*/5 * * * *";

/**
 * The expiry of risk acceptances and of undecided requests as a scheduler job; `run` is the same, for
 * start-up (everything due while the bot was down is due at once).
 */
export function decisionExpiryJob(deps: DecisionExpiryDeps): { job: Job; run: () => Promise<void> } {
  const run = async () => {
    const result = await expireDecisions(deps);
    if (result.noticed + result.ended + result.failed > 0) {
      deps.logger.info("finding decisions expired", { ...result });
    }
  };
  return { job: { name: DECISION_JOB_NAME, cron: DECISION_JOB_CRON, timezone: "UTC", run }, run };
}
