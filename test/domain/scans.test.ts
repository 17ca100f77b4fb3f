import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { AuditTrail } from "../../src/domain/audit.js";
import { Authorizer } from "../../src/domain/authz.js";
import { AppError } from "../../src/domain/errors.js";
import type { KeyValueStore } from "../../src/domain/ports.js";
import { ProjectService } from "../../src/domain/project-service.js";
import { ProjectRegistry } from "../../src/domain/projects.js";
import { ScanService } from "../../src/domain/scans.js";
import { TargetGuard } from "../../src/domain/targets.js";
import { openStore } from "../../src/store/index.js";
import { FakeResolver } from "../support/dns.js";
import { MemoryScanner } from "../support/memory-scanner.js";

const HOUR = 3600_000;
let now = Date.UTC(2026, 10, 23, 12);
const clock = { now: () => now };
let store: KeyValueStore;
let scanner: MemoryScanner;
let scans: ScanService;
let projects: ProjectService;
let audit: AuditTrail;

function build(requireApproval: boolean) {
  const authz = new Authorizer(
    { admins: ["UADMIN"], approvers: ["UALICE", "UBOB"], operators: ["UOPS"], allowedChannels: [] },
    async () => [],
  );
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
    policy: { requireApproval, approvalTtlMs: 24 * HOUR },
    targets,
  });
  projects = new ProjectService({ scanner, authz, projects: registry, scans, audit, targets });
}

const kindOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError);
    return { kind: error.kind, message: error.userMessage };
  }
  assert.fail("expected an error");
};

beforeEach(async () => {
  store = await openStore({ url: "memory://" });
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
  assert.equal(approved.scan?.approvedBy, "UBOB");
  assert.equal(approved.scan?.requestedBy, "UALICE");
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
  assert.equal(withdrawn.request.status, "denied");
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
  await scans.saveScan({ ...started.scan, state: "finished" });
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
