/**
 * Credential expiry guard: turns checked API credentials into at-most-once alerts (7 days, 1 day,
 * expired, check failing) and per-account statuses. Depends only on the ports; the Veracode client and
 * the Slack layer plug in through `fetchCredentials` and `notify`.
 */
import { type ErrorKind, isAppError } from "./errors.js";
import type { Clock, KeyValueStore, Logger } from "./ports.js";

export const DAY_MS = 86_400_000;

export type CredentialThreshold = "7d" | "1d" | "expired";
export type CredentialState = "ok" | CredentialThreshold | "failing";

/** Most severe first. `limitMs`: the alert is due once at most this much time is left. */
const THRESHOLDS: ReadonlyArray<{ threshold: CredentialThreshold; limitMs: number }> = [
  { threshold: "expired", limitMs: 0 },
  { threshold: "1d", limitMs: DAY_MS },
  { threshold: "7d", limitMs: 7 * DAY_MS },
];

/** One set of credentials to watch, e.g. an account's own key or, for an admin account, a user's. */
export interface CredentialTarget {
  /** Stable identifier, used in store keys. */
  id: string;
  /** What people see: the account (and user) name. Never a secret. */
  label: string;
  /** Last 4 characters of the key ID, when known before the check. */
  keyHint?: string;
}

export interface CheckedCredential {
  apiId: string;
  /** Expiry as epoch milliseconds (the parsed expiration_ts). */
  expiresAt: number;
  /** Set when the credentials were revoked (epoch milliseconds). */
  revokedAt?: number;
}

export type CredentialAlert =
  | {
      kind: "expiry";
      threshold: CredentialThreshold;
      targetId: string;
      label: string;
      keyHint: string;
      expiresAt: number;
      /** Negative once expired. */
      msLeft: number;
    }
  | {
      kind: "check_failing";
      targetId: string;
      label: string;
      keyHint?: string;
      /** Safe to show: an AppError's userMessage, never raw error text. */
      reason: string;
      errorKind?: ErrorKind;
      /** Expiry seen by the last successful check, if any. */
      lastKnownExpiresAt?: number;
    };

export interface CredentialStatus {
  targetId: string;
  label: string;
  keyHint?: string;
  state: CredentialState;
  checkedAt: number;
  /** For "failing": the last known expiry, if any. */
  expiresAt?: number;
  /** Whole days left (floor; negative once expired). Recomputed when read. */
  daysLeft?: number;
  /** Why the check failed; also set on "expired" when the check fails after the known expiry. */
  reason?: string;
  errorKind?: ErrorKind;
}

export interface CredentialCheckDeps {
  targets: readonly CredentialTarget[];
  fetchCredentials: (target: CredentialTarget) => Promise<CheckedCredential>;
  /** Delivers one alert (the Slack layer); must throw when delivery failed so it is retried next run. */
  notify: (alert: CredentialAlert) => Promise<void>;
  store: KeyValueStore;
  clock: Clock;
  logger: Logger;
}

export interface CredentialCheckResult {
  statuses: CredentialStatus[];
  sent: CredentialAlert[];
  /** Alerts whose delivery failed this run; they are due again at the next run. */
  failedDeliveries: number;
}

const ALERTS_NS = "veracode-credential-alerts";
const STATUS_NS = "veracode-credential-status";
/** The last successfully checked credential per target (api_id and expiry). */
const KNOWN_NS = "veracode-credential-known";
/** Outlives any credential lifetime (365 days by default), so an alert is not repeated while it matters. */
const SENT_TTL_MS = 400 * DAY_MS;
/** A replica that crashed mid-delivery holds its claim this long; afterwards the next run retries. */
const CLAIM_TTL_MS = 10 * 60_000;
/** Failing-check records only need to outlive their UTC day. */
const FAILING_TTL_MS = 2 * DAY_MS;

export function credentialState(expiresAt: number, now: number): CredentialState {
  const msLeft = expiresAt - now;
  return THRESHOLDS.find(({ limitMs }) => msLeft <= limitMs)?.threshold ?? "ok";
}

