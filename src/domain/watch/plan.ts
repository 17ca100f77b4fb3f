import type { ReportFormat, ScanState } from "../ports.js";
import type { EffectStatus, WatchEffect, WatchOutcome, WatchRecord } from "./record.js";

/**
 * Planning a watch's Slack side effects: these functions only append to its effects log (record.ts)
 * and call nothing; effects.ts carries the log out.
 */

/** What the end of a finished scan delivers: report files, and the format the summary is read from. */
export interface ReportPlan {
  formats: readonly ReportFormat[];
  summaryFormat: ReportFormat | undefined;
  /** Whether the scan's start and end are routed to subscribers (the output has `notify`). */
  notify?: boolean;
}

const OPEN: ReadonlySet<EffectStatus> = new Set(["planned", "pending"]);

export function isOpen(effect: WatchEffect): boolean {
  return OPEN.has(effect.status);
}

function uniqueId(watch: WatchRecord, base: string): string {
  if (!watch.effects.some((e) => e.id === base)) return base;
  for (let n = 2; ; n++) {
    const id = `${base}#${n}`;
    if (!watch.effects.some((e) => e.id === id)) return id;
  }
}

/**
 * What the card should show for this record: the state, and whether the watch gave up or the scan
 * vanished. The card is edited when this differs from cardShows (a new raw code alone is no reason).
 */
export function cardSignature(watch: Pick<WatchRecord, "state" | "outcome" | "effects">): string {
  const note = watch.outcome === "watch_failed" || watch.outcome === "not_found" ? watch.outcome : "";
  // Once the summary is posted, the findings history has the scan's result: the card shows its diff.
  const summarized = watch.effects.some((e) => e.kind === "summary" && e.status === "done") ? "|summary" : "";
  return `${watch.state}|${note}${summarized}`;
}

/** Open effects, or a card that does not show the record yet. */
export function hasOpenEffects(watch: WatchRecord): boolean {
  return watch.effects.some(isOpen) || cardSignature(watch) !== watch.cardShows;
}

export function planState(watch: WatchRecord, state: ScanState, rawCode: string | undefined): void {
  watch.state = state;
  watch.rawCode = rawCode;
  watch.effects.push({
    id: uniqueId(watch, `state:${state}`),
    kind: "state",
    status: "planned",
    state,
    ...(rawCode === undefined ? {} : { rawCode }),
  });
}

/** The end of the scan: final state (broadcast), findings summary and report files. */
export function planTerminal(
  watch: WatchRecord,
  state: ScanState,
  rawCode: string | undefined,
  plan: ReportPlan,
): void {
  watch.state = state;
  watch.rawCode = rawCode;
  watch.phase = "reporting";
  watch.outcome = state as WatchOutcome;
  const add = (effect: WatchEffect) => {
    if (!watch.effects.some((e) => e.id === effect.id)) watch.effects.push(effect);
  };
  const reports = state === "finished" ? plan.formats : [];
  add({
    id: "final",
    kind: "final",
    status: "planned",
    state,
    ...(rawCode === undefined ? {} : { rawCode }),
  });
  if (state === "finished" && plan.summaryFormat) add({ id: "summary", kind: "summary", status: "planned" });
  for (const format of reports) add({ id: `file:${format}`, kind: "file", status: "planned", format });
  // Last: by then the summary effect has recorded the scan's result in findings history.
  if (plan.notify && (state === "finished" || state === "failed"))
    add({ id: NOTIFY_ENDED, kind: "notify", status: "planned", state });
}

/** The routed notifications of a scan (subscribed channels, the requester's DM): its start and its end. */
export const NOTIFY_STARTED = "notify:started";
export const NOTIFY_ENDED = "notify";

/** The card was just posted: the start is routed once, on the next tick. */
export function planStarted(watch: WatchRecord): void {
  if (watch.effects.some((e) => e.id === NOTIFY_STARTED)) return;
  watch.effects.push({ id: NOTIFY_STARTED, kind: "notify", status: "planned", state: watch.state });
}

/** The scanner no longer knows the scan: the watch ends with one notice. */
export function planGone(watch: WatchRecord, reason: string): void {
  watch.phase = "reporting";
  watch.outcome = "not_found";
  watch.effects.push({ id: uniqueId(watch, "gone"), kind: "gone", status: "planned", reason });
}

/** The watcher gives up on a scan it cannot poll: one notice with the reason. */
export function planWatchFailed(watch: WatchRecord, reason: string, attempts: number): void {
  watch.phase = "reporting";
  watch.outcome = "watch_failed";
  watch.effects.push({
    id: uniqueId(watch, "watch_failed"),
    kind: "watch_failed",
    status: "planned",
    reason,
    attempts,
  });
}

/** Once every file is settled and one was refused, one notice lists the report commands instead. */
export function planFilesRefused(watch: WatchRecord): void {
  const files = watch.effects.filter((e) => e.kind === "file");
  if (files.length === 0 || files.some(isOpen)) return;
  if (!files.some((e) => e.status === "refused")) return;
  if (watch.effects.some((e) => e.kind === "files_refused")) return;
  watch.effects.push({ id: "files_refused", kind: "files_refused", status: "planned" });
}
