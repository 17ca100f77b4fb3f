import { webApi } from "@slack/bolt";
import * as z from "zod";
import { readOutside } from "../domain/outside.js";
import type { MessageRef } from "../domain/scans.js";
import type { KnownBlock, SlackMessage } from "./blocks/common.js";
import { SlackError, slackFailure } from "./failures.js";
import { TransferSlots } from "./transfers.js";
import { discard, sendToUploadUrl, type UploadContent, type UploadFile } from "./uploads.js";

export { SlackError, slackFailure } from "./failures.js";
export { reportFileName, reportUpload, type UploadFile } from "./uploads.js";

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

/** The bot token's owner, as auth.test names it. */
export interface BotIdentity {
  userId: string;
  teamId: string;
  enterpriseId?: string;
  botId?: string;
}

const authTestAnswer = z.object({
  user_id: z.string().min(1),
  team_id: z.string().min(1),
  enterprise_id: z.string().min(1).optional(),
  bot_id: z.string().min(1).optional(),
});
const botsInfoAnswer = z.object({ bot: z.object({ app_id: z.string().min(1) }) });

export interface SlackGatewayOptions {
  /** Report transfers at once (REPORT_TRANSFERS_MAX); the rest wait in line. */
  maxTransfers?: number;
  /** Retries of the upload URL POST; the Web client's default policy unless given. */
  uploadRetry?: webApi.RetryOptions;
}

const PERMALINKS_KEPT = 1000;

export class SlackGateway {
  readonly client: WebClient;
  /** Report transfers (scanner download streamed into a Slack upload) in progress and waiting. */
  readonly transfers: TransferSlots;
  private readonly uploadRetry: webApi.RetryOptions;
  private whoAmI: Promise<BotIdentity> | undefined;
  /** Links already asked for (a message's permalink does not change), at most PERMALINKS_KEPT. */
  private readonly permalinks = new Map<string, string>();

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

  /**
   * Who the bot token belongs to, from one auth.test call shared by every asker (the installation
   * check at start and the bot's own user ID); a failed look-up is tried again next time.
   * https://api.slack.com/methods/auth.test
   */
  identity(): Promise<BotIdentity> {
    this.whoAmI ??= this.call("auth.test", () => this.client.auth.test()).then(
      (result) => {
        const answer = readOutside(authTestAnswer, result);
        if (!answer) throw new SlackError("internal", "Slack did not say who the bot is.", {});
        return {
          userId: answer.user_id,
          teamId: answer.team_id,
          ...(answer.enterprise_id ? { enterpriseId: answer.enterprise_id } : {}),
          ...(answer.bot_id ? { botId: answer.bot_id } : {}),
        };
      },
      (error: unknown) => {
        this.whoAmI = undefined;
        throw error;
      },
    );
    return this.whoAmI;
  }

  /** The bot's own user ID (auth.test, once). */
  async botUserId(): Promise<string> {
    return (await this.identity()).userId;
  }

  /** The app a bot user belongs to (auth.test names no app; https://api.slack.com/methods/bots.info). */
  async appIdOf(botId: string): Promise<string> {
    const result = await this.call("bots.info", () => this.client.bots.info({ bot: botId }));
    const answer = readOutside(botsInfoAnswer, result);
    if (!answer) throw new SlackError("internal", "Slack's bots.info named no app.", {});
    return answer.bot.app_id;
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
    // `scan status` and App Home ask again and again for the same cards: one call per card is enough.
    const key = `${ref.channel}:${ref.ts}`;
    const kept = this.permalinks.get(key);
    if (kept) return kept;
    const result = await this.call("chat.getPermalink", () =>
      this.client.chat.getPermalink({ channel: ref.channel, message_ts: ref.ts }),
    );
    const link = readOutside(z.url(), result.permalink);
    if (!link) {
      throw new SlackError("unavailable", "Slack gave no link to the message.", {
        detail: "chat.getPermalink: no permalink in the answer",
        retryable: true,
      });
    }
    if (this.permalinks.size >= PERMALINKS_KEPT) this.permalinks.clear();
    this.permalinks.set(key, link);
    return link;
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
      const parsed = readOutside(ownMessages, result.messages ?? []);
      if (!parsed) {
        throw new SlackError("unavailable", "Slack answered with messages the bot cannot read.", {
          detail: `${action}: unexpected answer`,
          retryable: true,
        });
      }
      for (const m of parsed) {
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
    let content: UploadContent | undefined = await file.open();
    try {
      const answer = await this.call("files.getUploadURLExternal", () =>
        this.client.files.getUploadURLExternal({ filename: file.name, length: content?.size ?? 0 }),
      );
      const issued = readOutside(uploadUrlAnswer, answer);
      if (!issued) {
        throw new SlackError("unavailable", "Slack did not give the bot a place to upload the file.", {
          detail: "files.getUploadURLExternal: no upload_url in the answer",
          retryable: true,
        });
      }
      const sending = content;
      content = undefined;
      await sendToUploadUrl(issued.upload_url, file, sending, this.uploadRetry);
      await this.call("files.completeUploadExternal", () =>
        this.client.files.completeUploadExternal({
          files: [{ id: issued.file_id, title: file.title }],
          channel_id: target.channel,
          ...(target.threadTs ? { thread_ts: target.threadTs } : {}),
          ...(options.comment ? { initial_comment: options.comment } : {}),
        }),
      );
    } finally {
      discard(content);
    }
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

  /**
   * Whether the bot is a member of a channel (conversations.info; channels:read / groups:read). A
   * private channel the bot is not in answers channel_not_found, which means "not a member" here.
   */
  async isMember(channel: string): Promise<boolean> {
    try {
      const result = await this.call("conversations.info", () => this.client.conversations.info({ channel }));
      return result.channel?.is_member === true || result.channel?.is_im === true;
    } catch (error) {
      if (error instanceof SlackError && error.code === "channel_not_found") return false;
      throw error;
    }
  }

  /**
   * The DM channel with a person: conversations.open with `users` opens or resumes it (scope
   * im:write; https://docs.slack.dev/reference/methods/conversations.open). Its ID is what
   * chat.postMessage and conversations.history take.
   */
  async openDm(user: string): Promise<string> {
    const result = await this.call("conversations.open", () =>
      this.client.conversations.open({ users: user }),
    );
    const id = readOutside(z.string().regex(/^D[A-Z0-9]+$/), result.channel?.id);
    if (!id) {
      throw new SlackError("unavailable", "Slack did not open a direct message.", {
        detail: "conversations.open: no DM channel in the answer",
        retryable: true,
      });
    }
    return id;
  }

  /** Members of a user group, for role checks (needs usergroups:read). */
  async groupMembers(groupId: string): Promise<string[]> {
    const result = await this.call("usergroups.users.list", () =>
      this.client.usergroups.users.list({ usergroup: groupId }),
    );
    return result.users ?? [];
  }
}
