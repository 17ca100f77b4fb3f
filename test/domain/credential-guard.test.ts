import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type CheckedCredential,
  type CredentialAlert,
  type CredentialTarget,
  credentialState,
  DAY_MS,
  readCredentialStatuses,
  runCredentialCheck,
} from "../../src/domain/credential-guard.js";
import { AppError } from "../../src/domain/errors.js";
import { captureLogger } from "../support/logs.js";
import { ManualClock, MemoryStore } from "./memory-store.js";

const START = Date.UTC(2025, 5, 1, 9, 0);
const API_ID = "0123456789abcdef0123456789abcd01";
const PROD: CredentialTarget = { id: "account:prod", label: "prod", keyHint: "cd01" };
const CI: CredentialTarget = { id: "account:ci", label: "ci", keyHint: "cd02" };

/** A guard deployment: the store and clock survive "restarts"; each run() is a fresh process run. */
function deployment(start = START) {
  const clock = new ManualClock(start);
  const store = new MemoryStore(clock);
  const alerts: CredentialAlert[] = [];
  const credentials = new Map<string, CheckedCredential | Error>();
  const log = captureLogger();
  let failDeliveries = 0;
  const run = (targets: CredentialTarget[] = [PROD]) =>
    runCredentialCheck({
      targets,
      fetchCredentials: async (target) => {
        const credential = credentials.get(target.id);
        if (credential instanceof Error) throw credential;
        if (!credential) throw new Error(`no credential for ${target.id}`);
        return credential;
      },
      notify: async (alert) => {
        if (failDeliveries > 0) {
          failDeliveries -= 1;
          throw new Error("Slack is down");
        }
        alerts.push(alert);
      },
      store,
      clock,
      logger: log.logger,
    });
  return {
    clock,
    store,
    alerts,
    credentials,
    log,
    run,
    failNextDeliveries: (count: number) => {
      failDeliveries = count;
    },
    /** Sets the credential to expire `days` from the clock's now. */
    expiresIn: (days: number, target = PROD, apiId = API_ID) => {
      credentials.set(target.id, { apiId, expiresAt: clock.now() + days * DAY_MS });
    },
    kinds: () => alerts.map((alert) => (alert.kind === "expiry" ? alert.threshold : alert.kind)),
  };
}

