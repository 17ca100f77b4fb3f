import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { AuditTrail } from "../../src/domain/audit.js";
import { Authorizer } from "../../src/domain/authz.js";
import { AppError } from "../../src/domain/errors.js";
import type { KeyValueStore } from "../../src/domain/ports.js";
import { ProjectService } from "../../src/domain/project-service.js";
import { ProjectRegistry } from "../../src/domain/projects.js";
import { ScanBook } from "../../src/domain/scan-record.js";
import { type ScanOutput, ScanService, type ScanWatch } from "../../src/domain/scans.js";
import { TargetGuard } from "../../src/domain/targets.js";
import { renderParts } from "../../src/slack/errors.js";
import { openStore } from "../../src/store/index.js";
import { FakeResolver } from "../support/dns.js";
import { captureLogger } from "../support/logs.js";
import { MemoryScanner } from "../support/memory-scanner.js";

const HOUR = 3600_000;
let now = Date.UTC(2026, 10, 23, 12);
const clock = { now: () => now };
let store: KeyValueStore;
let scanner: MemoryScanner;
let scans: ScanService;
let projects: ProjectService;
let audit: AuditTrail;

/** Who is a member of which conversation, for the "someone can approve this" check. */
const members = new Map<string, string[]>([["CSEC", ["UOPS", "UALICE", "UBOB", "UADMIN"]]]);
const audience = {
  async approverCanSee(channel: string, requester: string) {
    const roles = { UADMIN: true, UALICE: true, UBOB: true } as Record<string, boolean>;
    return (members.get(channel) ?? []).some((m) => m !== requester && roles[m]);
  },
};
let approvalChannel: string | undefined;
let allowedChannels: string[] = [];
let approvers = ["UALICE", "UBOB"];
let operators = ["UOPS"];

/** The lifecycle's effects as the Slack layer would get them, in order. */
let effects: string[] = [];
const output: ScanOutput = {
  postCard: async (scan, note) => {
    effects.push(`post ${scan.scanId} in ${scan.channel}${note ? ` (${note})` : ""}`);
    return { channel: scan.channel, ts: `ts-${scan.scanId}` };
  },
  findCard: async () => undefined,
  updateCard: async (scan) => {
    effects.push(`update ${scan.card.ts} ${scan.state}${scan.stopRequestedBy ? " stop requested" : ""}`);
  },
  reply: async (scan, notice) => {
    effects.push(`reply ${scan.card.ts} ${notice.kind} by ${notice.by}`);
  },
};
const watched = new Set<string>();
const watch: ScanWatch = {
  watch: async (scan) => {
    effects.push(`watch ${scan.scanId} card ${scan.card?.ts}`);
    watched.add(scan.scanId);
  },
  isWatched: async (scanId) => watched.has(scanId),
  attach: async () => assert.fail("not used"),
};
let book: ScanBook;

function build(requireApproval: boolean) {
  const authz = new Authorizer({ admins: ["UADMIN"], approvers, operators, allowedChannels }, async () => []);
  const registry = new ProjectRegistry(store, clock);
  audit = new AuditTrail(store, clock);
  const targets = new TargetGuard({ resolver: new FakeResolver(), allowPrivate: false });
  scans = new ScanService({
    scanner,
    store,
    clock,
    authz,
    projects: registry,
    audit,
    audience,
    policy: { requireApproval, approvalTtlMs: 24 * HOUR, ...(approvalChannel ? { approvalChannel } : {}) },
    targets,
    book,
    output,
    watch,
    logger: captureLogger().logger,
  });
  projects = new ProjectService({ scanner, authz, projects: registry, scans, audit, targets });
}

const kindOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError);
    // As people read it in Slack: the domain names people by ID, the Slack layer renders mentions.
    return { kind: error.kind, message: renderParts(error.parts) };
  }
  assert.fail("expected an error");
};

beforeEach(async () => {
  approvalChannel = undefined;
  allowedChannels = [];
  approvers = ["UALICE", "UBOB"];
  operators = ["UOPS"];
  store = await openStore({ url: "memory://" });
  book = new ScanBook(store, clock);
  effects = [];
  watched.clear();
  scanner = new MemoryScanner();
  now = Date.UTC(2026, 10, 23, 12);
  build(true);
  await projects.create("UOPS", "CSEC", { name: "web-shop", url: "https://shop.example.com/" });
});

