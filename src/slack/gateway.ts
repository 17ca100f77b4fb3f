import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { setTimeout as sleep } from "node:timers/promises";
import { webApi } from "@slack/bolt";
import { z } from "zod";
import { AppError, type ErrorKind, isAppError } from "../domain/errors.js";
import type { Report, ReportFormat } from "../domain/ports.js";
import { readReport } from "../domain/reports.js";
import type { MessageRef } from "../domain/scans.js";
import type { KnownBlock, SlackMessage } from "./blocks/common.js";
import { TransferSlots } from "./transfers.js";

type WebClient = webApi.WebClient;

/**
 * The one gateway to Slack's Web API: every call the bot makes goes through here, and every failure
 * is named by one classifier over @slack/web-api's typed errors. The Web client itself waits out
 * 429s (Retry-After) and retries transient failures (its retry policy); this layer adds no retries.
 */

/** Slack message metadata: lets the bot find its own messages again after a crash. */
export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, string>;
}

/** A message of the bot's own as conversations.history / .replies show it. */
export interface OwnMessage {
  ts: string;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
  /** Names of the files shared by the bot with this message. */
  fileNames: string[];
}

/** Slack errors a person can act on: what went wrong, and what to do. */
const ACTIONABLE: Record<string, [problem: string, advice?: string]> = {
  not_in_channel: ["The bot is not in this channel", "Invite it with `/invite @crashtest` and try again."],
  channel_not_found: [
    "The bot cannot see this channel",
    "Invite it with `/invite @crashtest` and try again.",
  ],
  is_archived: ["This channel is archived"],
  restricted_action: ["A workspace setting prevents the bot from posting here"],
  msg_too_long: ["The message was too long for Slack"],
};

/**
 * Upload refusals that retrying will not change; https://docs.slack.dev/reference/methods/files.getUploadURLExternal
 * lists the error names.
 */
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
  ...Object.keys(ACTIONABLE),
  ...Object.keys(UPLOAD_REFUSALS),
  "message_not_found",
  "cant_update_message",
  "edit_window_closed",
  "thread_not_found",
  "invalid_blocks",
  "invalid_blocks_format",
  "invalid_metadata_format",
  "invalid_metadata_schema",
  "msg_blocks_too_long",
  "no_text",
  "invalid_arguments",
  "not_authed",
  "invalid_auth",
  "account_inactive",
  "token_revoked",
  "team_access_not_granted",
  "file_not_found",
]);

/** A failed Slack call: `code` is Slack's error name when Slack answered one. */
export class SlackError extends AppError {
  readonly code: string | undefined;
  /** Set for uploads Slack refuses for good: the reason in words, with the code. */
  readonly uploadRefusal: string | undefined;

  constructor(
    kind: ErrorKind,
    userMessage: string,
    options: ConstructorParameters<typeof AppError>[2] & { code?: string; uploadRefusal?: string },
  ) {
    super(kind, userMessage, options);
    this.name = "SlackError";
    this.code = options.code;
    this.uploadRefusal = options.uploadRefusal;
  }
}

/** What went wrong, from the Web client's typed errors (https://docs.slack.dev/tools/node-slack-sdk/web-api#handle-errors). */
function describe(error: unknown): { code?: string; retryAfterMs?: number; reason: string } {
  if (error instanceof webApi.WebAPIPlatformError)
    return { code: error.data.error, reason: error.data.error };
  if (error instanceof webApi.WebAPIRateLimitedError) {
    return { code: "ratelimited", retryAfterMs: error.retryAfter * 1000, reason: "rate limited" };
  }
  if (error instanceof webApi.WebAPIHTTPError) return { reason: `HTTP ${error.statusCode}` };
  if (error instanceof webApi.WebAPIRequestError) return { reason: error.original.message };
  return { reason: error instanceof Error ? error.message : String(error) };
}

