import type { AuditTrail } from "../domain/audit.js";
import type { Authorizer } from "../domain/authz.js";
import type { FindingDecisionService } from "../domain/findings/decisions.js";
import type { FindingsHistory } from "../domain/findings/history.js";
import type { Clock, KeyValueStore, Logger, Scanner } from "../domain/ports.js";
import type { ProjectService } from "../domain/project-service.js";
import type { ProjectRegistry } from "../domain/projects.js";
import type { ScanService, ScanWatch } from "../domain/scans.js";
import type { ScheduleService } from "../domain/schedules/service.js";
import type { NotificationRouter, SubscriptionService } from "../domain/subscriptions/index.js";
import type { BackgroundTasks } from "../domain/tasks.js";
import type { CardFacts } from "./card-facts.js";
import type { SlackGateway } from "./gateway.js";

/** Everything commands, buttons, views and the Home tab need. */
export interface SurfaceDeps {
  scans: ScanService;
  schedules: ScheduleService;
  projects: ProjectService;
  decisions: FindingDecisionService;
  /** Findings history, read by the `findings` command. */
  history: Pick<FindingsHistory, "current">;
  registry: ProjectRegistry;
  authz: Authorizer;
  audit: AuditTrail;
  scanner: Scanner;
  slack: SlackGateway;
  store: KeyValueStore;
  clock: Clock;
  logger: Logger;
  tasks: BackgroundTasks;
  watcher: ScanWatch;
  subscriptions: SubscriptionService;
  /** Routes approval requests and decisions to subscribers and requesters. */
  notifications: Pick<NotificationRouter, "approval">;
  settings: { allowPrivateTargets: boolean };
  /** What scan cards (and the Home's scan lines) show besides the record; absent in narrow test rigs. */
  cardFacts?: CardFacts;
}
