import type { Config } from "../config.js";
import { type CredentialAlert, runCredentialCheck } from "../domain/credential-guard.js";
import type { Clock, KeyValueStore, Logger } from "../domain/ports.js";
import { VeracodeIdentityClient, veracodeCredentialChecks } from "../veracode/index.js";
import type { Job } from "./index.js";

export const CREDENTIAL_JOB_NAME = "credential-check";

export interface CredentialJobDeps {
  veracode: Config["veracode"];
  schedule: Pick<Config["credentialCheck"], "cron" | "timezone">;
  store: KeyValueStore;
  clock: Clock;
  logger: Logger;
  /** Delivers one alert (the Slack layer posts it to ALERT_CHANNEL). */
  notify: (alert: CredentialAlert) => Promise<void>;
}

/**
 * The daily Veracode credential check as a scheduler job, over one Identity API client; `run` is the
 * same check, for start-up.
 */
export function credentialJob(deps: CredentialJobDeps): {
  job: Job;
  run: () => Promise<void>;
  close: () => Promise<void>;
} {
  const { accounts, watchUserIds } = deps.veracode;
  const identity = new VeracodeIdentityClient({ logger: deps.logger });
  const checks = veracodeCredentialChecks(accounts, identity, watchUserIds);
  const run = async () => {
    const result = await runCredentialCheck({ ...checks, ...deps });
    deps.logger.info("credential check done", {
      accounts: result.statuses.length,
      alerts: result.sent.length,
    });
  };
  return {
    job: { name: CREDENTIAL_JOB_NAME, cron: deps.schedule.cron, timezone: deps.schedule.timezone, run },
    run,
    close: () => identity.close(),
  };
}
