import { type Logger, REPORT_FORMATS, type Report, type ReportFormat } from "../domain/ports.js";
import type { MessageRef, ScanRecord } from "../domain/scans.js";
import type { ScanEvent } from "../domain/subscriptions/index.js";
import type {
  UploadResult,
  WatchNotice,
  WatchOutput,
  WatchRecord,
  WatchSubject,
} from "../domain/watch/index.js";
import { type CardView, scanCard, stateLabel } from "./blocks/cards.js";
import { context, escapeText, message, type SlackMessage, section } from "./blocks/common.js";
import { findingsSummaryMessage, findingsUnavailableMessage, reportText } from "./blocks/findings.js";
import { type CardFacts, refusedFormats } from "./card-facts.js";
import { reportFileName, reportUpload, SlackError, type SlackGateway } from "./gateway.js";

/**
 * The watcher's Slack output, through the gateway. Thread replies carry message metadata (event type
 * `crashtest_effect`, payload {scan_id, effect}) and report files the name `reportFileName` gives
 * them, so that after an interruption `postedEffects` can tell from the thread what the bot already
 * delivered (only the bot's own messages and files count).
 */

export const EFFECT_EVENT_TYPE = "crashtest_effect";

const reportCommand = (scanId: string, format: string) =>
  `\`/crashtest report ${escapeText(scanId)} ${format}\``;

/** The card's extra line for a watch that ended without the scan ending. */
export function cardNote(watch: WatchRecord): string | undefined {
  const id = escapeText(watch.scanId);
  if (watch.outcome === "watch_failed") {
    return `:warning: Not watched any more (${reportText(watch.lastError ?? "the scanner kept failing", 200)}). \`/crashtest scan status ${id}\` watches it again.`;
  }
  if (watch.outcome === "not_found") return ":grey_question: This scan no longer exists at the scanner.";
  return undefined;
}

/** The thread message for one watcher notice. */
export function noticeMessage(subject: WatchSubject, notice: WatchNotice): SlackMessage {
  const id = escapeText(subject.scanId);
  const name = escapeText(subject.projectName);
  const simple = (text: string) => message(text, [section(text)]);
  switch (notice.kind) {
    case "state":
      return simple(`Scan ${id} is now ${stateLabel(notice.state, notice.rawCode)}.`);
    case "final": {
      const label = stateLabel(notice.state, notice.rawCode);
      if (notice.state === "finished") {
        const files =
          notice.reportFormats.length > 0
            ? ` The findings summary and the ${notice.reportFormats.join(", ")} report${notice.reportFormats.length === 1 ? "" : "s"} follow in this thread.`
            : " The findings summary follows in this thread.";
        return simple(`${label}: scan ${id} of *${name}* finished.${files}`);
      }
      if (notice.state === "stopped") {
        return simple(
          `${label}: scan ${id} of *${name}* was stopped. Results found until then: ${reportCommand(subject.scanId, "json")}.`,
        );
      }
      return simple(
        `${label}: scan ${id} of *${name}* did not complete at the scanner. Start a new one with \`/crashtest scan start ${name}\`.`,
      );
    }
    case "summary":
      return findingsSummaryMessage(subject, notice.summary, {
        format: notice.format,
        ...(notice.result ? { result: notice.result } : {}),
        ...(notice.fresh ? { fresh: notice.fresh } : {}),
      });
    case "summary_unavailable":
      return findingsUnavailableMessage(subject, notice.reason);
    case "files_refused": {
      const reasons = [...new Set(notice.refused.map((r) => r.reason))].map((r) => reportText(r, 300));
      const commands = notice.refused.map((r) => reportCommand(subject.scanId, r.format)).join(" · ");
      const text = `:warning: The report files of scan ${id} could not be posted here: ${reasons.join("; ")}.`;
      return message(text, [section(text), context(`Get them with ${commands}`)]);
    }
    case "watch_failed":
      return simple(
        `:warning: Stopped watching scan ${id} after ${notice.attempts} failed attempt${notice.attempts === 1 ? "" : "s"}: ${reportText(notice.reason, 400)}\nRun \`/crashtest scan status ${id}\` to watch it again.`,
      );
    case "gone":
      return simple(
        `:grey_question: Scan ${id} of *${name}* no longer exists at the scanner (${reportText(notice.reason, 300)}). The bot stopped watching it.`,
      );
  }
}

export class SlackNotifier implements WatchOutput {
  private readonly slack: SlackGateway;
  private readonly log: Logger;
  /** conversations.replies pages read at most (200 messages each). */
  private readonly maxPages: number;
  /** What the card shows besides the record; without it, the card shows the record alone. */
  private readonly facts: CardFacts | undefined;

  /** Present when subscriptions are wired: the scan's start and end go to their router. */
  readonly notify?: WatchOutput["notify"];

