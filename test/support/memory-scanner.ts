import { AppError } from "../../src/domain/errors.js";
import type {
  Project,
  ProjectSpec,
  Report,
  ReportFormat,
  Scanner,
  ScanRef,
  ScanState,
  ScanStatus,
  StartScanResult,
} from "../../src/domain/ports.js";
import { reportFromFile } from "../../src/domain/reports.js";

/**
 * An in-memory Scanner for domain tests, recording every call. It keeps the Scanner contract
 * (test/scanners/contract.test.ts), like the adapters that run it over real HTTP.
 */
export class MemoryScanner implements Scanner {
  readonly name = "memory";
  readonly reportFormats: readonly ReportFormat[] = ["pdf", "json"];
  readonly calls: string[] = [];
  readonly projects = new Map<string, Project>();
  readonly scans = new Map<string, { projectId: string; state: ScanState }>();
  private next = 100;
  failNext: AppError | undefined;

  private take(call: string): void {
    this.calls.push(call);
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure) throw failure;
  }

  async createProject(spec: ProjectSpec): Promise<Project> {
    this.take(`createProject ${spec.name}`);
    const project = { id: String(this.next++), name: spec.name, url: spec.url };
    this.projects.set(project.id, project);
    return project;
  }

  async getProject(projectId: string): Promise<Project> {
    this.take(`getProject ${projectId}`);
    const project = this.projects.get(projectId);
    if (!project) throw new AppError("not_found", `Project ${projectId} not found`);
    return project;
  }

  async deleteProject(projectId: string): Promise<void> {
    this.take(`deleteProject ${projectId}`);
    if (!this.projects.delete(projectId)) throw new AppError("not_found", `Project ${projectId} not found`);
  }

  async startScan(projectId: string): Promise<StartScanResult> {
    this.take(`startScan ${projectId}`);
    if (!this.projects.has(projectId)) throw new AppError("not_found", `Project ${projectId} not found`);
    for (const [scanId, scan] of this.scans) {
      if (scan.projectId === projectId && (scan.state === "queued" || scan.state === "running")) {
        return { scanId, alreadyRunning: true };
      }
    }
    const scanId = String(this.next++);
    this.scans.set(scanId, { projectId, state: "queued" });
    return { scanId, alreadyRunning: false };
  }

  async stopScan(ref: ScanRef): Promise<void> {
    this.take(`stopScan ${ref.scanId}`);
    const scan = this.scans.get(ref.scanId);
    if (!scan) throw new AppError("not_found", `Scan ${ref.scanId} not found`);
    scan.state = "stopped";
  }

  async getScanStatus(ref: ScanRef): Promise<ScanStatus> {
    this.take(`getScanStatus ${ref.scanId}`);
    const scan = this.scans.get(ref.scanId);
    if (!scan) throw new AppError("not_found", `Scan ${ref.scanId} not found`);
    return { scanId: ref.scanId, state: scan.state, rawCode: scan.state };
  }

  async getReport(ref: ScanRef, format: ReportFormat): Promise<Report> {
    this.take(`getReport ${ref.scanId} ${format}`);
    if (!this.reportFormats.includes(format)) throw new AppError("unsupported", `No ${format} report here`);
    if (!this.scans.has(ref.scanId)) throw new AppError("not_found", `Scan ${ref.scanId} not found`);
    return reportFromFile({
      format,
      bytes: new TextEncoder().encode(`${format} report for ${ref.scanId}`),
      contentType: "text/plain",
      fileName: `scan-${ref.scanId}.${format}`,
    });
  }

  async close(): Promise<void> {}
}