/** The one classifier: any failure of a Slack call (`action` names it for logs) as a SlackError. */
export function slackFailure(error: unknown, action: string): SlackError {
  if (error instanceof SlackError) return error;
  const { code, retryAfterMs, reason } = describe(error);
  const detail = `${action} failed: ${reason}`;
  const base = { cause: error, detail, ...(code ? { code } : {}) };
  const refusal = code === undefined ? undefined : UPLOAD_REFUSALS[code];
  if (refusal !== undefined && action.startsWith("files.")) {
    const uploadRefusal = `${refusal} (${code})`;
    return new SlackError("validation", `Slack refused the file: ${uploadRefusal}.`, {
      ...base,
      uploadRefusal,
    });
  }
  const actionable = code === undefined ? undefined : ACTIONABLE[code];
  if (actionable) {
    const [problem, advice] = actionable;
    return new SlackError("validation", `${problem} (${code}).${advice ? ` ${advice}` : ""}`, base);
  }
  if (retryAfterMs !== undefined) {
    return new SlackError("rate_limited", "Slack asked the bot to slow down.", {
      ...base,
      retryable: true,
      retryAfterMs,
    });
  }
  const permanent = code !== undefined && PERMANENT.has(code);
  return new SlackError(
    permanent ? "internal" : "unavailable",
    `Slack did not accept the bot's ${action.split(".")[0] === "files" ? "file" : "message"} (${code ?? "no answer"}).`,
    { ...base, retryable: !permanent },
  );
}

/** The one name a report is uploaded under, whoever posts it; reconciliation finds uploads by it. */
export function reportFileName(scanId: string, format: ReportFormat): string {
  return `crashtest-scan-${scanId.replace(/[^A-Za-z0-9_-]/g, "_")}.${format}`;
}

/**
 * A scanner report's bytes for an upload: streamed when the scanner announced the size (the upload
 * needs it up front), else read whole first (bounded by REPORT_MAX_BYTES in the scanner adapter).
 */
export async function reportContent(report: Report): Promise<{ size: number; body: Readable | Uint8Array }> {
  if (report.size !== undefined) {
    return { size: report.size, body: Readable.fromWeb(report.body as NodeReadableStream<Uint8Array>) };
  }
  const { bytes } = await readReport(report);
  return { size: bytes.byteLength, body: bytes };
}

/** A report as a file to upload: the one name and title, whoever posts it. */
export function reportUpload(
  scanId: string,
  format: ReportFormat,
  content: { size: number; body: Readable | Uint8Array },
): UploadFile {
  return {
    name: reportFileName(scanId, format),
    title: `Scan ${scanId} · ${format.toUpperCase()} report`,
    ...content,
  };
}

/** A file to upload: its bytes as a stream (never held whole in memory) or a small buffer, and its exact size. */
export interface UploadFile {
  name: string;
  title: string;
  size: number;
  body: Readable | Uint8Array;
}

const uploadUrlAnswer = z.object({ upload_url: z.url(), file_id: z.string().min(1) });

const ownMessages = z.array(
  z.looseObject({
    ts: z.string(),
    user: z.string().optional(),
    metadata: z
      .looseObject({
        event_type: z.string().optional(),
        event_payload: z.record(z.string(), z.unknown()).optional(),
      })
      .optional(),
    files: z.array(z.looseObject({ name: z.string().optional(), user: z.string().optional() })).optional(),
  }),
);

export interface SlackGatewayOptions {
  /** Report transfers at once (REPORT_TRANSFERS_MAX); the rest wait in line. */
  maxTransfers?: number;
  /** Retries of the upload URL POST; the Web client's default policy unless given. */
  uploadRetry?: webApi.RetryOptions;
}

export class SlackGateway {
  readonly client: WebClient;
  /** Report transfers (scanner download streamed into a Slack upload) in progress and waiting. */
  readonly transfers: TransferSlots;
  private readonly uploadRetry: webApi.RetryOptions;
  private botUser: Promise<string> | undefined;

