import type { AuditTrail } from "./audit.js";
import type { Authorizer } from "./authz.js";
import { AppError } from "./errors.js";
import type { Scanner } from "./ports.js";
import { TERMINAL_SCAN_STATES } from "./ports.js";
import type { ProjectRecord, ProjectRegistry } from "./projects.js";
import type { ScanService } from "./scans.js";

/** Creating, linking and deleting scan targets, with the checks a security team expects. */
export class ProjectService {
  constructor(
    private readonly deps: {
      scanner: Scanner;
      authz: Authorizer;
      projects: ProjectRegistry;
      scans: ScanService;
      audit: AuditTrail;
    },
  ) {}

  async create(
    user: string,
    channel: string,
    input: { name: string; url: string; options?: Record<string, string> },
  ): Promise<ProjectRecord> {
    const { authz, projects, scanner, audit } = this.deps;
    await authz.require(user, "create_project", channel);
    await projects.reserveName(input.name);
    try {
      const created = await scanner.createProject({
        name: input.name,
        url: input.url,
        ...(input.options ? { options: input.options } : {}),
      });
      const record = await projects.save(
        { ...created, name: input.name },
        { backend: scanner.name, createdBy: user, linked: false, reserved: true },
      );
      await audit.record({
        user,
        action: "project.create",
        target: `${input.name} (${created.id})`,
        outcome: "ok",
      });
      return record;
    } catch (error) {
      await projects.releaseName(input.name);
      throw error;
    }
  }

  /** Registers a project that exists at the scanner under a friendly name. */
  async link(user: string, channel: string, projectId: string, name: string): Promise<ProjectRecord> {
    const { authz, projects, scanner, audit } = this.deps;
    await authz.require(user, "link_project", channel);
    const record = await projects.save(
      { id: projectId, name, url: "" },
      { backend: scanner.name, createdBy: user, linked: true, reserved: false },
    );
    await audit.record({ user, action: "project.link", target: `${name} (${projectId})`, outcome: "ok" });
    return record;
  }

  /** Checks a delete is allowed and returns the project, so the caller can ask for confirmation. */
  async prepareDelete(user: string, channel: string, ref: string): Promise<ProjectRecord> {
    const { authz, projects, scans } = this.deps;
    await authz.require(user, "delete_project", channel);
    const project = await projects.resolve(ref);
    const running = (await scans.listScans()).find(
      (scan) => scan.projectId === project.id && !TERMINAL_SCAN_STATES.has(scan.state),
    );
    if (running) {
      throw new AppError(
        "conflict",
        `Project ${project.name} has scan ${running.scanId} in progress; stop it first (\`/crashtest scan stop ${running.scanId}\`).`,
      );
    }
    return project;
  }

  async delete(user: string, channel: string, projectId: string): Promise<ProjectRecord> {
    const { scanner, projects, audit } = this.deps;
    const project = await this.prepareDelete(user, channel, projectId);
    try {
      if (!project.linked) await scanner.deleteProject(project.id);
    } catch (error) {
      // Gone at the scanner already: forget it here too.
      if (!(error instanceof AppError && error.kind === "not_found")) throw error;
    }
    await projects.remove(project);
    await audit.record({
      user,
      action: "project.delete",
      target: `${project.name} (${project.id})`,
      outcome: "ok",
    });
    return project;
  }
}
