import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AppError } from "../../src/domain/errors.js";
import { REPORT_FORMATS, type Scanner, type ScanRef, TERMINAL_SCAN_STATES } from "../../src/domain/ports.js";
import { readReport } from "../../src/domain/reports.js";
import { createCrashtestScanner } from "../../src/scanners/crashtest/scanner.js";
import { createDastEssentialsScanner } from "../../src/scanners/dast-essentials/scanner.js";
import { createSimulatedScanner } from "../../src/scanners/simulator/scanner.js";
import { startSimulator } from "../../src/scanners/simulator/server.js";
import { VeracodeAccount } from "../../src/veracode/index.js";
import { captureLogger } from "../support/logs.js";
import { MemoryScanner } from "../support/memory-scanner.js";
import { fakeKeyPair } from "../veracode/fake-veracode.js";
import { FakeTcs } from "./dast-essentials/fake-tcs.js";
import { frozenClock } from "./harness.js";

/**
 * One contract for the Scanner port, run against every implementation: the Crashtest adapter over
 * the simulator's HTTP server, the DAST Essentials adapter over its fake TCS API, the simulator
 * scanner (SCANNER=simulator) and the memory scanner the domain tests use. A subject brings its
 * scanner and the one thing the port cannot do: make a started scan finish.
 */
interface Subject {
  scanner: Scanner;
  /** Makes the scan end as finished (the simulator's clock, the fake's run state, …). */
  finish(ref: ScanRef): void;
  close(): Promise<void>;
}

interface SubjectFactory {
  name: string;
  /** `maxReportBytes` is passed on to adapters that download reports over HTTP. */
  open(options: { maxReportBytes?: number }): Promise<Subject>;
  /** Adapters that download over HTTP enforce REPORT_MAX_BYTES; the memory scanner has no download. */
  capsReports: boolean;
}

const quiet = () => captureLogger([], "error").logger;
const noWait = { sleep: async () => {}, random: () => 0.5 };

const subjects: SubjectFactory[] = [
  {
    name: "crashtest adapter over the simulator",
    capsReports: true,
    open: async ({ maxReportBytes }) => {
      const sim = await startSimulator({ clock: frozenClock, timing: { queueSeconds: 5, runSeconds: 30 } });
      const scanner = createCrashtestScanner({
        logger: quiet(),
        baseUrl: sim.url,
        apiKey: sim.apiKey,
        teamId: sim.teamId,
        retry: noWait,
        ...(maxReportBytes === undefined ? {} : { maxReportBytes }),
      });
      return {
        scanner,
        finish: () => sim.clock.advance(60_000),
        close: async () => {
          await scanner.close();
          await sim.close();
        },
      };
    },
  },
  {
    name: "dast-essentials adapter over the fake TCS API",
    capsReports: true,
    open: async ({ maxReportBytes }) => {
      const keys = fakeKeyPair();
      const fake = await FakeTcs.start({ [keys.apiId]: keys.secretHex });
      const account = new VeracodeAccount({ name: "dast", ...keys, baseUrl: fake.url });
      const scanner = createDastEssentialsScanner({
        logger: quiet(),
        account,
        retry: noWait,
        ...(maxReportBytes === undefined ? {} : { maxReportBytes }),
      });
      return {
        scanner,
        finish: (ref) => fake.setStatus(ref.scanId, "FINISHED"),
        close: async () => {
          await scanner.close();
          await fake.close();
        },
      };
    },
  },
  {
    name: "simulator scanner",
    capsReports: true,
    open: async ({ maxReportBytes }) => {
      const scanner = await createSimulatedScanner({
        logger: quiet(),
        timing: { queueSeconds: 5, runSeconds: 30 },
        ...(maxReportBytes === undefined ? {} : { maxReportBytes }),
      });
      return {
        scanner,
        finish: () => scanner.simulator.clock.advance(60_000),
        close: () => scanner.close(),
      };
    },
  },
  {
    name: "memory scanner (test double)",
    capsReports: false,
    open: async () => {
      const scanner = new MemoryScanner();
      return {
        scanner,
        finish: (ref) => {
          const scan = scanner.scans.get(ref.scanId);
          if (scan) scan.state = "finished";
        },
        close: () => scanner.close(),
      };
    },
  },
];

const spec = { name: "contract-shop", url: "https://shop.example.test" };

/** Awaits a rejection and checks it is an AppError of one of the kinds. */
async function rejectsWithKind(promise: Promise<unknown>, kinds: readonly string[]): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, `expected AppError, got ${String(error)}`);
    assert.ok(
      kinds.includes(error.kind),
      `${error.kind} is not one of ${kinds.join(", ")}: ${error.message}`,
    );
    return error;
  }
  assert.fail(`expected AppError(${kinds.join("|")}), but the call succeeded`);
}

