import * as z from "zod";
import { AppError } from "../../domain/errors.js";
import type { ScanState } from "../../domain/ports.js";

/**
 * The simulator's projects and scans: how a scan moves on the clock, and what is saved so the IDs
 * it handed out survive a restart.
 */

export type ScanOutcome = "finished" | "failed" | "stopped";

export interface SimulatorTiming {
  queueSeconds: number;
  runSeconds: number;
  outcome: ScanOutcome;
}

/** What the simulator persists; saved after every change, before the change is answered. */
export interface SimulatorState {
  nextProjectId: number;
  nextScanId: number;
  projects: SimProject[];
  scans: SimScan[];
}

export interface SimulatorStateStore {
  load(): Promise<unknown>;
  save(state: SimulatorState): Promise<void>;
}

/** Ended scans kept beyond this are dropped, oldest first (their reports can no longer be fetched). */
const MAX_ENDED_SCANS = 1000;

const SavedState = z.object({
  nextProjectId: z.number().int().positive(),
  nextScanId: z.number().int().positive(),
  projects: z.array(
    z.object({ id: z.string(), name: z.string(), url: z.string(), webhookSecret: z.string().optional() }),
  ),
  scans: z.array(
    z.object({
      id: z.string(),
      projectId: z.string(),
      startedAt: z.number(),
      outcome: z.enum(["finished", "failed", "stopped"]),
      ended: z.enum(["stopped", "failed"]).optional(),
    }),
  ),
});

export interface SimProject {
  id: string;
  name: string;
  url: string;
  webhookSecret?: string;
}

export interface SimScan {
  id: string;
  projectId: string;
  startedAt: number;
  outcome: ScanOutcome;
  /** Set when stopped or failed before running to the end. */
  ended?: "stopped" | "failed";
}

export type SimState = Awaited<ReturnType<typeof openSimState>>;

/** Loads the saved state (when a store is given) and returns the operations on it. */
export async function openSimState(timing: SimulatorTiming, now: () => number, store?: SimulatorStateStore) {
  const projects = new Map<string, SimProject>();
  const scans = new Map<string, SimScan>();
  let nextProjectId = 101;
  let nextScanId = 390;

  const saved = store === undefined ? undefined : await store.load();
  if (saved !== undefined) {
    const parsed = SavedState.safeParse(saved);
    if (!parsed.success) {
      throw new AppError(
        "config",
        `The scanner simulator's saved state is unreadable (${z.prettifyError(parsed.error)}). Remove the store (for the console: data/console.sqlite) to start afresh.`,
      );
    }
    nextProjectId = parsed.data.nextProjectId;
    nextScanId = parsed.data.nextScanId;
    for (const project of parsed.data.projects) projects.set(project.id, project);
    for (const scan of parsed.data.scans) scans.set(scan.id, scan);
  }

  // Saves run one after another, each with the state as it is then; a change is answered after its save.
  let dirty = false;
  let saving: Promise<void> = Promise.resolve();
  const persist = (): Promise<void> => {
    if (store === undefined || !dirty) return saving;
    dirty = false;
    saving = saving
      .catch(() => undefined)
      .then(() => {
        const ended = [...scans.values()].filter((scan) => !isActive(scan));
        for (const scan of ended.slice(0, Math.max(0, ended.length - MAX_ENDED_SCANS))) scans.delete(scan.id);
        return store.save({
          nextProjectId,
          nextScanId,
          projects: [...projects.values()],
          scans: [...scans.values()],
        });
      });
    return saving;
  };
  const changed = () => {
    dirty = true;
  };

  const addProject = (project: { name: string; url: string; webhookSecret?: string }): string => {
    const id = String(nextProjectId++);
    projects.set(id, { id, ...project });
    changed();
    return id;
  };

  const stateOf = (scan: SimScan): ScanState => {
    if (scan.ended) return scan.ended;
    const elapsed = now() - scan.startedAt;
    if (elapsed < timing.queueSeconds * 1000) return "queued";
    if (elapsed < (timing.queueSeconds + timing.runSeconds) * 1000) return "running";
    return scan.outcome;
  };
  const isActive = (scan: SimScan) => ["queued", "running"].includes(stateOf(scan));
  const activeScan = (projectId: string) =>
    [...scans.values()].find((scan) => scan.projectId === projectId && isActive(scan));

  const startScan = (projectId: string): SimScan => {
    const scan: SimScan = { id: String(nextScanId++), projectId, startedAt: now(), outcome: timing.outcome };
    scans.set(scan.id, scan);
    changed();
    return scan;
  };

  return { projects, scans, persist, changed, addProject, stateOf, isActive, activeScan, startScan };
}
