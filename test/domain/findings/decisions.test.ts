import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { AuditTrail } from "../../../src/domain/audit.js";
import { Authorizer } from "../../../src/domain/authz.js";
import { AppError } from "../../../src/domain/errors.js";
import { type DecisionNotices, expireDecisions } from "../../../src/domain/findings/decision-expiry.js";
import {
  type DecisionInput,
  type DecisionRequest,
  FindingDecisionService,
} from "../../../src/domain/findings/decisions.js";
import type { FindingLookup, KnownFinding } from "../../../src/domain/findings/types.js";
import { ProjectRegistry } from "../../../src/domain/projects.js";
import { captureLogger } from "../../support/logs.js";
import { ManualClock, MemoryStore } from "../memory-store.js";

const DAY = 86_400_000;
const HOUR = 3600_000;
const CHANNEL = "CSEC";
let clock: ManualClock;
let store: MemoryStore;
let registry: ProjectRegistry;
let audit: AuditTrail;
let members: string[];
let logs: ReturnType<typeof captureLogger>;

/** Findings history as the decisions see it: one known finding in project 101. */
const known: KnownFinding = {
  fingerprint: "fp-sqli-login",
  title: "SQL injection",
  severity: "high",
  location: "POST /login (user)",
  lastSeenScanId: "s1",
};
const lookup: Pick<FindingLookup, "finding"> = {
  finding: async (projectId, fingerprint) =>
    projectId === "101" && fingerprint === known.fingerprint ? known : undefined,
};

function service(options: { approvalChannel?: string; allowedChannels?: string[] } = {}) {
  const authz = new Authorizer(
    {
      admins: ["UADMIN"],
      approvers: ["UALICE", "UBOB"],
      operators: ["UOPS"],
      allowedChannels: options.allowedChannels ?? [],
    },
    async () => [],
  );
  return new FindingDecisionService({
    store,
    clock,
    authz,
    projects: registry,
    audit,
    audience: {
      approverCanSee: async (_channel, requester) =>
        members.some((m) => m !== requester && ["UALICE", "UBOB", "UADMIN"].includes(m)),
    },
    policy: {
      approvalTtlMs: 24 * HOUR,
      ...(options.approvalChannel ? { approvalChannel: options.approvalChannel } : {}),
    },
    lookup,
  });
}

const accept = (days: 30 | 90 | 180 = 30): DecisionInput => ({
  projectId: "101",
  fingerprint: known.fingerprint,
  kind: "accepted",
  reason: "Behind the VPN until the rewrite ships",
  days,
});
const falsePositive: DecisionInput = {
  projectId: "101",
  fingerprint: known.fingerprint,
  kind: "false_positive",
  reason: "The parameter never reaches SQL: it is a constant",
};

async function refusal(run: () => Promise<unknown>): Promise<AppError> {
  try {
    await run();
  } catch (error) {
    assert.ok(error instanceof AppError, `an AppError, got ${String(error)}`);
    return error;
  }
  return assert.fail("expected a refusal");
}

beforeEach(async () => {
  clock = new ManualClock(Date.UTC(2026, 10, 1, 12));
  store = new MemoryStore(clock);
  registry = new ProjectRegistry(store, clock);
  logs = captureLogger();
  audit = new AuditTrail(store, clock, { logger: logs.logger });
  members = ["UOPS", "UALICE", "UBOB"];
  await registry.save(
    { id: "101", name: "web-shop", url: "https://shop.example" },
    { backend: "memory", createdBy: "UOPS", linked: false, reserved: false },
  );
});