test("a scan request waits for a second person; self-approval and non-approvers are refused", async () => {
  const outcome = await scans.requestScan("UALICE", "CSEC", "web-shop");
  assert.equal(outcome.kind, "approval_needed");
  if (outcome.kind !== "approval_needed") return;
  assert.deepEqual(
    scanner.calls.filter((c) => c.startsWith("startScan")),
    [],
  );

  const self = await kindOf(scans.decide(outcome.request.id, "UALICE", "approve"));
  assert.equal(self.kind, "permission");
  assert.match(self.message, /own scan request/);
  const ops = await kindOf(scans.decide(outcome.request.id, "UOPS", "approve"));
  assert.equal(ops.kind, "permission");

  const approved = await scans.decide(outcome.request.id, "UBOB", "approve");
  assert.equal(approved.request.status, "approved");
  assert.equal(approved.started?.scan.approvedBy, "UBOB");
  assert.equal(approved.started?.scan.requestedBy, "UALICE");
  assert.equal(scanner.calls.filter((c) => c.startsWith("startScan")).length, 1);

  const again = await kindOf(scans.decide(outcome.request.id, "UADMIN", "approve"));
  assert.equal(again.kind, "conflict");
  assert.match(again.message, /already approved by <@UBOB>/);
});

test("concurrent approvals start exactly one scan", async () => {
  const outcome = await scans.requestScan("UOPS", "CSEC", "web-shop");
  assert.equal(outcome.kind, "approval_needed");
  if (outcome.kind !== "approval_needed") return;
  const results = await Promise.allSettled([
    scans.decide(outcome.request.id, "UALICE", "approve"),
    scans.decide(outcome.request.id, "UBOB", "approve"),
    scans.decide(outcome.request.id, "UADMIN", "approve"),
  ]);
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  assert.equal(scanner.calls.filter((c) => c.startsWith("startScan")).length, 1);
});

test("approval requests expire and say so; the requester may withdraw", async () => {
  const first = await scans.requestScan("UOPS", "CSEC", "web-shop");
  if (first.kind !== "approval_needed") return assert.fail();
  now += 25 * HOUR;
  const expired = await kindOf(scans.decide(first.request.id, "UALICE", "approve"));
  assert.match(expired.message, /expired at .*scan start web-shop/);
  assert.equal((await scans.getApproval(first.request.id))?.status, "expired");

  const second = await scans.requestScan("UOPS", "CSEC", "web-shop");
  if (second.kind !== "approval_needed") return assert.fail();
  const withdrawn = await scans.decide(second.request.id, "UOPS", "deny");
  assert.equal(withdrawn.request.status, "withdrawn");
  assert.equal(scanner.calls.filter((c) => c.startsWith("startScan")).length, 0);
});

test("without approval a request starts at once; a second start attaches to the running scan", async () => {
  build(false);
  const first = await scans.requestScan("UOPS", "CSEC", "web-shop");
  const second = await scans.requestScan("UOPS", "CSEC", "web-shop");
  assert.ok(first.kind === "started" && second.kind === "started");
  assert.equal(second.scan.scanId, first.scan.scanId);
  assert.equal(second.alreadyRunning, true);
});

test("stop: once, by whoever clicks first; ended scans cannot be stopped; unknown names get suggestions", async () => {
  build(false);
  const started = await scans.requestScan("UOPS", "CSEC", "web-shop");
  if (started.kind !== "started") return assert.fail();
  const [a, b] = await Promise.allSettled([
    scans.stop(started.scan.scanId, "UOPS"),
    scans.stop(started.scan.scanId, "UALICE"),
  ]);
  assert.equal([a, b].filter((r) => r.status === "fulfilled").length, 1);
  assert.equal(scanner.calls.filter((c) => c.startsWith("stopScan")).length, 1);
  const typo = await kindOf(scans.requestScan("UOPS", "CSEC", "web-shp"));
  assert.equal(typo.kind, "not_found");
  assert.match(typo.message, /Did you mean `web-shop`/);
});

test("projects: duplicate names refused, delete blocked while a scan runs, audit records each step", async () => {
  const dup = await kindOf(
    projects.create("UOPS", "CSEC", { name: "Web-Shop", url: "https://x.example.com/" }),
  );
  assert.equal(dup.kind, "conflict");
  // The next build has its own audit trail over the same store (like a second replica): this one's
  // batch is written first.
  await audit.flush();
  build(false);
  now += 1000;
  const started = await scans.requestScan("UOPS", "CSEC", "web-shop");
  if (started.kind !== "started") return assert.fail();
  now += 1000;
  const denied = await kindOf(projects.prepareDelete("UOPS", "CSEC", "web-shop"));
  assert.equal(denied.kind, "permission");
  const busy = await kindOf(projects.prepareDelete("UADMIN", "CSEC", "web-shop"));
  assert.match(busy.message, /in progress; stop it first/);
  await book.observed(started.scan.scanId, "finished", "102");
  await projects.delete("UADMIN", "CSEC", "web-shop");
  assert.equal(scanner.projects.size, 0);
  const actions = (await audit.recent(10)).map((e) => `${e.action}:${e.outcome}`);
  assert.deepEqual(actions, ["project.delete:ok", "scan.start:ok", "project.create:ok"]);
});