describe("runCredentialCheck: expiry thresholds", () => {
  test("8, 7, 2, 1, 0 and -1 days left: each threshold alerts once, at the right time", async () => {
    const d = deployment();
    d.expiresIn(8);
    const expected: Array<[number, string[]]> = [
      [8, []],
      [7, ["7d"]],
      [2, ["7d"]],
      [1, ["7d", "1d"]],
      [0, ["7d", "1d", "expired"]],
      [-1, ["7d", "1d", "expired"]],
    ];
    const expiresAt = START + 8 * DAY_MS;
    for (const [daysLeft, kinds] of expected) {
      d.clock.set(expiresAt - daysLeft * DAY_MS);
      const result = await d.run();
      assert.deepEqual(d.kinds(), kinds, `${daysLeft} days left`);
      assert.equal(result.statuses[0]?.daysLeft, daysLeft);
      assert.equal(result.statuses[0]?.state, credentialState(expiresAt, d.clock.now()));
    }
    const [first] = d.alerts;
    assert.deepEqual(first, {
      kind: "expiry",
      threshold: "7d",
      targetId: "account:prod",
      label: "prod",
      keyHint: "cd01",
      expiresAt,
      msLeft: 7 * DAY_MS,
    });
  });

  test("two runs a day and a restart every run never repeat an alert", async () => {
    const d = deployment();
    d.expiresIn(9);
    for (let half = 0; half < 24; half++) {
      await d.run();
      d.clock.advance(DAY_MS / 2);
    }
    assert.deepEqual(d.kinds(), ["7d", "1d", "expired"]);
  });

  test("missed days: only the most severe due alert is sent, the lesser ones count as covered", async () => {
    const halfDay = deployment();
    halfDay.expiresIn(0.5);
    await halfDay.run();
    assert.deepEqual(halfDay.kinds(), ["1d"]);
    halfDay.clock.advance(DAY_MS);
    await halfDay.run();
    assert.deepEqual(halfDay.kinds(), ["1d", "expired"]);

    // A replica whose clock lags behind must not follow up with the milder, covered alert.
    halfDay.clock.advance(-3 * DAY_MS);
    await halfDay.run();
    assert.deepEqual(halfDay.kinds(), ["1d", "expired"]);

    const firstRunAtExpiry = deployment();
    firstRunAtExpiry.expiresIn(0);
    await firstRunAtExpiry.run();
    firstRunAtExpiry.clock.advance(DAY_MS);
    await firstRunAtExpiry.run();
    assert.deepEqual(firstRunAtExpiry.kinds(), ["expired"]);

    const downForAWeek = deployment();
    downForAWeek.expiresIn(10);
    await downForAWeek.run();
    downForAWeek.clock.advance(9.5 * DAY_MS);
    await downForAWeek.run();
    assert.deepEqual(downForAWeek.kinds(), ["1d"]);
  });

  test("renewed credentials (new expiration_ts) start fresh", async () => {
    const d = deployment();
    d.expiresIn(7);
    await d.run();
    d.clock.advance(DAY_MS);
    d.expiresIn(365);
    const renewedExpiry = d.clock.now() + 365 * DAY_MS;
    await d.run();
    assert.deepEqual(d.kinds(), ["7d"]);
    d.clock.advance(358 * DAY_MS);
    await d.run();
    assert.deepEqual(d.kinds(), ["7d", "7d"]);
    assert.equal(d.alerts[1]?.kind === "expiry" && d.alerts[1].expiresAt, renewedExpiry);
  });

  test("several accounts are tracked independently", async () => {
    const d = deployment();
    d.expiresIn(7, PROD);
    d.expiresIn(30, CI, "0123456789abcdef0123456789abcd02");
    await d.run([PROD, CI]);
    d.clock.advance(23 * DAY_MS);
    await d.run([PROD, CI]);
    assert.deepEqual(
      d.alerts.map((alert) => [alert.label, alert.kind === "expiry" ? alert.threshold : alert.kind]),
      [
        ["prod", "7d"],
        ["prod", "expired"],
        ["ci", "7d"],
      ],
    );
  });

  test("concurrent runs (replicas) send each alert once", async () => {
    const d = deployment();
    d.expiresIn(1);
    const results = await Promise.all([d.run(), d.run(), d.run()]);
    assert.deepEqual(d.kinds(), ["1d"]);
    assert.equal(
      results.reduce((sum, result) => sum + result.sent.length, 0),
      1,
    );
  });
});

describe("runCredentialCheck: delivery", () => {
  test("a failed delivery is retried at the next run; a delivered alert is never repeated", async () => {
    const d = deployment();
    d.expiresIn(7);
    d.failNextDeliveries(1);
    const failed = await d.run();
    assert.equal(failed.failedDeliveries, 1);
    assert.deepEqual(d.kinds(), []);
    assert.match(d.log.text(), /could not be delivered/);
    const retried = await d.run();
    assert.equal(retried.failedDeliveries, 0);
    await d.run();
    assert.deepEqual(d.kinds(), ["7d"]);
  });

  test("a store failure surfaces; a crash after delivery repeats the alert only after the claim expires", async () => {
    const d = deployment();
    d.expiresIn(7);
    d.store.failOnce("set", "veracode-credential-alerts");
    await assert.rejects(d.run(), (error) => error instanceof AppError && error.kind === "store");
    assert.deepEqual(d.kinds(), ["7d"]);
    d.clock.advance(5 * 60_000);
    await d.run();
    assert.deepEqual(d.kinds(), ["7d"]);
    d.clock.advance(6 * 60_000);
    await d.run();
    await d.run();
    assert.deepEqual(d.kinds(), ["7d", "7d"]);
  });
});

