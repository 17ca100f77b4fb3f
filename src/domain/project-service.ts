import type { ApprovalRequest } from "./approvals.js";
import type { AuditTrail } from "./audit.js";
import type { Authorizer } from "./authz.js";
import { AppError, command, quoted, say } from "./errors.js";
import type { Project, Scanner } from "./ports.js";
import { TERMINAL_SCAN_STATES } from "./ports.js";
import type { ProjectRecord, ProjectRegistry } from "./projects.js";
import type { ScanService } from "./scans.js";
import type { TargetGuard } from "./targets.js";

/**
 * Scanner IDs: Crashtest's are integers, DAST Essentials' are UUIDs. A name shaped like one could be
 * mistaken for another project's ID wherever a command takes "name or ID".
 */
const ID_SHAPED = /^(\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/** `createdBy` of projects that come from the configuration rather than a person. */
export const CONFIGURED = "configuration";

/** Creating, linking and deleting scan targets, with the checks a security team expects. */
export class ProjectService {
  constructor(
    private readonly deps: {
      scanner: Scanner;
      authz: Authorizer;
      projects: ProjectRegistry;
      scans: ScanService;
      audit: AuditTrail;
      targets: TargetGuard;
    },
  ) {}

  async create(
    user: string,
    channel: string,
    input: { name: string; url: string; options?: Record<string, string> },
  ): Promise<ProjectRecord> {
    const { authz, projects, scanner, audit, targets } = this.deps;
    await authz.require(user, "create_project", channel);
    await this.checkName(input.name);
    const spec = await targets.checkProject(input);
    await projects.reserveName(input.name);
    try {
      const created = await scanner.createProject({
        name: spec.name,
        url: spec.url,
        ...(spec.options ? { options: spec.options } : {}),
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
    await this.checkName(name);
    let found: { url: string };
    try {
      found = await scanner.getProject(projectId);
    } catch (error) {
      if (error instanceof AppError && error.kind === "not_found") {
        throw new AppError(
          "not_found",
          `The scanner has no project with ID ${quoted(projectId)}; copy the ID from the scanner's project page.`,
          { cause: error, detail: `link: ${scanner.name} has no project ${projectId}` },
        );
      }
      throw error;
    }
    const record = await projects.save(
      { id: projectId, name, url: found.url },
      { backend: scanner.name, createdBy: user, linked: true, reserved: false },
    );
    await audit.record({ user, action: "project.link", target: `${name} (${projectId})`, outcome: "ok" });
    return record;
  }

  /**
   * Projects the configuration defines (webhook-only projects) are known without a `link`: registered
   * at start-up under their name (or their ID when a linked project holds the name); ones no longer
   * configured are forgotten.
   */
  async registerConfigured(configured: readonly Project[]): Promise<void> {
    const { projects, scanner } = this.deps;
    const ids = new Set(configured.map((project) => project.id));
    for (const record of await projects.list()) {
      if (record.createdBy === CONFIGURED && !ids.has(record.id)) await projects.remove(record);
    }
    for (const project of configured) {
      if (await projects.get(project.id)) continue;
      const meta = { backend: scanner.name, createdBy: CONFIGURED, linked: true, reserved: false };
      try {
        await projects.save(project, meta);
      } catch (error) {
        if (!(error instanceof AppError && error.kind === "conflict")) throw error;
        await projects.save({ ...project, name: project.id }, meta);
      }
    }
  }

  private async checkName(name: string): Promise<void> {
    if (ID_SHAPED.test(name) || (await this.deps.projects.get(name))) {
      throw new AppError(
        "validation",
        `"${quoted(name)}" looks like a scanner project ID and could be taken for another project; choose a name that is not a number, a UUID or a known project ID.`,
      );
    }
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
        say`Project ${project.name} has scan ${running.scanId} in progress; stop it first (${command(`scan stop ${running.scanId}`)}).`,
      );
    }
    return project;
  }

  /** Deletes a project and ends its open scan requests (returned, so their cards can say so). */
  async delete(
    user: string,
    channel: string,
    projectId: string,
  ): Promise<{ project: ProjectRecord; expiredRequests: ApprovalRequest[] }> {
    const { scanner, projects, audit } = this.deps;
    const project = await this.prepareDelete(user, channel, projectId);
    try {
      if (!project.linked) await scanner.deleteProject(project.id);
    } catch (error) {
      // Gone at the scanner already: forget it here too.
      if (!(error instanceof AppError && error.kind === "not_found")) throw error;
    }
    await projects.remove(project);
    const expiredRequests = await this.deps.scans.approvals.expireForProject(project.id, "project deleted");
    await audit.record({
      user,
      action: "project.delete",
      target: `${project.name} (${project.id})`,
      outcome: "ok",
      ...(expiredRequests.length > 0
        ? {
            detail: `${expiredRequests.length} open scan request${expiredRequests.length === 1 ? "" : "s"} ended`,
          }
        : {}),
    });
    return { project, expiredRequests };
  }
}
