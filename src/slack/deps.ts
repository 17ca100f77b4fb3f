import type { AuditTrail } from "../domain/audit.js";
import type { Authorizer } from "../domain/authz.js";
import type { Clock, KeyValueStore, Logger, Scanner, ScanStatus } from "../domain/ports.js";
import type { ProjectService } from "../domain/project-service.js";
import type { ProjectRegistry } from "../domain/projects.js";
import type { ScanRecord, ScanService } from "../domain/scans.js";
import type { BackgroundTasks } from "../domain/tasks.js";
import type { SlackGateway } from "./gateway.js";

/** What the watcher offers the Slack surface: start watching a scan that has a card, or attach to one. */
export interface ScanWatching {
  watch(scan: ScanRecord): Promise<void>;
  /** Whether the watcher has a record for the scan (running, ended or given up). */
  isWatched(scanId: string): Promise<boolean>;
  /** Starts watching a scan the bot did not start; returns its record and current status. */
  attach(input: { scanId: string; projectId: string; channel: string; user: string }): Promise<{
    scan: ScanRecord;
    status: ScanStatus;
  }>;
}

/** Everything commands, buttons, views and the Home tab need. */
export interface SurfaceDeps {
  scans: ScanService;
  projects: ProjectService;
  registry: ProjectRegistry;
  authz: Authorizer;
  audit: AuditTrail;
  scanner: Scanner;
  slack: SlackGateway;
  store: KeyValueStore;
  clock: Clock;
  logger: Logger;
  tasks: BackgroundTasks;
  watcher: ScanWatching;
  settings: { allowPrivateTargets: boolean };
}