for (const factory of subjects) {
  describe(`scanner contract: ${factory.name}`, () => {
    const run = (name: string, body: (subject: Subject) => Promise<void>, options = {}) =>
      test(name, async (t) => {
        const subject = await factory.open(options);
        t.after(() => subject.close());
        await body(subject);
      });

    run("names itself and offers report formats from the one vocabulary", async ({ scanner }) => {
      assert.ok(scanner.name.length > 0);
      assert.ok(scanner.reportFormats.length > 0);
      assert.equal(new Set(scanner.reportFormats).size, scanner.reportFormats.length, "no duplicates");
      for (const format of scanner.reportFormats) {
        assert.ok((REPORT_FORMATS as readonly string[]).includes(format), `${format} is a port format`);
      }
    });

    run("a created project can be read back by its ID, and is gone once deleted", async ({ scanner }) => {
      const project = await scanner.createProject(spec);
      assert.ok(project.id.length > 0);
      assert.equal(project.name, spec.name);
      assert.equal(project.url, spec.url);
      const read = await scanner.getProject(project.id);
      assert.equal(read.id, project.id);
      await scanner.deleteProject(project.id);
      await rejectsWithKind(scanner.getProject(project.id), ["not_found"]);
    });

    run("an unknown or malformed project ID is a typed refusal, never a crash", async ({ scanner }) => {
      const project = await scanner.createProject(spec);
      await scanner.deleteProject(project.id);
      await rejectsWithKind(scanner.startScan(project.id), ["not_found", "validation"]);
      await rejectsWithKind(scanner.getProject("../../etc"), ["not_found", "validation"]);
    });

    run("a scan runs from start to a terminal state; a second start attaches to it", async (subject) => {
      const { scanner } = subject;
      const project = await scanner.createProject(spec);
      const started = await scanner.startScan(project.id);
      assert.ok(started.scanId.length > 0);
      assert.equal(started.alreadyRunning, false);
      const ref = { projectId: project.id, scanId: started.scanId };

      const early = await scanner.getScanStatus(ref);
      assert.equal(early.scanId, started.scanId);
      assert.ok(!TERMINAL_SCAN_STATES.has(early.state), `fresh scan is ${early.state}`);
      assert.equal(typeof early.rawCode, "string");

      const again = await scanner.startScan(project.id);
      assert.deepEqual(again, { scanId: started.scanId, alreadyRunning: true });

      subject.finish(ref);
      const done = await scanner.getScanStatus(ref);
      assert.equal(done.state, "finished");
    });

    run("every offered report of a finished scan streams whole, named by its format", async (subject) => {
      const { scanner } = subject;
      const project = await scanner.createProject(spec);
      const { scanId } = await scanner.startScan(project.id);
      const ref = { projectId: project.id, scanId };
      subject.finish(ref);
      for (const format of scanner.reportFormats) {
        const report = await scanner.getReport(ref, format);
        assert.equal(report.format, format);
        assert.ok(report.body instanceof ReadableStream);
        assert.ok(report.contentType.length > 0);
        assert.ok(report.fileName.length > 0);
        const file = await readReport(report);
        assert.ok(file.bytes.byteLength > 0, `${format} report has bytes`);
        if (report.size !== undefined) assert.equal(file.bytes.byteLength, report.size, "size is exact");
      }
    });

    run("a report format the scanner does not offer is refused as unsupported", async (subject) => {
      const { scanner } = subject;
      const missing = REPORT_FORMATS.find((format) => !scanner.reportFormats.includes(format));
      assert.ok(missing, "every scanner lacks at least one format");
      const project = await scanner.createProject(spec);
      const { scanId } = await scanner.startScan(project.id);
      const ref = { projectId: project.id, scanId };
      subject.finish(ref);
      await rejectsWithKind(scanner.getReport(ref, missing), ["unsupported"]);
    });

    run("stopping a running scan leaves it stopped (or stopping)", async ({ scanner }) => {
      const project = await scanner.createProject(spec);
      const { scanId } = await scanner.startScan(project.id);
      const ref = { projectId: project.id, scanId };
      await scanner.stopScan(ref);
      const status = await scanner.getScanStatus(ref);
      assert.ok(["stopped", "running"].includes(status.state), `after stop: ${status.state}`);
    });

    if (factory.capsReports) {
      run(
        "a report over REPORT_MAX_BYTES is refused with where to get it, not read into memory",
        async (subject) => {
          const { scanner } = subject;
          const project = await scanner.createProject(spec);
          const { scanId } = await scanner.startScan(project.id);
          const ref = { projectId: project.id, scanId };
          subject.finish(ref);
          const format = scanner.reportFormats.includes("pdf") ? "pdf" : (scanner.reportFormats[0] ?? "pdf");
          const refusal = await rejectsWithKind(
            scanner.getReport(ref, format).then((report) => readReport(report)),
            ["unsupported"],
          );
          assert.match(refusal.userMessage, /REPORT_MAX_BYTES/);
          assert.match(refusal.userMessage, /Download it/);
          assert.equal(refusal.retryable, false);
        },
        { maxReportBytes: 64 },
      );
    }
  });
}
