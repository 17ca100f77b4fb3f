import type { ScanState } from "../../domain/ports.js";
import { isDastId } from "./api.js";
import type { AnalysisRun } from "./bodies.js";

/** Analysis runs read for the port: their state, their words, the one a target is running. */

const ACTIVE = new Set(["RUNNING", "STOPPING"]);

/**
 * The run's state for the port (`AnalysisRun.status`, https://docs.veracode.com/r/DAST_Essentials_REST_API): RUNNING and STOPPING are running, STOPPED, FINISHED and
 * FAILED are terminal. A missing status means "not known yet": running, so the watcher keeps
 * polling. Values outside the spec's enum are read by their wording, the raw value is always kept.
 */
export function runState(status: string | null | undefined): { state: ScanState; rawCode: string } {
  const raw = (status ?? "").trim();
  const upper = raw.toUpperCase();
  if (upper === "") return { state: "running", rawCode: "UNKNOWN" };
  const known: Record<string, ScanState> = {
    RUNNING: "running",
    STOPPING: "running",
    STOPPED: "stopped",
    FINISHED: "finished",
    FAILED: "failed",
  };
  const state =
    known[upper] ??
    (/QUEUE|PENDING|SCHEDULED|WAITING|CREATED|STARTING/.test(upper)
      ? "queued"
      : /FAIL|ERROR/.test(upper)
        ? "failed"
        : /CANCEL|ABORT|STOPPED/.test(upper)
          ? "stopped"
          : /FINISH|COMPLETE|DONE|SUCCE/.test(upper)
            ? "finished"
            : "running");
  return { state, rawCode: raw.slice(0, 40) };
}

export function runText(run: AnalysisRun): string {
  const raw = (run.status ?? "").trim();
  const words = raw === "" ? "Status not reported yet" : raw.charAt(0) + raw.slice(1).toLowerCase();
  return typeof run.scan_number === "number" ? `${words} (analysis #${run.scan_number})` : words;
}

/** Whether a run is RUNNING or STOPPING, with an ID the bot can address. */
export function isActiveRun(run: AnalysisRun): boolean {
  return ACTIVE.has((run.status ?? "").toUpperCase()) && isDastId(run.analysis_run_id);
}

/** RUNNING before STOPPING, then the higher scan number. */
export function moreActive(a: AnalysisRun, b: AnalysisRun): boolean {
  const running = (run: AnalysisRun) => ((run.status ?? "").toUpperCase() === "RUNNING" ? 1 : 0);
  return running(a) !== running(b) ? running(a) > running(b) : (a.scan_number ?? -1) > (b.scan_number ?? -1);
}

/**
 * The run's `estimated_duration` in milliseconds, when it is a positive number. The TCS OpenAPI
 * (https://docs.veracode.com/r/DAST_Essentials_REST_API) declares it a deprecated integer without a unit,
 * so the unit is configurable (DAST_ESTIMATE_UNIT).
 */
export function estimatedDurationMs(run: AnalysisRun, unit: "seconds" | "minutes"): number | undefined {
  const value = run.estimated_duration;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) return undefined;
  return value * (unit === "minutes" ? 60_000 : 1000);
}