test("a scanner failure during create releases the name", async () => {
  scanner.failNext = new AppError("unavailable", "Crashtest is not answering", { retryable: true });
  await kindOf(projects.create("UOPS", "CSEC", { name: "api", url: "https://api.example.com/" }));
  const created = await projects.create("UOPS", "CSEC", { name: "api", url: "https://api.example.com/" });
  assert.equal(created.name, "api");
});

// ---- issue 12: approvals bind to what the approver saw ----

async function pendingRequest(user = "UOPS", channel = "CSEC") {
  const outcome = await scans.requestScan(user, channel, "web-shop");
  if (outcome.kind !== "approval_needed") return assert.fail("expected an approval request");
  return outcome.request;
}

const starts = () => scanner.calls.filter((c) => c.startsWith("startScan")).length;

test("a request binds to the project ID: a deleted project ends it, never falls back to a name", async () => {
  const request = await pendingRequest();
  assert.equal(request.projectId, [...scanner.projects.keys()][0]);
  const { expiredRequests } = await projects.delete("UADMIN", "CSEC", "web-shop");
  assert.deepEqual(
    expiredRequests.map((r) => [r.id, r.status, r.reason]),
    [[request.id, "expired", "project deleted"]],
  );
  // A new project under the same name is a different project: the old request must not start it.
  await projects.create("UOPS", "CSEC", { name: "web-shop", url: "https://evil.example.com/" });
  const refused = await kindOf(scans.decide(request.id, "UALICE", "approve"));
  assert.equal(refused.kind, "conflict");
  assert.match(refused.message, /ended: project deleted/);
  assert.equal(starts(), 0);
});