describe("runCredentialCheck: failing checks", () => {
  test("a failing check alerts once per target per UTC day, with a safe reason", async () => {
    const d = deployment();
    d.credentials.set(PROD.id, new AppError("auth", "credentials wrong, revoked or wrong region"));
    d.credentials.set(CI.id, new Error("socket hang up at 10.0.0.1 with token xyz"));
    await d.run([PROD, CI]);
    d.clock.advance(10 * 3_600_000);
    await d.run([PROD, CI]);
    assert.deepEqual(
      d.alerts.map((alert) => alert.kind === "check_failing" && [alert.label, alert.reason, alert.errorKind]),
      [
        ["prod", "credentials wrong, revoked or wrong region", "auth"],
        ["ci", "The credential check failed; see the bot logs.", undefined],
      ],
    );
    d.clock.advance(5 * 3_600_000);
    await d.run([PROD]);
    assert.equal(d.alerts.length, 3);
    const statuses = await readCredentialStatuses(d.store, d.clock.now());
    assert.deepEqual(
      statuses.map((status) => [status.label, status.state]),
      [["prod", "failing"]],
    );
  });

  test("a check failing after the known expiry reports expired credentials, once", async () => {
    const d = deployment();
    d.expiresIn(3);
    await d.run();
    d.clock.advance(3 * DAY_MS);
    d.credentials.set(PROD.id, new AppError("auth", "credentials wrong, revoked or wrong region"));
    const result = await d.run();
    d.clock.advance(DAY_MS);
    await d.run();
    assert.deepEqual(d.kinds(), ["7d", "expired"]);
    assert.equal(result.statuses[0]?.state, "expired");
    assert.equal(result.statuses[0]?.reason, "credentials wrong, revoked or wrong region");
  });

  test("a check failing before the known expiry keeps the last known expiry in the status", async () => {
    const d = deployment();
    d.expiresIn(100);
    await d.run();
    d.credentials.set(PROD.id, new AppError("unavailable", "Could not reach the Veracode API."));
    const result = await d.run();
    assert.deepEqual(d.alerts, [
      {
        kind: "check_failing",
        targetId: "account:prod",
        label: "prod",
        keyHint: "cd01",
        reason: "Could not reach the Veracode API.",
        errorKind: "unavailable",
        lastKnownExpiresAt: START + 100 * DAY_MS,
      },
    ]);
    assert.equal(result.statuses[0]?.expiresAt, START + 100 * DAY_MS);
  });

  test("revoked credentials count as a failing check", async () => {
    const d = deployment();
    d.credentials.set(PROD.id, { apiId: API_ID, expiresAt: START + 50 * DAY_MS, revokedAt: START - DAY_MS });
    const result = await d.run();
    assert.equal(result.statuses[0]?.state, "failing");
    assert.match(d.alerts[0]?.kind === "check_failing" ? d.alerts[0].reason : "", /revoked on 2025-05-31/);
  });
});

describe("statuses", () => {
  test("saved per target, days left recomputed when read, removed targets dropped", async () => {
    const d = deployment();
    d.expiresIn(10, PROD);
    d.expiresIn(3, CI, "0123456789abcdef0123456789abcd02");
    await d.run([PROD, CI]);
    d.clock.advance(2 * DAY_MS);
    const later = await readCredentialStatuses(d.store, d.clock.now());
    assert.deepEqual(
      later.map((status) => [status.label, status.state, status.daysLeft, status.checkedAt]),
      [
        ["ci", "1d", 1, START],
        ["prod", "ok", 8, START],
      ],
    );
    await d.run([CI]);
    assert.deepEqual(
      (await readCredentialStatuses(d.store, d.clock.now())).map((status) => status.label),
      ["ci"],
    );
  });

  test("credentialState boundaries", () => {
    const now = START;
    assert.equal(credentialState(now + 7 * DAY_MS + 1, now), "ok");
    assert.equal(credentialState(now + 7 * DAY_MS, now), "7d");
    assert.equal(credentialState(now + DAY_MS + 1, now), "7d");
    assert.equal(credentialState(now + DAY_MS, now), "1d");
    assert.equal(credentialState(now + 1, now), "1d");
    assert.equal(credentialState(now, now), "expired");
    assert.equal(credentialState(now - DAY_MS, now), "expired");
  });
});