  constructor(client: WebClient, options: SlackGatewayOptions = {}) {
    this.client = client;
    this.transfers = new TransferSlots(options.maxTransfers ?? 3);
    this.uploadRetry = options.uploadRetry ?? webApi.retryPolicies.tenRetriesInAboutThirtyMinutes;
  }

  private async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw slackFailure(error, action);
    }
  }

  /** The bot's own user ID, from auth.test once; a failed look-up is tried again next time. */
  botUserId(): Promise<string> {
    this.botUser ??= this.call("auth.test", () => this.client.auth.test()).then(
      (result) => {
        if (!result.user_id) throw new SlackError("internal", "Slack did not say who the bot is.", {});
        return result.user_id;
      },
      (error: unknown) => {
        this.botUser = undefined;
        throw error;
      },
    );
    return this.botUser;
  }

  async post(
    channel: string,
    message: SlackMessage,
    options: { threadTs?: string; broadcast?: boolean; metadata?: MessageMetadata } = {},
  ): Promise<MessageRef> {
    const base = {
      channel,
      text: message.text,
      blocks: message.blocks,
      unfurl_links: false,
      unfurl_media: false,
      ...(options.metadata ? { metadata: options.metadata } : {}),
    };
    const result = await this.call("chat.postMessage", () =>
      options.threadTs
        ? this.client.chat.postMessage({
            ...base,
            thread_ts: options.threadTs,
            reply_broadcast: options.broadcast ?? false,
          })
        : this.client.chat.postMessage(base),
    );
    return { channel: result.channel ?? channel, ts: String(result.ts) };
  }

  async update(ref: MessageRef, message: SlackMessage): Promise<void> {
    await this.call("chat.update", () =>
      this.client.chat.update({
        channel: ref.channel,
        ts: ref.ts,
        text: message.text,
        blocks: message.blocks,
      }),
    );
  }

  async ephemeral(channel: string, user: string, message: SlackMessage): Promise<void> {
    await this.call("chat.postEphemeral", () =>
      this.client.chat.postEphemeral({
        channel,
        user,
        text: message.text,
        ...(message.blocks.length > 0 ? { blocks: message.blocks } : {}),
      }),
    );
  }

  /** A context line in a thread: the visible part of the audit trail. */
  async note(ref: MessageRef, text: string): Promise<void> {
    const blocks: KnownBlock[] = [{ type: "context", elements: [{ type: "mrkdwn", text }] }];
    await this.post(ref.channel, { text, blocks }, { threadTs: ref.ts });
  }

  /** A link to a message (chat.getPermalink; https://docs.slack.dev/reference/methods/chat.getPermalink). */
  async permalink(ref: MessageRef): Promise<string> {
    const result = await this.call("chat.getPermalink", () =>
      this.client.chat.getPermalink({ channel: ref.channel, message_ts: ref.ts }),
    );
    return z.url().parse(result.permalink);
  }

  /** `<permalink|label>` for a message; just the label when Slack gives no link (the reply still helps). */
  async linkTo(ref: MessageRef, label: string): Promise<string> {
    try {
      return `<${await this.permalink(ref)}|${label}>`;
    } catch {
      return label;
    }
  }

  /**
   * The bot's own top-level messages in a channel, newest first, at most `maxPages` pages of 200
   * (conversations.history with metadata; scopes channels:history / groups:history). Messages by
   * anyone else are left out: only the bot's own user can have posted what the bot looks for.
   */
  async *channelMessages(channel: string, maxPages = 3): AsyncGenerator<OwnMessage> {
    yield* this.pages("conversations.history", maxPages, (cursor) =>
      this.client.conversations.history({
        channel,
        limit: 200,
        include_all_metadata: true,
        ...(cursor ? { cursor } : {}),
      }),
    );
  }

  /** The bot's own messages in a thread, oldest first (conversations.replies), likewise. */
  async *threadMessages(ref: MessageRef, maxPages = 10): AsyncGenerator<OwnMessage> {
    yield* this.pages("conversations.replies", maxPages, (cursor) =>
      this.client.conversations.replies({
        channel: ref.channel,
        ts: ref.ts,
        include_all_metadata: true,
        limit: 200,
        ...(cursor ? { cursor } : {}),
      }),
    );
  }

  private async *pages(
    action: string,
    maxPages: number,
    fetch: (
      cursor: string | undefined,
    ) => Promise<{ messages?: unknown; has_more?: boolean; response_metadata?: { next_cursor?: string } }>,
  ): AsyncGenerator<OwnMessage> {
    const bot = await this.botUserId();
    let cursor: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const result = await this.call(action, () => fetch(cursor));
      const parsed = ownMessages.safeParse(result.messages ?? []);
      if (!parsed.success) {
        throw new SlackError("unavailable", "Slack answered with messages the bot cannot read.", {
          detail: `${action}: unexpected answer`,
          retryable: true,
        });
      }
      for (const m of parsed.data) {
        if (m.user !== bot) continue;
        yield {
          ts: m.ts,
          ...(m.metadata ? { metadata: m.metadata } : {}),
          fileNames: (m.files ?? []).flatMap((f) => (f.user === bot && f.name ? [f.name] : [])),
        };
      }
      cursor = result.response_metadata?.next_cursor || undefined;
      if (!cursor || result.has_more === false) return;
    }
  }

  /** The newest top-level message of the bot's own in `channel` whose metadata matches. */
  async findByMetadata(channel: string, metadata: MessageMetadata): Promise<MessageRef | undefined> {
    const wanted = JSON.stringify(metadata.event_payload);
    for await (const m of this.channelMessages(channel)) {
      if (
        m.metadata?.event_type === metadata.event_type &&
        JSON.stringify(m.metadata.event_payload) === wanted
      ) {
        return { channel, ts: m.ts };
      }
    }
    return undefined;
  }

  /**
   * Uploads one file through Slack's external upload flow (https://docs.slack.dev/messaging/working-with-files#upload):
   * files.getUploadURLExternal with the length, the bytes POSTed as a stream to the upload URL, then
   * files.completeUploadExternal shares it. The Web client's filesUploadV2 reads a stream whole into
   * memory first (Buffer.concat in its file-upload.js), so the three steps are done here.
   */
  async upload(
    target: { channel: string; threadTs?: string },
    file: UploadFile,
    options: { comment?: string } = {},
  ): Promise<void> {
    const answer = await this.call("files.getUploadURLExternal", () =>
      this.client.files.getUploadURLExternal({ filename: file.name, length: file.size }),
    );
    const issued = uploadUrlAnswer.safeParse(answer);
    if (!issued.success) {
      throw new SlackError("unavailable", "Slack did not give the bot a place to upload the file.", {
        detail: "files.getUploadURLExternal: no upload_url in the answer",
        retryable: true,
      });
    }
    await this.sendBytes(issued.data.upload_url, file);
    await this.call("files.completeUploadExternal", () =>
      this.client.files.completeUploadExternal({
        files: [{ id: issued.data.file_id, title: file.title }],
        channel_id: target.channel,
        ...(target.threadTs ? { thread_ts: target.threadTs } : {}),
        ...(options.comment ? { initial_comment: options.comment } : {}),
      }),
    );
  }

  /**
   * POSTs the bytes to the upload URL. That URL is not a Web API method, so the Web client's retries do
   * not cover it: bytes held in memory are re-sent under the same retry policy; a stream is sent once
   * (it cannot be replayed) and its caller retries from the source.
   */
  private async sendBytes(url: string, file: UploadFile): Promise<void> {
    const policy = this.uploadRetry;
    const attempts = file.body instanceof Uint8Array ? 1 + (policy.retries ?? 0) : 1;
    for (let attempt = 1; ; attempt++) {
      const failure = await this.postOnce(url, file);
      if (failure === undefined) return;
      if (!failure.retryable || attempt >= attempts) throw failure;
      const base = Math.min(
        policy.maxTimeout ?? Number.POSITIVE_INFINITY,
        (policy.minTimeout ?? 1000) * (policy.factor ?? 2) ** (attempt - 1),
      );
      // A 429 says how long to wait (Retry-After, in seconds), as for Web API calls.
      await sleep(Math.max(policy.randomize ? base * (1 + Math.random()) : base, failure.retryAfterMs ?? 0));
    }
  }

  private async postOnce(url: string, file: UploadFile): Promise<SlackError | undefined> {
    let answer: { status: number; retryAfter: string | undefined };
    try {
      answer = await postBody(new URL(url), file);
    } catch (error) {
      // The report stream itself failed (scanner download): that error says what happened.
      if (isAppError(error)) throw error;
      return new SlackError("unavailable", "The file upload to Slack broke off.", {
        cause: error,
        detail: `upload URL POST failed: ${error instanceof Error ? error.message : String(error)}`,
        retryable: true,
      });
    }
    const { status, retryAfter } = answer;
    if (status === 200) return undefined;
    const waitSeconds = Number(retryAfter);
    return new SlackError("unavailable", `Slack did not accept the file (HTTP ${status}).`, {
      detail: `upload URL answered HTTP ${status}`,
      retryable: status >= 500 || status === 429,
      ...(status === 429 && Number.isFinite(waitSeconds) && waitSeconds >= 0
        ? { retryAfterMs: Math.min(waitSeconds, 3600) * 1000 }
        : {}),
    });
  }

  async openView(triggerId: string, view: webApi.ViewsOpenArguments["view"]): Promise<void> {
    await this.call("views.open", () => this.client.views.open({ trigger_id: triggerId, view }));
  }

  async publishHome(user: string, view: webApi.ViewsPublishArguments["view"]): Promise<void> {
    await this.call("views.publish", () => this.client.views.publish({ user_id: user, view }));
  }

  /** Members of a channel, for who may see what came from it (channels:read / groups:read). */
  async channelMembers(channel: string): Promise<string[]> {
    const members: string[] = [];
    let cursor: string | undefined;
    // Bounded: 50 pages of 1000 is more members than any channel the bot serves.
    for (let page = 0; page < 50; page++) {
      const result = await this.call("conversations.members", () =>
        this.client.conversations.members({ channel, limit: 1000, ...(cursor ? { cursor } : {}) }),
      );
      members.push(...(result.members ?? []));
      cursor = result.response_metadata?.next_cursor || undefined;
      if (!cursor) break;
    }
    return members;
  }

  /** Members of a user group, for role checks (needs usergroups:read). */
  async groupMembers(groupId: string): Promise<string[]> {
    const result = await this.call("usergroups.users.list", () =>
      this.client.usergroups.users.list({ usergroup: groupId }),
    );
    return result.users ?? [];
  }
}

/** No answer from the upload URL for this long ends the attempt. */
const UPLOAD_IDLE_TIMEOUT_MS = 120_000;

/**
 * One POST of the file's bytes with their exact length (Content-Length); a stream is piped through
 * with back-pressure, so only a few chunks are ever in memory. The answer's body is discarded.
 */
function postBody(url: URL, file: UploadFile): Promise<{ status: number; retryAfter: string | undefined }> {
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return Promise.reject(new Error(`upload URL has an unexpected scheme ${url.protocol}`));
  }
  return new Promise((resolve, reject) => {
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: "POST",
        headers: { "content-type": "application/octet-stream", "content-length": String(file.size) },
        timeout: UPLOAD_IDLE_TIMEOUT_MS,
      },
      (res) => {
        const retryAfter = res.headers["retry-after"];
        res.on("error", reject);
        res.on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter }));
        res.resume();
      },
    );
    req.on("timeout", () => req.destroy(new Error("the upload URL stopped answering")));
    req.on("error", reject);
    if (file.body instanceof Uint8Array) req.end(file.body);
    else pipeline(file.body, req).catch(reject);
  });
}