describe("requests", () => {
  test("a request is bound to the project ID and fingerprint, with what the finding is", async () => {
    const request = await service().open("UOPS", CHANNEL, accept(90));
    assert.equal(request.status, "pending");
    assert.equal(request.projectName, "web-shop");
    assert.deepEqual(request.finding, { title: "SQL injection", severity: "high", location: known.location });
    assert.equal(request.days, 90);
    assert.equal(request.expiresAt, clock.now() + 24 * HOUR, "the approval TTL");
    assert.equal((await service().inForce("101", clock.now())).size, 0, "pending is not in force");
  });

  test("bad requests get actionable refusals", async () => {
    const s = service();
    const short = await refusal(() => s.open("UOPS", CHANNEL, { ...accept(), reason: "  ok  " }));
    assert.equal(short.kind, "validation");
    assert.match(short.userMessage, /reason of 10 to 500 characters/);
    const long = await refusal(() => s.open("UOPS", CHANNEL, { ...accept(), reason: "x".repeat(501) }));
    assert.equal(long.kind, "validation");
    const { days: _days, ...noDays } = accept();
    assert.match((await refusal(() => s.open("UOPS", CHANNEL, noDays))).userMessage, /30, 90 or 180/);
    const gone = await refusal(() => s.open("UOPS", CHANNEL, { ...accept(), projectId: "999" }));
    assert.equal(gone.kind, "not_found");
    const unknown = await refusal(() => s.open("UOPS", CHANNEL, { ...accept(), fingerprint: "fp-other" }));
    assert.match(unknown.userMessage, /not in the history of web-shop/);
    const stranger = await refusal(() => s.open("UNOBODY", CHANNEL, accept()));
    assert.equal(stranger.kind, "permission");
    members = ["UOPS"];
    const alone = await refusal(() => s.open("UOPS", CHANNEL, accept()));
    assert.match(alone.userMessage, /Nobody who may approve this can see this conversation/);
  });

  test("one pending request per finding; a credential in a pasted URL is not kept", async () => {
    const first = await service().open("UOPS", CHANNEL, {
      ...falsePositive,
      reason: "Checked by hand at https://admin:hunter2@scanner.example/finding/7",
    });
    assert.doesNotMatch(first.reason, /hunter2/);
    const again = await refusal(() => service().open("UBOB", CHANNEL, accept()));
    assert.equal(again.kind, "conflict");
    assert.match(again.userMessage, /@UOPS already asked for a false positive/);
  });

  test("two people asking at once about one finding: one request, the other told who asked", async () => {
    const results = await Promise.allSettled([
      service().open("UOPS", CHANNEL, accept()),
      service().open("UBOB", CHANNEL, falsePositive),
    ]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    assert.equal((refused.reason as AppError).kind, "conflict");
    assert.equal((await service().list()).length, 1);
  });

  test("once the request is decided or lapsed, the finding can be asked about again", async () => {
    const first = await service().open("UOPS", CHANNEL, accept());
    await service().decide(first.id, "UOPS", "deny", CHANNEL);
    const second = await service().open("UOPS", CHANNEL, accept());
    clock.advance(25 * HOUR);
    const third = await service().open("UOPS", CHANNEL, falsePositive);
    assert.notEqual(second.id, third.id);
  });

  test("APPROVAL_CHANNEL takes the card; nobody in the conversation needs to be an approver", async () => {
    members = ["UOPS"];
    const request = await service({ approvalChannel: "CAPPROVE" }).open("UOPS", CHANNEL, accept());
    assert.equal(request.approvalChannel, "CAPPROVE");
    assert.equal(request.channel, CHANNEL);
  });
});

describe("four eyes", () => {
  test("self-approval is refused, even for an approver; an operator cannot approve", async () => {
    const s = service();
    const own = await s.open("UALICE", CHANNEL, accept());
    const self = await refusal(() => s.decide(own.id, "UALICE", "approve", CHANNEL));
    assert.equal(self.kind, "permission");
    assert.match(self.userMessage, /cannot approve your own risk acceptance request/);
    const operator = await refusal(() => s.decide(own.id, "UOPS", "approve", CHANNEL));
    assert.match(operator.userMessage, /not allowed to approve risk acceptances and false positives/);
    assert.equal((await s.get(own.id))?.status, "pending", "refusals change nothing");
    const approved = await s.decide(own.id, "UBOB", "approve", CHANNEL);
    assert.equal(approved.status, "approved");
    assert.equal(approved.decidedBy, "UBOB");
  });

  test("the first of two concurrent deciders wins; the other learns the stored decision", async () => {
    const request = await service().open("UOPS", CHANNEL, accept());
    // Two replicas, one store.
    const [a, b] = [service(), service()];
    const results = await Promise.allSettled([
      a.decide(request.id, "UALICE", "approve", CHANNEL),
      b.decide(request.id, "UBOB", "deny", CHANNEL),
    ]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    assert.equal(won.length, 1, "exactly one decision");
    assert.equal(lost.length, 1);
    const winner = (won[0] as PromiseFulfilledResult<DecisionRequest>).value;
    const error = (lost[0] as PromiseRejectedResult).reason as AppError;
    assert.equal(error.kind, "conflict");
    assert.match(error.userMessage, new RegExp(`already ${winner.status} by @${winner.decidedBy}`));
    const stored = await service().get(request.id);
    assert.equal(stored?.status, winner.status);
    assert.equal(stored?.decidedBy, winner.decidedBy);
    const later = await refusal(() => a.decide(request.id, "UADMIN", "approve", CHANNEL));
    assert.match(later.userMessage, /already/);
  });

  test("a decision that won but was not saved (crash) is what every replica reads", async () => {
    const request = await service().open("UOPS", CHANNEL, accept(30));
    await store.add("finding-decision-votes", request.id, {
      decision: "approve",
      user: "UBOB",
      at: clock.now(),
    });
    const read = await service().get(request.id);
    assert.equal(read?.status, "approved");
    assert.equal(read?.validUntil, clock.now() + 30 * DAY);
    assert.equal((await service().inForce("101", clock.now())).get(known.fingerprint)?.approvedBy, "UBOB");
  });

  test("the requester withdraws; an approver denies; neither is in force", async () => {
    const s = service();
    const first = await s.open("UOPS", CHANNEL, accept());
    assert.equal((await s.decide(first.id, "UOPS", "deny", CHANNEL)).status, "withdrawn");
    const second = await s.open("UOPS", CHANNEL, falsePositive);
    assert.equal((await s.decide(second.id, "UBOB", "deny", CHANNEL)).status, "denied");
    assert.equal((await s.inForce("101", clock.now())).size, 0);
  });

  test("a click is re-authorized against what the card showed: channel, project, requester", async () => {
    const request = await service().open("UOPS", CHANNEL, accept());
    const fenced = service({ allowedChannels: ["COTHER"] });
    assert.equal(
      (await refusal(() => fenced.decide(request.id, "UBOB", "approve", "COTHER"))).kind,
      "permission",
    );
    const project = await registry.get("101");
    assert.ok(project);
    await registry.remove(project);
    const gone = await refusal(() => service().decide(request.id, "UBOB", "approve", CHANNEL));
    assert.match(gone.userMessage, /has ended: project deleted/);
    assert.equal((await service().get(request.id))?.status, "expired");
  });

  test("a request nobody decides lapses after the approval TTL", async () => {
    const request = await service().open("UOPS", CHANNEL, accept());
    clock.advance(24 * HOUR);
    const late = await refusal(() => service().decide(request.id, "UBOB", "approve", CHANNEL));
    assert.match(late.userMessage, /expired at .* without a decision/);
    assert.equal((await service().get(request.id))?.status, "expired");
    assert.equal((await service().inForce("101", clock.now())).size, 0);
  });
});

describe("in force", () => {
  test("a risk acceptance is in force until its expiry, then the finding is open again", async () => {
    const s = service();
    const request = await s.open("UOPS", CHANNEL, accept(30));
    clock.advance(HOUR);
    const approved = await s.decide(request.id, "UBOB", "approve", CHANNEL);
    assert.equal(approved.validUntil, clock.now() + 30 * DAY, "counted from the approval");
    const decision = (await s.inForce("101", clock.now() + 30 * DAY - 1)).get(known.fingerprint);
    assert.deepEqual(decision, {
      kind: "accepted",
      fingerprint: known.fingerprint,
      reason: accept().reason,
      requestedBy: "UOPS",
      approvedBy: "UBOB",
      decidedAt: approved.decidedAt,
      expiresAt: approved.validUntil,
    });
    assert.equal((await s.inForce("101", clock.now() + 30 * DAY)).size, 0);
    assert.equal((await s.inForce("102", clock.now())).size, 0, "other projects are not affected");
  });

  test("a false positive never expires (and its record outlives every TTL)", async () => {
    const s = service();
    const request = await s.open("UOPS", CHANNEL, falsePositive);
    await s.decide(request.id, "UALICE", "approve", CHANNEL);
    clock.advance(1000 * DAY);
    const decision = (await service().inForce("101", clock.now())).get(known.fingerprint);
    assert.equal(decision?.kind, "false_positive");
    assert.equal(decision?.expiresAt, undefined);
  });

  test("a renewed acceptance replaces the one that runs out", async () => {
    const s = service();
    const first = await s.open("UOPS", CHANNEL, accept(30));
    await s.decide(first.id, "UBOB", "approve", CHANNEL);
    clock.advance(25 * DAY);
    const second = await s.open("UOPS", CHANNEL, accept(90));
    await s.decide(second.id, "UALICE", "approve", CHANNEL);
    const decision = (await s.inForce("101", clock.now() + 40 * DAY)).get(known.fingerprint);
    assert.equal(decision?.approvedBy, "UALICE");
  });
});

test("every step is in the audit trail, without the reason's text", async () => {
  const s = service();
  const request = await s.open("UOPS", CHANNEL, accept(180));
  clock.advance(1);
  await s.decide(request.id, "UBOB", "approve", CHANNEL);
  clock.advance(1);
  const other = await s.open("UOPS", CHANNEL, falsePositive);
  clock.advance(1);
  await s.decide(other.id, "UOPS", "deny", CHANNEL);
  const { entries } = await audit.query({ action: "finding", limit: 10 });
  const seen = entries.map((e) => `${e.user} ${e.action}`).reverse();
  assert.deepEqual(seen, [
    "UOPS finding.accepted.request",
    "UBOB finding.accepted.approve",
    "UOPS finding.false_positive.request",
    "UOPS finding.false_positive.withdraw",
  ]);
  assert.ok(entries.every((e) => e.target === "web-shop (101) finding fp-sqli-login"));
  assert.ok(
    entries.every((e) => !JSON.stringify(e).includes("VPN")),
    "the reason is not copied",
  );
});

describe("expiry job", () => {
  function notices() {
    const lines: string[] = [];
    const ended: string[] = [];
    let failNext: Error | undefined;
    const output: DecisionNotices = {
      acceptanceExpired: async (request) => {
        if (failNext) {
          const error = failNext;
          failNext = undefined;
          throw error;
        }
        lines.push(`${request.requestedBy} ${request.fingerprint} in ${request.channel}`);
      },
      requestEnded: async (request) => {
        ended.push(request.id);
      },
    };
    return {
      output,
      lines,
      ended,
      failOnce: (error: Error = new Error("socket hang up")) => (failNext = error),
    };
  }
  const run = (output: DecisionNotices) =>
    expireDecisions({
      decisions: service(),
      projects: registry,
      store,
      clock,
      audit,
      logger: captureLogger().logger,
      notices: output,
    });

  test("one line per expired acceptance across two job instances, after downtime too", async () => {
    const s = service();
    const request = await s.open("UOPS", CHANNEL, accept(30));
    await s.decide(request.id, "UBOB", "approve", CHANNEL);
    const out = notices();
    assert.deepEqual(await run(out.output), { noticed: 0, ended: 0, failed: 0 }, "not due yet");
    // The bot was down for 45 days; two replicas come back at once.
    clock.advance(45 * DAY);
    const results = await Promise.all([run(out.output), run(out.output)]);
    assert.deepEqual(out.lines, [`UOPS ${known.fingerprint} in ${CHANNEL}`]);
    assert.equal(results[0].noticed + results[1].noticed, 1);
    await run(out.output);
    clock.advance(DAY);
    await run(out.output);
    assert.equal(out.lines.length, 1, "never again");
    const { entries } = await audit.query({ action: "finding.accepted.expire", limit: 5 });
    assert.equal(entries.length, 1);
  });

  test("a failed delivery is retried at the next run; false positives never get a line", async () => {
    const s = service();
    const fp = await s.open("UOPS", CHANNEL, falsePositive);
    await s.decide(fp.id, "UBOB", "approve", CHANNEL);
    const acceptance = await s.open("UOPS", CHANNEL, accept(30));
    await s.decide(acceptance.id, "UALICE", "approve", CHANNEL);
    clock.advance(31 * DAY);
    const out = notices();
    out.failOnce();
    assert.equal((await run(out.output)).failed, 1);
    assert.equal(out.lines.length, 0);
    assert.equal((await run(out.output)).noticed, 1);
    assert.equal(out.lines.length, 1);
  });

  test("a pending request of a deleted project ends at the next run", async () => {
    const request = await service().open("UOPS", CHANNEL, accept());
    const out = notices();
    await run(out.output);
    assert.deepEqual(out.ended, [], "still pending while the project is there");
    const project = await registry.get("101");
    assert.ok(project);
    await registry.remove(project);
    await run(out.output);
    assert.deepEqual(out.ended, [request.id]);
    const ended = await service().get(request.id);
    assert.equal(ended?.status, "expired");
    assert.equal(ended?.ended, "project deleted");
  });

  test("a line Slack refuses for good is not retried every run; the audit says so", async () => {
    const s = service();
    const acceptance = await s.open("UOPS", CHANNEL, accept(30));
    await s.decide(acceptance.id, "UALICE", "approve", CHANNEL);
    clock.advance(31 * DAY);
    const out = notices();
    out.failOnce(new AppError("validation", "The bot is not in this channel (not_in_channel)."));
    assert.equal((await run(out.output)).failed, 1);
    assert.equal((await run(out.output)).failed, 0, "not tried again");
    assert.equal(out.lines.length, 0);
    const { entries } = await audit.query({ action: "finding.accepted.expire", limit: 5 });
    assert.equal(entries[0]?.outcome, "failed");
  });

  test("pending requests past their TTL end once and their cards are refreshed", async () => {
    const request = await service().open("UOPS", CHANNEL, accept());
    clock.advance(25 * HOUR);
    const out = notices();
    await Promise.all([run(out.output), run(out.output)]);
    assert.deepEqual(out.ended, [request.id]);
    assert.equal((await service().get(request.id))?.status, "expired");
  });
});