  constructor(deps: {
    slack: SlackGateway;
    logger: Logger;
    maxPages?: number;
    facts?: CardFacts;
    route?: (event: ScanEvent, link: () => Promise<string | undefined>) => Promise<unknown>;
  }) {
    this.slack = deps.slack;
    this.log = deps.logger.child({ component: "notifier" });
    this.maxPages = deps.maxPages ?? 10;
    this.facts = deps.facts;
    const route = deps.route;
    if (route) {
      this.notify = async (card, scan, event) => {
        // A link to the card's thread (chat.getPermalink), never a copy of it; without one the line still names the scan.
        const link = () =>
          this.slack.permalink(card).catch((error: unknown) => {
            this.log.warn("no link to the scan card; the notice goes without it", {
              scanId: scan.scanId,
              error,
            });
            return undefined;
          });
        await route(
          {
            kind: event,
            scanId: scan.scanId,
            projectId: scan.projectId,
            projectName: scan.projectName,
            requestedBy: scan.requestedBy,
          },
          link,
        );
      };
    }
  }

  private async card(scan: ScanRecord, watch: WatchRecord | undefined, known: Partial<CardView>) {
    const note = watch ? cardNote(watch) : undefined;
    const refused = refusedFormats(watch);
    const base: Partial<CardView> = {
      ...known,
      ...(note ? { note } : {}),
      ...(refused.length > 0 ? { filesRefused: refused } : {}),
    };
    return scanCard(scan, this.facts ? await this.facts.view(scan, base) : base);
  }

  async updateCard(card: MessageRef, scan: ScanRecord, watch: WatchRecord): Promise<void> {
    await this.slack.update(card, await this.card(scan, watch, {}));
  }

  /**
   * After the summary (the counts) or a refused upload (the Report menu is the way now), the card
   * shows it too. Best effort: the thread reply is what the effect log tracks.
   */
  private async cardAfter(card: MessageRef, subject: WatchSubject, notice: WatchNotice): Promise<void> {
    if (!this.facts || (notice.kind !== "summary" && notice.kind !== "files_refused")) return;
    try {
      const scan = await this.facts.getScan(subject.scanId);
      if (!scan) return;
      const known: Partial<CardView> =
        notice.kind === "summary"
          ? {
              findings: { counts: notice.summary.counts, total: notice.summary.total },
              ...(notice.result ? { result: notice.result } : {}),
            }
          : {};
      if (notice.kind === "files_refused") known.filesRefused = notice.refused.map((r) => r.format);
      await this.slack.update(card, await this.card(scan, undefined, known));
    } catch (error) {
      this.log.warn("scan card not updated after a thread reply", { scanId: subject.scanId, error });
    }
  }

  async post(card: MessageRef, subject: WatchSubject, notice: WatchNotice, effectId: string): Promise<void> {
    await this.slack.post(card.channel, noticeMessage(subject, notice), {
      threadTs: card.ts,
      // The end of a scan is also shown once in the channel.
      broadcast: notice.kind === "final",
      metadata: {
        event_type: EFFECT_EVENT_TYPE,
        event_payload: { scan_id: subject.scanId, effect: effectId },
      },
    });
    await this.cardAfter(card, subject, notice);
  }

  async upload(
    card: MessageRef,
    subject: WatchSubject,
    format: ReportFormat,
    open: () => Promise<Report>,
    effectId: string,
  ): Promise<UploadResult> {
    try {
      await this.slack.transfers.run(() =>
        this.slack.upload(
          { channel: card.channel, threadTs: card.ts },
          reportUpload(subject.scanId, format, open),
        ),
      );
      return { ok: true };
    } catch (error) {
      if (error instanceof SlackError && error.uploadRefusal !== undefined) {
        this.log.warn("slack refused a report upload", {
          scanId: subject.scanId,
          effect: effectId,
          code: error.code,
        });
        return { ok: false, reason: error.uploadRefusal };
      }
      throw error;
    }
  }

  async postedEffects(card: MessageRef, subject: WatchSubject): Promise<ReadonlySet<string>> {
    const found = new Set<string>();
    // Upload name -> effects; "file:junit" is the effect of watches stored before formats had one name.
    const byName = new Map<string, string[]>([[reportFileName(subject.scanId, "xml"), ["file:junit"]]]);
    for (const format of REPORT_FORMATS) {
      const name = reportFileName(subject.scanId, format);
      byName.set(name, [...(byName.get(name) ?? []), `file:${format}`]);
    }
    for await (const m of this.slack.threadMessages(card, this.maxPages)) {
      const meta = m.metadata;
      if (meta?.event_type === EFFECT_EVENT_TYPE && meta.event_payload?.scan_id === subject.scanId) {
        const effect = meta.event_payload.effect;
        if (typeof effect === "string") found.add(effect);
      }
      for (const name of m.fileNames) for (const effect of byName.get(name) ?? []) found.add(effect);
    }
    return found;
  }
}
