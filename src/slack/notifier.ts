import type { webApi } from "@slack/bolt";
import { AppError } from "../domain/errors.js";
import type { Logger, Report, ReportFormat } from "../domain/ports.js";
import type { MessageRef, ScanRecord } from "../domain/scans.js";
import type {
  UploadResult,
  WatchNotice,
  WatchOutput,
  WatchRecord,
  WatchSubject,
} from "../domain/watch/index.js";
import { scanCard, stateLabel } from "./blocks/cards.js";
import { context, escapeText, message, type SlackMessage, section } from "./blocks/common.js";
import { findingsSummaryMessage, findingsUnavailableMessage, reportText } from "./blocks/findings.js";
import { slackErrorCode } from "./messenger.js";

type WebClient = webApi.WebClient;

/**
 * The watcher's Slack output. Thread replies carry message metadata (event type `crashtest_effect`,
 * payload {scan_id, effect}) and report files a name derived from (scan ID, format), so that after an
 * interruption `postedEffects` can tell from the thread (conversations.replies, scopes
 * channels:history / groups:history) what was already delivered. 429s are waited out by the Web
 * client itself (its retry policy); this layer only classifies what is left.
 */

export const EFFECT_EVENT_TYPE = "crashtest_effect";

/** Upload refusals that retrying will not change; the thread gets the `/crashtest report` command. */
const UPLOAD_REFUSALS: Record<string, string> = {
  file_uploads_disabled: "file uploads are disabled in this workspace",
  file_uploads_except_images_disabled: "this workspace only allows image uploads",
  file_upload_size_restricted: "the file is larger than this workspace allows",
  missing_scope: "the app lacks the files:write scope",
  not_allowed_token_type: "the bot token may not upload files",
  restricted_action: "a workspace setting prevents the bot from uploading here",
};

/** Slack errors that the same request will get again; all others are worth retrying later. */
const PERMANENT = new Set([
  "channel_not_found",
  "not_in_channel",
  "is_archived",
  "message_not_found",
  "cant_update_message",
  "edit_window_closed",
  "thread_not_found",
  "invalid_blocks",
  "invalid_blocks_format",
  "invalid_metadata_format",
  "invalid_metadata_schema",
  "msg_too_long",
  "msg_blocks_too_long",
  "no_text",
  "invalid_arguments",
  "missing_scope",
  "not_authed",
  "invalid_auth",
  "account_inactive",
  "token_revoked",
  "restricted_action",
  "team_access_not_granted",
]);

export function slackFailure(error: unknown, action: string): AppError {
  const code = slackErrorCode(error);
  const retryAfter = (error as { retryAfter?: unknown } | undefined)?.retryAfter;
  const rateLimited = (error as { code?: unknown } | undefined)?.code === "slack_webapi_rate_limited_error";
  const reason = code ?? (error instanceof Error ? error.message : String(error));
  return new AppError("unavailable", `Slack did not accept ${action} (${code ?? "no answer"}).`, {
    cause: error,
    detail: `${action} failed: ${reason}`,
    retryable: code === undefined || !PERMANENT.has(code),
    ...(rateLimited && typeof retryAfter === "number" ? { retryAfterMs: retryAfter * 1000 } : {}),
  });
}

const EXTENSION: Record<ReportFormat, string> = {
  pdf: "pdf",
  json: "json",
  junit: "xml",
  xml: "xml",
  csv: "csv",
};

/** The name a report is uploaded under; reconciliation finds uploads by it. */
export function reportUploadName(scanId: string, format: ReportFormat): string {
  return `crashtest-scan-${scanId.replace(/[^A-Za-z0-9_-]/g, "_")}.${EXTENSION[format]}`;
}

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
      return findingsSummaryMessage(subject, notice.summary, { format: notice.format });
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

interface ThreadMessage {
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
  files?: Array<{ name?: string }>;
}

export class SlackNotifier implements WatchOutput {
  private readonly client: WebClient;
  private readonly log: Logger;
  /** conversations.replies pages read at most (200 messages each). */
  private readonly maxPages: number;

  constructor(deps: { client: WebClient; logger: Logger; maxPages?: number }) {
    this.client = deps.client;
    this.log = deps.logger.child({ component: "notifier" });
    this.maxPages = deps.maxPages ?? 10;
  }

  private async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw slackFailure(error, action);
    }
  }

  async updateCard(card: MessageRef, scan: ScanRecord, watch: WatchRecord): Promise<void> {
    const content = scanCard(scan, cardNote(watch));
    await this.call("chat.update", () =>
      this.client.chat.update({
        channel: card.channel,
        ts: card.ts,
        text: content.text,
        blocks: content.blocks,
      }),
    );
  }

  async post(card: MessageRef, subject: WatchSubject, notice: WatchNotice, effectId: string): Promise<void> {
    const content = noticeMessage(subject, notice);
    await this.call("chat.postMessage", () =>
      this.client.chat.postMessage({
        channel: card.channel,
        thread_ts: card.ts,
        // The end of a scan is also shown once in the channel.
        reply_broadcast: notice.kind === "final",
        text: content.text,
        blocks: content.blocks,
        unfurl_links: false,
        unfurl_media: false,
        metadata: {
          event_type: EFFECT_EVENT_TYPE,
          event_payload: { scan_id: subject.scanId, effect: effectId },
        },
      }),
    );
  }

  async upload(
    card: MessageRef,
    subject: WatchSubject,
    report: Report,
    effectId: string,
  ): Promise<UploadResult> {
    const filename = reportUploadName(subject.scanId, report.format);
    try {
      await this.client.filesUploadV2({
        channel_id: card.channel,
        thread_ts: card.ts,
        file: Buffer.from(report.bytes),
        filename,
        title: `Scan ${subject.scanId} · ${report.format.toUpperCase()} report`,
      });
      return { ok: true };
    } catch (error) {
      const code = slackErrorCode(error);
      const refusal = code === undefined ? undefined : UPLOAD_REFUSALS[code];
      if (refusal !== undefined) {
        this.log.warn("slack refused a report upload", { scanId: subject.scanId, effect: effectId, code });
        return { ok: false, reason: `${refusal} (${code})` };
      }
      throw slackFailure(error, "the report upload");
    }
  }

  async postedEffects(card: MessageRef, subject: WatchSubject): Promise<ReadonlySet<string>> {
    const found = new Set<string>();
    // Upload name -> effects; junit and xml share ".xml" (only one of them is ever configured).
    const byName = new Map<string, string[]>();
    for (const format of ["pdf", "json", "junit", "xml", "csv"] as const) {
      const name = reportUploadName(subject.scanId, format);
      byName.set(name, [...(byName.get(name) ?? []), `file:${format}`]);
    }
    let cursor: string | undefined;
    for (let page = 0; page < this.maxPages; page++) {
      const result = await this.call("conversations.replies", () =>
        this.client.conversations.replies({
          channel: card.channel,
          ts: card.ts,
          include_all_metadata: true,
          limit: 200,
          ...(cursor ? { cursor } : {}),
        }),
      );
      for (const raw of (result.messages ?? []) as ThreadMessage[]) {
        const meta = raw.metadata;
        if (meta?.event_type === EFFECT_EVENT_TYPE && meta.event_payload?.scan_id === subject.scanId) {
          const effect = meta.event_payload.effect;
          if (typeof effect === "string") found.add(effect);
        }
        for (const file of raw.files ?? []) {
          for (const effect of byName.get(file.name ?? "") ?? []) found.add(effect);
        }
      }
      cursor = result.response_metadata?.next_cursor || undefined;
      if (!result.has_more || !cursor) break;
    }
    return found;
  }
}
