import type { AuditTrail } from "../audit.js";
import type { Authorizer } from "../authz.js";
import type { FindingDecisions, FindingLookup } from "../findings/types.js";
import type { Clock, KeyValueStore, Logger } from "../ports.js";
import type { ProjectRegistry } from "../projects.js";
import { DigestLog, DigestRunner } from "./digest.js";
import { type NoticeOutput, Outbox, type OutboxOptions } from "./outbox.js";
import { SubscriptionBook } from "./records.js";
import { NotificationRouter } from "./routing.js";
import { SubscriptionService } from "./service.js";

export type { ApprovalEvent, Notice, ScanEvent } from "./matching.js";
export type { NoticeOutput } from "./outbox.js";
export type { Subscription } from "./records.js";
export { approvalEvent, decisionEvent, NotificationRouter } from "./routing.js";
export { SubscriptionService } from "./service.js";

export interface SubscriptionsDeps {
  store: KeyValueStore;
  clock: Clock;
  logger: Logger;
  authz: Authorizer;
  audit: AuditTrail;
  registry: Pick<ProjectRegistry, "resolve">;
  output: NoticeOutput;
  canPost(channel: string): Promise<boolean>;
  defaultTimezone: string;
  findings?: Pick<FindingLookup, "result">;
  decisions?: FindingDecisions;
  outbox?: Partial<OutboxOptions>;
}

/** Subscriptions as one set of parts over one store: records, commands, routing, outbox and digests. */
export function createSubscriptions(deps: SubscriptionsDeps) {
  const { store, clock, logger } = deps;
  const log = logger.child({ component: "subscriptions" });
  const book = new SubscriptionBook(store);
  const outbox = new Outbox({ store, clock, book, output: deps.output, logger: log, options: deps.outbox });
  const digests = new DigestLog(store);
  const router = new NotificationRouter({
    book,
    outbox,
    digests,
    clock,
    logger: log,
    ...(deps.findings ? { findings: deps.findings } : {}),
  });
  const runner = new DigestRunner({
    store,
    clock,
    book,
    log: digests,
    outbox,
    logger: log,
    defaultTimezone: deps.defaultTimezone,
    ...(deps.decisions ? { decisions: deps.decisions } : {}),
  });
  const service = new SubscriptionService({
    book,
    authz: deps.authz,
    audit: deps.audit,
    registry: deps.registry,
    clock,
    canPost: deps.canPost,
    defaultTimezone: deps.defaultTimezone,
  });
  return { book, outbox, router, digests: runner, service };
}

export type Subscriptions = ReturnType<typeof createSubscriptions>;
