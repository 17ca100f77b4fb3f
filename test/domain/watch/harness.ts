import { afterEach } from "node:test";
import { AppError } from "../../../src/domain/errors.js";
import type {
  Clock,
  FindingsSummary,
  KeyValueStore,
  Project,
  Report,
  ReportFile,
  ReportFormat,
  Scanner,
  ScanRef,
  ScanState,
  ScanStatus,
} from "../../../src/domain/ports.js";
import { reportFromFile } from "../../../src/domain/reports.js";
import { ScanBook } from "../../../src/domain/scan-record.js";
import type { MessageRef, ScanRecord } from "../../../src/domain/scans.js";
import {
  ScanWatcher,
  type UploadResult,
  type WatcherDeps,
  type WatcherOptions,
  type WatchNotice,
  type WatchOutput,
  type WatchRecord,
  type WatchSubject,
} from "../../../src/domain/watch/index.js";
import { openStore } from "../../../src/store/index.js";
import { captureLogger } from "../../support/logs.js";

/** Fakes of the watcher's ports for the room tests; test/e2e/watcher.test.ts runs the real adapters. */

export const MIN = 60_000;
export const INTERVAL = 2 * MIN;

export class TestClock implements Clock {
  constructor(public current = Date.UTC(2026, 0, 5, 9, 0, 0)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

/** A scripted scanner: states set by the test, failures queued per scan, every call timed. */
export class FakeScanner implements Scanner {
  readonly name = "fake";
  reportFormats: readonly ReportFormat[] = ["pdf", "json"];
  readonly states = new Map<string, ScanState>();
  readonly failures = new Map<string, AppError[]>();
  readonly reportFailures = new Map<string, AppError>();
  readonly calls: Array<{ op: string; scanId: string; at: number; format?: ReportFormat }> = [];
  inFlight = 0;
  maxInFlight = 0;
  delayMs = 0;

  constructor(private readonly clock: Clock) {}

  private async enter(op: string, scanId: string, format?: ReportFormat) {
    this.calls.push({ op, scanId, at: this.clock.now(), ...(format ? { format } : {}) });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    this.inFlight--;
  }

  count(op: string, scanId?: string): number {
    return this.calls.filter((c) => c.op === op && (scanId === undefined || c.scanId === scanId)).length;
  }

  async getScanStatus(ref: ScanRef): Promise<ScanStatus> {
    await this.enter("status", ref.scanId);
    const failure = this.failures.get(ref.scanId)?.shift();
    if (failure) throw failure;
    const state = this.states.get(ref.scanId);
    if (!state) throw new AppError("not_found", `Crashtest does not know scan ${ref.scanId}.`);
    return { scanId: ref.scanId, state, rawCode: state };
  }

  async getReport(ref: ScanRef, format: ReportFormat): Promise<Report> {
    await this.enter("report", ref.scanId, format);
    const failure = this.reportFailures.get(`${ref.scanId}:${format}`);
    if (failure) throw failure;
    return reportFromFile({
      format,
      bytes: new TextEncoder().encode(`${format} of ${ref.scanId}`),
      contentType: "text/plain",
      fileName: `x.${format}`,
    });
  }

  async createProject(): Promise<Project> {
    throw new Error("not used");
  }
  async getProject(): Promise<Project> {
    throw new Error("not used");
  }
  async deleteProject(): Promise<void> {}
  async startScan(): Promise<never> {
    throw new Error("not used");
  }
  async stopScan(): Promise<void> {}
  async close(): Promise<void> {}
}

export type Delivery = {
  kind: "card" | "post" | "upload";
  scanId: string;
  effect?: string;
  notice?: WatchNotice;
  /** Where it went and the project it named (thread posts). */
  card?: MessageRef;
  projectName?: string;
};

/** Slack as the watcher sees it: what was delivered, what the thread shows, and injectable failures. */
export class FakeOutput implements WatchOutput {
  readonly deliveries: Delivery[] = [];
  readonly thread = new Map<string, Set<string>>();
  readonly failNext: Array<{ kind: Delivery["kind"]; error: AppError; delivered: boolean }> = [];
  refuseUploads: string | undefined;
  reconciles = 0;

  private maybeFail(kind: Delivery["kind"], deliver: () => void): void {
    const index = this.failNext.findIndex((f) => f.kind === kind);
    const failure = index === -1 ? undefined : this.failNext.splice(index, 1)[0];
    if (!failure || failure.delivered) deliver();
    if (failure) throw failure.error;
  }

  async updateCard(_card: MessageRef, scan: ScanRecord, watch: WatchRecord): Promise<void> {
    this.maybeFail("card", () =>
      this.deliveries.push({
        kind: "card",
        scanId: scan.scanId,
        effect: `${watch.state}|${watch.outcome ?? ""}`,
      }),
    );
  }

  async post(card: MessageRef, subject: WatchSubject, notice: WatchNotice, effect: string): Promise<void> {
    this.maybeFail("post", () => {
      this.deliveries.push({
        kind: "post",
        scanId: subject.scanId,
        effect,
        notice,
        card,
        projectName: subject.projectName,
      });
      this.seen(subject.scanId).add(effect);
    });
  }

  async upload(
    _card: MessageRef,
    subject: WatchSubject,
    _format: ReportFormat,
    _open: () => Promise<Report>,
    effect: string,
  ): Promise<UploadResult> {
    if (this.refuseUploads) return { ok: false, reason: this.refuseUploads };
    this.maybeFail("upload", () => {
      this.deliveries.push({ kind: "upload", scanId: subject.scanId, effect });
      this.seen(subject.scanId).add(effect);
    });
    return { ok: true };
  }

  async postedEffects(_card: MessageRef, subject: WatchSubject): Promise<ReadonlySet<string>> {
    this.reconciles++;
    return new Set(this.seen(subject.scanId));
  }

  seen(scanId: string): Set<string> {
    let set = this.thread.get(scanId);
    if (!set) {
      set = new Set();
      this.thread.set(scanId, set);
    }
    return set;
  }

  effects(scanId: string): string[] {
    return this.deliveries.filter((d) => d.scanId === scanId && d.kind !== "card").map((d) => d.effect ?? "");
  }

  notices(scanId: string): WatchNotice[] {
    return this.deliveries.filter((d) => d.scanId === scanId && d.notice).map((d) => d.notice as WatchNotice);
  }
}

export const SUMMARY: FindingsSummary = {
  counts: { critical: 1, high: 0, medium: 0, low: 0, info: 0 },
  total: 1,
  findings: [{ title: "SQL Injection", severity: "critical", category: "sqli" }],
};

export const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

export async function setup(options: Partial<WatcherOptions> = {}, store?: KeyValueStore) {
  const clock = new TestClock();
  const scanner = new FakeScanner(clock);
  const output = new FakeOutput();
  const logs = captureLogger();
  const kv = store ?? (await openStore({ url: "memory://" }));
  if (!store) cleanups.push(() => kv.close());
  const scanStore = new ScanBook(kv, clock);
  let summarize: (report: ReportFile) => FindingsSummary = () => SUMMARY;
  const make = (overrides: Partial<WatcherOptions> = {}, deps: Partial<WatcherDeps> = {}) =>
    new ScanWatcher({
      scanner,
      store: kv,
      clock,
      logger: logs.logger,
      output,
      scans: scanStore,
      summarize: (report) => summarize(report),
      projects: {
        get: async (id) => (id === "p1" ? { name: "web-shop", url: "https://shop.example" } : undefined),
      },
      options: { random: () => 0, ...options, ...overrides },
      ...deps,
    });
  const watcher = make();
  let next = 1;
  const scan = (state: ScanState = "queued", id = String(next++)): ScanRecord => {
    scanner.states.set(id, state);
    return {
      scanId: id,
      projectId: "p1",
      projectName: "web-shop",
      targetUrl: "https://shop.example",
      backend: "fake",
      requestedBy: "U0ALICE",
      channel: "C1",
      card: { channel: "C1", ts: `1.${id}` },
      state,
      startedAt: clock.now(),
      updatedAt: clock.now(),
    };
  };
  return {
    clock,
    scanner,
    output,
    logs,
    store: kv,
    scans: scanStore,
    watcher,
    make,
    scan,
    setSummarize: (fn: typeof summarize) => {
      summarize = fn;
    },
    async tickAfter(ms: number, w: ScanWatcher = watcher) {
      clock.advance(ms);
      return w.tick();
    },
  };
}