export function daysLeft(expiresAt: number, now: number): number {
  return Math.floor((expiresAt - now) / DAY_MS);
}

/**
 * Checks every target once, sends due alerts and saves the statuses. Safe to run on several replicas
 * and several times a day: each alert is claimed in the store first (see `deliverOnce`).
 */
export async function runCredentialCheck(deps: CredentialCheckDeps): Promise<CredentialCheckResult> {
  const now = deps.clock.now();
  const result: CredentialCheckResult = { statuses: [], sent: [], failedDeliveries: 0 };
  for (const target of deps.targets) {
    const log = deps.logger.child({ component: "credential-guard", target: target.id });
    let status: CredentialStatus;
    let outcome: DeliveryOutcome;
    const checked = await check(deps, target, log);
    if ("credential" in checked) {
      await deps.store.set(KNOWN_NS, target.id, checked.credential, SENT_TTL_MS);
      status = okStatus(target, checked.credential, now);
      outcome = await alertExpiry(deps, target, checked.credential, now, log);
    } else {
      const known = await deps.store.get<CheckedCredential>(KNOWN_NS, target.id);
      if (known && known.expiresAt <= now) {
        // Veracode answers 401 once credentials expire, so a failing check after the known expiry is
        // reported as what it almost certainly is: expired credentials, not a generic failure.
        status = { ...okStatus(target, known, now), ...checked.failure };
        outcome = await alertExpiry(deps, target, known, now, log);
      } else {
        status = {
          targetId: target.id,
          label: target.label,
          state: "failing",
          checkedAt: now,
          ...checked.failure,
        };
        if (target.keyHint) status.keyHint = target.keyHint;
        if (known) status.expiresAt = known.expiresAt;
        outcome = await alertFailure(deps, status, now, log);
      }
    }
    if (outcome.sent) result.sent.push(outcome.sent);
    if (outcome.failed) result.failedDeliveries += 1;
    await deps.store.set(STATUS_NS, target.id, status);
    result.statuses.push(status);
  }
  const current = new Set(deps.targets.map((target) => target.id));
  for (const namespace of [STATUS_NS, KNOWN_NS]) {
    for (const [id] of await deps.store.entries<unknown>(namespace)) {
      if (!current.has(id)) await deps.store.delete(namespace, id);
    }
  }
  return result;
}

/** Saved statuses for the `/crashtest credentials` command and App Home, with days left as of `now`. */
export async function readCredentialStatuses(store: KeyValueStore, now: number): Promise<CredentialStatus[]> {
  const entries = await store.entries<CredentialStatus>(STATUS_NS);
  return entries
    .map(([, status]) =>
      status.state === "failing" || status.expiresAt === undefined
        ? status
        : {
            ...status,
            state: credentialState(status.expiresAt, now),
            daysLeft: daysLeft(status.expiresAt, now),
          },
    )
    .sort((a, b) => a.label.localeCompare(b.label));
}

const GENERIC_FAILURE = "The credential check failed; see the bot logs.";

type CheckOutcome =
  | { credential: CheckedCredential }
  | { failure: { reason: string; errorKind?: ErrorKind } };

async function check(
  deps: CredentialCheckDeps,
  target: CredentialTarget,
  log: Logger,
): Promise<CheckOutcome> {
  try {
    const credential = await deps.fetchCredentials(target);
    if (credential.revokedAt === undefined) return { credential };
    const revokedOn = new Date(credential.revokedAt).toISOString();
    return { failure: { reason: `The credentials were revoked on ${revokedOn}.`, errorKind: "auth" } };
  } catch (error) {
    log.warn("Credential check failed", { error });
    // Only AppError user messages are shown in Slack; anything else could carry raw remote text.
    return isAppError(error)
      ? { failure: { reason: error.userMessage, errorKind: error.kind } }
      : { failure: { reason: GENERIC_FAILURE } };
  }
}

