import type { DecisionKind } from "../findings/decision-record.js";
import type { SeverityCounts } from "../findings/types.js";
import type { Severity } from "../ports.js";
import {
  ALL_PROJECTS,
  type ChannelSettings,
  type EventKind,
  SEVERITY_RANK,
  type Subscription,
  type Threshold,
} from "./records.js";

/**
 * The events subscriptions hear and which subscription an event reaches. An event becomes one
 * Notice per destination (a channel, or a person's DM); the notice is what is stored, grouped and
 * rendered.
 */

/** A scan's moment in the lifecycle, as the watcher's effect log reports it. */
export interface ScanEvent {
  kind: "started" | "finished" | "failed" | "stopped";
  scanId: string;
  projectId: string;
  projectName: string;
  requestedBy: string;
  /** The scan card's thread (chat.getPermalink), where the details are. */
  link?: string;
  /** From findings history, when it recorded the scan's result. */
  counts?: SeverityCounts;
  newCounts?: SeverityCounts;
  fixedCounts?: SeverityCounts;
}

/** What a finding decision request is about (absent for a scan request). */
export interface DecisionAbout {
  kind: DecisionKind;
  /** The finding's title as history knows it (scanner text). */
  title?: string;
}

/** Requests to approve (to subscribed channels) and their end (to the requester). */
export interface ApprovalEvent {
  kind: "approval" | "approved" | "denied" | "expired";
  requestId: string;
  projectId: string;
  projectName: string;
  requestedBy: string;
  /** Who decided (approved, denied). */
  by?: string;
  link?: string;
  scanId?: string;
  /** A finding decision (risk acceptance, false positive) instead of a scan request. */
  about?: DecisionAbout;
}

export type NoticeKind =
  | "started"
  | "finished"
  | "failed"
  | "new-findings"
  | "approval"
  | "approved"
  | "denied"
  | "expired"
  | "digest";

/** Per project, what a digest period held. */
export interface DigestProject {
  projectName: string;
  finished: number;
  failed: number;
  newCounts: SeverityCounts;
  fixedCounts: SeverityCounts;
}

export interface DigestSummary {
  from: number;
  to: number;
  projects: DigestProject[];
  /** Risk acceptances that run out before the next digest. */
  expiring: Array<{ projectName: string; fingerprint: string; expiresAt: number }>;
  approvals: number;
  /** Finding decision requests (risk acceptance, false positive) that waited for approval. */
  decisions?: number;
}

export interface Notice {
  kind: NoticeKind;
  /** Stable per event: what makes a second routing of the same event a no-op. */
  key: string;
  at: number;
  projectId: string;
  projectName: string;
  scanId?: string;
  requestId?: string;
  requestedBy?: string;
  by?: string;
  link?: string;
  counts?: SeverityCounts;
  newCounts?: SeverityCounts;
  fixedCounts?: SeverityCounts;
  digest?: DigestSummary;
  /** Approval notices of a finding decision request: what it is about. */
  about?: DecisionAbout;
}

const at = (threshold: Threshold | undefined) => SEVERITY_RANK[threshold ?? "info"];

/** How many of the counts are at or above the threshold (every severity without one). */
export function countAtOrAbove(counts: SeverityCounts, threshold: Threshold | undefined): number {
  return (Object.entries(counts) as Array<[Severity, number]>)
    .filter(([severity]) => SEVERITY_RANK[severity] >= at(threshold))
    .reduce((sum, [, n]) => sum + n, 0);
}

function projectMatches(subscription: Subscription, projectId: string): boolean {
  return subscription.projectId === ALL_PROJECTS || subscription.projectId === projectId;
}

const wants = (subscription: Subscription, kind: EventKind) => subscription.events.includes(kind);

/**
 * The one notice a scan event gives a subscription, or none. A finished scan with new findings at or
 * above the threshold is `new-findings` for a subscription that asked for it; otherwise `finished`,
 * when the scan has findings at or above the threshold (or none is set, or history has no result).
 */
export function scanNoticeKind(subscription: Subscription, event: ScanEvent): NoticeKind | undefined {
  if (!projectMatches(subscription, event.projectId)) return undefined;
  if (event.kind === "started" || event.kind === "failed")
    return wants(subscription, event.kind) ? event.kind : undefined;
  if (event.kind !== "finished") return undefined;
  const threshold = subscription.minSeverity;
  if (
    wants(subscription, "new-findings") &&
    event.newCounts &&
    countAtOrAbove(event.newCounts, threshold) > 0
  )
    return "new-findings";
  if (!wants(subscription, "finished")) return undefined;
  if (threshold && event.counts && countAtOrAbove(event.counts, threshold) === 0) return undefined;
  return "finished";
}

export function approvalReaches(subscription: Subscription, event: ApprovalEvent): boolean {
  return (
    event.kind === "approval" &&
    wants(subscription, "approval") &&
    projectMatches(subscription, event.projectId)
  );
}

/** Whether a notice passes a channel's quiet hours (`urgent=failed,critical`). */
export function isUrgent(notice: Notice, settings: ChannelSettings | undefined): boolean {
  const urgent = settings?.urgent ?? [];
  if (notice.kind === "failed" && urgent.includes("failed")) return true;
  return urgent.includes("critical") && (notice.newCounts?.critical ?? 0) > 0;
}