test("a request whose project target changed since it was made is refused, not started", async () => {
  const request = await pendingRequest();
  const registry = new ProjectRegistry(store, clock);
  const project = await registry.get(request.projectId);
  assert.ok(project);
  await registry.remove(project);
  await registry.save(
    { id: project.id, name: project.name, url: "https://other.example.com/" },
    { backend: "memory", createdBy: "UADMIN", linked: true, reserved: false },
  );
  const refused = await kindOf(scans.decide(request.id, "UALICE", "approve"));
  assert.match(refused.message, /target of web-shop changed since this request \(now https:\/\/other/);
  assert.equal((await scans.getApproval(request.id))?.reason, "target changed");
  assert.equal(starts(), 0);
});

test("a start that fails after approval is resumable: start_failed, Retry by an approver, honest audit", async () => {
  const request = await pendingRequest();
  scanner.failNext = new AppError("unavailable", "Crashtest answered 503.", { retryable: true });
  const failed = await scans.decide(request.id, "UALICE", "approve");
  assert.equal(failed.request.status, "start_failed");
  assert.equal(failed.request.failure, "Crashtest answered 503.");
  assert.equal(failed.failure?.kind, "unavailable");
  assert.equal(failed.started, undefined);
  assert.equal((await scans.getApproval(request.id))?.status, "start_failed");
  let trail = (await audit.recent(10)).map((e) => `${e.action}:${e.outcome}`);
  assert.ok(trail.includes("scan.approve:failed"));
  assert.ok(!trail.includes("scan.approve:ok"), "no approve:ok when nothing started");

  // A late Approve is answered from the stored state, not from a default.
  const late = await kindOf(scans.decide(request.id, "UBOB", "approve"));
  assert.match(late.message, /approved by <@UALICE>.*did not start \(Crashtest answered 503\.\).*Retry/);

  const self = await kindOf(scans.retry(request.id, "UOPS"));
  assert.equal(self.kind, "permission");
  const retried = await scans.retry(request.id, "UBOB");
  assert.equal(retried.request.status, "approved");
  assert.equal(retried.started?.scan.approvedBy, "UALICE");
  assert.equal(retried.request.scanId, retried.started?.scan.scanId);
  assert.equal(starts(), 2);
  trail = (await audit.recent(10)).map((e) => `${e.action}:${e.outcome}`);
  assert.ok(trail.includes("scan.retry:ok"));
  const again = await kindOf(scans.retry(request.id, "UBOB"));
  assert.match(again.message, /already approved by <@UALICE>/);
});

test("a store failure after the decision leaves the request resumable by the next Approve click", async () => {
  const request = await pendingRequest();
  const realSet = store.set.bind(store);
  let failures = 0;
  store.set = async (namespace, key, value, ttl) => {
    if (namespace === "scans" && failures++ === 0)
      throw new AppError("store", "The bot's store is not answering.");
    return realSet(namespace, key, value, ttl);
  };
  const failed = await scans.decide(request.id, "UALICE", "approve");
  assert.equal(failed.request.status, "start_failed");
  assert.equal(failed.failure?.kind, "store");
  const retried = await scans.retry(request.id, "UBOB");
  assert.equal(retried.request.status, "approved");
  assert.ok(retried.started?.scan.scanId);
});

test("approval re-checks the requester's role and ALLOWED_CHANNELS for the click and the request", async () => {
  const request = await pendingRequest();
  allowedChannels = ["CSEC"];
  build(true);
  const elsewhere = await kindOf(scans.decide(request.id, "UALICE", "approve", "COTHER"));
  assert.equal(elsewhere.kind, "permission");
  assert.match(elsewhere.message, /not enabled in this channel/);
  allowedChannels = ["COTHER"];
  build(true);
  const requestChannel = await kindOf(scans.decide(request.id, "UALICE", "approve", "COTHER"));
  assert.equal(requestChannel.kind, "permission", "the request's own channel is no longer allowed");
  assert.equal(starts(), 0);

  allowedChannels = [];
  operators = [];
  build(true);
  const demoted = await kindOf(scans.decide(request.id, "UALICE", "approve", "CSEC"));
  assert.match(demoted.message, /<@UOPS> may no longer start scans; nothing was started/);
  assert.equal(starts(), 0);
});

test("a request nobody could approve is refused; APPROVAL_CHANNEL takes every request card", async () => {
  members.set("DALICE", ["UALICE"]);
  const dm = await kindOf(scans.requestScan("UALICE", "DALICE", "web-shop"));
  assert.equal(dm.kind, "validation");
  assert.match(dm.message, /Nobody who may approve scans can see this conversation/);
  approvalChannel = "CAPPROVALS";
  build(true);
  const routed = await pendingRequest("UALICE", "DALICE");
  assert.equal(routed.approvalChannel, "CAPPROVALS");
  assert.equal(routed.channel, "DALICE", "the scan card still goes where it was asked for");
  const approved = await scans.decide(routed.id, "UBOB", "approve", "CAPPROVALS");
  assert.equal(approved.started?.scan.channel, "DALICE");
});

test("a withdraw is recorded as withdrawn, and a late click says so", async () => {
  const request = await pendingRequest();
  await scans.decide(request.id, "UOPS", "deny");
  const late = await kindOf(scans.decide(request.id, "UALICE", "approve"));
  assert.match(late.message, /already withdrawn by <@UOPS>/);
  const trail = (await audit.recent(5)).map((e) => e.action);
  assert.ok(trail.includes("scan.withdraw"));
});

// ---- issue 13: one record per scan, effects through an output port ----

test("scan started: the domain records the scan, posts its card through the output port, then hands it to the watcher", async () => {
  build(false);
  const first = await scans.requestScan("UOPS", "CSEC", "web-shop");
  assert.ok(first.kind === "started");
  const id = first.scan.scanId;
  assert.deepEqual(effects, [`post ${id} in CSEC`, `watch ${id} card ts-${id}`]);
  assert.deepEqual(
    (await book.getScan(id))?.card,
    { channel: "CSEC", ts: `ts-${id}` },
    "the card is in the record",
  );
  // A second start attaches to the running scan: no second card, the person is pointed at the first.
  const second = await scans.requestScan("UOPS", "CSEC", "web-shop");
  assert.ok(second.kind === "started" && second.hadCard && second.alreadyRunning);
  assert.equal(effects.length, 2);

  effects = [];
  await scans.stop(id, "UALICE", "CSEC");
  assert.deepEqual(effects, [
    `update ts-${id} queued stop requested`,
    `reply ts-${id} stop_requested by UALICE`,
  ]);
  assert.equal((await book.getScan(id))?.stopRequestedBy, "UALICE");
});

test("scan observed: only a change is written; the record is the one place the state lives", async () => {
  build(false);
  const started = await scans.requestScan("UOPS", "CSEC", "web-shop");
  assert.ok(started.kind === "started");
  const id = started.scan.scanId;
  const before = await book.getScan(id);
  now += 1000;
  assert.deepEqual(await book.observed(id, "queued", undefined), before, "same state: nothing written");
  const running = await book.observed(id, "running", "101");
  assert.equal(running?.state, "running");
  assert.equal(running?.updatedAt, now);
  assert.equal((await scans.getScan(id))?.rawCode, "101");
});

test("reconcile after a crash: a scan without a card gets one and its watch, once", async () => {
  await book.started({
    scanId: "900",
    projectId: "p",
    projectName: "web-shop",
    targetUrl: "https://shop.example.com/",
    backend: "memory",
    requestedBy: "UOPS",
    channel: "CSEC",
    state: "running",
    startedAt: now,
    updatedAt: now,
  });
  await scans.reconcile();
  await scans.reconcile();
  assert.deepEqual(effects, ["post 900 in CSEC", "watch 900 card ts-900"]);
});