function okStatus(target: CredentialTarget, credential: CheckedCredential, now: number): CredentialStatus {
  return {
    targetId: target.id,
    label: target.label,
    keyHint: credential.apiId.slice(-4),
    state: credentialState(credential.expiresAt, now),
    checkedAt: now,
    expiresAt: credential.expiresAt,
    daysLeft: daysLeft(credential.expiresAt, now),
  };
}

interface DeliveryOutcome {
  sent?: CredentialAlert;
  failed?: boolean;
}

async function alertExpiry(
  deps: CredentialCheckDeps,
  target: CredentialTarget,
  credential: CheckedCredential,
  now: number,
  log: Logger,
): Promise<DeliveryOutcome> {
  const msLeft = credential.expiresAt - now;
  const due = THRESHOLDS.filter(({ limitMs }) => msLeft <= limitMs);
  const [mostSevere, ...lesser] = due;
  if (!mostSevere) return {};
  // Keyed by the credential (api_id + expiry): renewed credentials get a new expiry and start fresh.
  const keyOf = (threshold: CredentialThreshold) =>
    `${credential.apiId}|${credential.expiresAt}|${threshold}`;
  const alert: CredentialAlert = {
    kind: "expiry",
    threshold: mostSevere.threshold,
    targetId: target.id,
    label: target.label,
    keyHint: credential.apiId.slice(-4),
    expiresAt: credential.expiresAt,
    msLeft,
  };
  const outcome = await deliverOnce(deps, keyOf(mostSevere.threshold), alert, SENT_TTL_MS, log);
  if (outcome.sent) {
    // Catch-up after downtime sends only the most severe alert; the lesser ones are recorded as covered,
    // so a replica whose clock lags never follows it with a stale, milder alert.
    for (const { threshold } of lesser) {
      await deps.store.add(
        ALERTS_NS,
        keyOf(threshold),
        { state: "covered", by: mostSevere.threshold },
        SENT_TTL_MS,
      );
    }
  }
  return outcome;
}

/** A failing check alerts once per target per UTC day: loud enough to notice, not a flood every run. */
async function alertFailure(
  deps: CredentialCheckDeps,
  status: CredentialStatus,
  now: number,
  log: Logger,
): Promise<DeliveryOutcome> {
  const alert: CredentialAlert = {
    kind: "check_failing",
    targetId: status.targetId,
    label: status.label,
    reason: status.reason ?? GENERIC_FAILURE,
  };
  if (status.keyHint) alert.keyHint = status.keyHint;
  if (status.errorKind) alert.errorKind = status.errorKind;
  if (status.expiresAt !== undefined) alert.lastKnownExpiresAt = status.expiresAt;
  const day = new Date(now).toISOString().slice(0, 10);
  return deliverOnce(deps, `failing|${status.targetId}|${day}`, alert, FAILING_TTL_MS, log);
}

/**
 * Claim, deliver, then record. `add` makes the claim atomic, so concurrent replicas or overlapping runs
 * never both send. A failed delivery deletes the claim, so the next run retries it; a delivered alert is
 * recorded with a long TTL, so it is never repeated. Only a crash between delivery and the final `set`
 * can repeat an alert (after CLAIM_TTL_MS): we prefer a rare duplicate to a lost expiry warning.
 */
async function deliverOnce(
  deps: CredentialCheckDeps,
  key: string,
  alert: CredentialAlert,
  ttlMs: number,
  log: Logger,
): Promise<DeliveryOutcome> {
  const claimed = await deps.store.add(ALERTS_NS, key, { state: "sending" }, CLAIM_TTL_MS);
  if (!claimed) return {};
  try {
    await deps.notify(alert);
  } catch (error) {
    log.error("Credential alert could not be delivered; retrying at the next run", {
      alert: alert.kind,
      error,
    });
    await deps.store.delete(ALERTS_NS, key);
    return { failed: true };
  }
  await deps.store.set(ALERTS_NS, key, { state: "sent" }, ttlMs);
  log.info("Credential alert sent", {
    alert: alert.kind,
    threshold: alert.kind === "expiry" ? alert.threshold : undefined,
  });
  return { sent: alert };
}
