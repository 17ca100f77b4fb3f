import type { FindingLookup } from "../domain/findings/types.js";
import { type Clock, type Logger, type ReportFormat, TERMINAL_SCAN_STATES } from "../domain/ports.js";
import type { ScanRecord } from "../domain/scans.js";
import type { WatchRecord } from "../domain/watch/index.js";
import type { CardView } from "./blocks/cards.js";

/**
 * What a scan card shows besides its scan record, read when the card is drawn: the time, the
 * project's last scan duration (progress for scanners without an estimate), the ended scan's
 * findings (from findings history, when it has them), the report formats and the scanner link.
 * It reads, never writes.
 */
export interface CardFactSources {
  clock: Clock;
  logger: Logger;
  /** The scan records, read only (ScanBook's readers). */
  scans: { getScan(scanId: string): Promise<ScanRecord | undefined>; listScans(): Promise<ScanRecord[]> };
  reportFormats: readonly ReportFormat[];
  /** SCANNER_UI_URL, validated at start-up. */
  scannerUiUrl?: string;
  lookup?: Pick<FindingLookup, "result">;
}

/** How long a scan ran, from the first sight of it running (or its request) to its end. */
export function ranFor(scan: ScanRecord): number | undefined {
  return scan.endedAt === undefined ? undefined : scan.endedAt - (scan.runningAt ?? scan.startedAt);
}

/** The duration of the project's latest finished scan before this one, from the scan records. */
export function previousDuration(scans: readonly ScanRecord[], scan: ScanRecord): number | undefined {
  let latest: ScanRecord | undefined;
  for (const other of scans) {
    if (other.projectId !== scan.projectId || other.scanId === scan.scanId) continue;
    if (other.state !== "finished" || ranFor(other) === undefined) continue;
    if (!latest || (other.endedAt ?? 0) > (latest.endedAt ?? 0)) latest = other;
  }
  return latest ? ranFor(latest) : undefined;
}

/** SCANNER_UI_URL with the scan's IDs, each encoded as one path or query piece. */
export function scannerLink(
  template: string,
  scan: Pick<ScanRecord, "projectId" | "scanId">,
): string | undefined {
  const url = template
    .replaceAll("{projectId}", encodeURIComponent(scan.projectId))
    .replaceAll("{scanId}", encodeURIComponent(scan.scanId));
  // Slack takes button URLs of up to 3000 characters.
  return url.length <= 3000 ? url : undefined;
}

/** The formats of report files Slack refused for this watch. */
export function refusedFormats(watch: WatchRecord | undefined): ReportFormat[] {
  return (watch?.effects ?? [])
    .filter((e) => e.kind === "file" && e.status === "refused" && e.format)
    .map((e) => e.format as ReportFormat);
}

export class CardFacts {
  constructor(private readonly sources: CardFactSources) {}

  getScan(scanId: string): Promise<ScanRecord | undefined> {
    return this.sources.scans.getScan(scanId);
  }

  /** The view of `scan`'s card now; `known` adds what the caller already has (a summary's counts). */
  async view(scan: ScanRecord, known: Partial<CardView> = {}): Promise<CardView> {
    const { clock, scannerUiUrl, reportFormats } = this.sources;
    const ended = TERMINAL_SCAN_STATES.has(scan.state);
    const view: CardView = { now: clock.now(), ...known };
    if (ended) view.reportFormats = reportFormats;
    const link = scannerUiUrl ? scannerLink(scannerUiUrl, scan) : undefined;
    if (link) view.scannerUrl = link;
    if (scan.state === "running" && scan.estimatedDurationMs === undefined) {
      const previous = previousDuration(
        await this.read("scan records", () => this.sources.scans.listScans(), []),
        scan,
      );
      if (previous !== undefined) view.previousDurationMs = previous;
    }
    if (ended && (!view.findings || !view.result) && this.sources.lookup) {
      const lookup = this.sources.lookup;
      const result = await this.read("findings history", () => lookup.result(scan.scanId), undefined);
      if (result) {
        view.findings ??= { counts: result.counts, total: result.total };
        view.result = result;
      }
    }
    return view;
  }

  /** A card is still drawn when a read for its extras fails; the failure is logged. */
  private async read<T>(what: string, run: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await run();
    } catch (error) {
      this.sources.logger.warn(`scan card drawn without the ${what}`, { error });
      return fallback;
    }
  }
}
