import { AppError, command, quoted, say } from "./errors.js";
import type { Clock, KeyValueStore, Project } from "./ports.js";
import { closest } from "./suggest.js";

/** A scan target the workspace knows, under a friendly name. The scanner owns the ID. */
export interface ProjectRecord extends Project {
  backend: string;
  createdBy: string;
  createdAt: number;
  /** True when registered with `link` (created elsewhere) rather than created from Slack. */
  linked: boolean;
}

const PROJECTS = "projects";
const NAMES = "project-names";

const nameKey = (name: string) => name.toLowerCase();

export class ProjectRegistry {
  constructor(
    private readonly store: KeyValueStore,
    private readonly clock: Clock,
  ) {}

  async list(): Promise<ProjectRecord[]> {
    const entries = await this.store.entries<ProjectRecord>(PROJECTS);
    return entries.map(([, project]) => project).sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(id: string): Promise<ProjectRecord | undefined> {
    return this.store.get<ProjectRecord>(PROJECTS, id);
  }

  /** Reserves a name before the scanner is asked, so two people cannot create the same name at once. */
  async reserveName(name: string): Promise<void> {
    const reserved = await this.store.add(NAMES, nameKey(name), { pending: true }, 10 * 60_000);
    if (!reserved) {
      // Names match whatever their case, so say which project holds this one ("Web-Shop" vs "web-shop").
      const holder = await this.store.get<{ id?: string }>(NAMES, nameKey(name));
      const existing = holder?.id === undefined ? undefined : await this.get(holder.id);
      throw new AppError(
        "conflict",
        existing
          ? `A project named "${quoted(existing.name)}" (ID \`${existing.id}\`) already exists (names ignore case); pick another name.`
          : `A project named "${quoted(name)}" is being created right now; pick another name.`,
      );
    }
  }

  async releaseName(name: string): Promise<void> {
    await this.store.delete(NAMES, nameKey(name));
  }

  /** Records a project whose name was reserved (create) or reserves it now (link). */
  async save(
    project: Project,
    meta: { backend: string; createdBy: string; linked: boolean; reserved: boolean },
  ): Promise<ProjectRecord> {
    if (!meta.reserved) await this.reserveName(project.name);
    const existing = await this.get(project.id);
    if (existing) {
      await this.releaseName(project.name);
      throw new AppError("conflict", `Project ${project.id} is already registered as "${existing.name}".`);
    }
    const record: ProjectRecord = {
      ...project,
      backend: meta.backend,
      createdBy: meta.createdBy,
      createdAt: this.clock.now(),
      linked: meta.linked,
    };
    await this.store.set(PROJECTS, project.id, record);
    // Replace the short-lived reservation with a permanent name entry.
    await this.store.set(NAMES, nameKey(project.name), { id: project.id });
    return record;
  }

  async remove(project: ProjectRecord): Promise<void> {
    await this.store.delete(PROJECTS, project.id);
    await this.store.delete(NAMES, nameKey(project.name));
  }

  /** Finds a project by ID or name; an unknown one gets "did you mean" suggestions. */
  async resolve(ref: string): Promise<ProjectRecord> {
    const byId = await this.get(ref);
    if (byId) return byId;
    const name = await this.store.get<{ id?: string }>(NAMES, nameKey(ref));
    if (name?.id) {
      const project = await this.get(name.id);
      if (project) return project;
    }
    const known = await this.list();
    const suggestions = closest(
      ref,
      known.map((p) => p.name),
    );
    const hint =
      suggestions.length > 0
        ? say` Did you mean ${suggestions.map((s) => `\`${s}\``).join(" or ")}?`
        : known.length === 0
          ? say` No projects are registered yet: ${command("project create <name> <url>")} or ${command("link <project-id> <name>")}.`
          : say` ${command("projects")} lists them.`;
    throw new AppError("not_found", [`No project "${quoted(ref)}".`, ...hint]);
  }
}
