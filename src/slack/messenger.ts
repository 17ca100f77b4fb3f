import type { webApi } from "@slack/bolt";
import { AppError } from "../domain/errors.js";
import type { Report } from "../domain/ports.js";
import type { MessageRef } from "../domain/scans.js";
import type { KnownBlock, SlackMessage } from "./blocks/common.js";

type WebClient = webApi.WebClient;

/** Slack message metadata: lets the bot find its own messages again after a crash. */
export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, string>;
}

/** Slack errors a person can act on, and what to tell them. */
const ACTIONABLE: Record<string, string> = {
  not_in_channel: "The bot is not in this channel. Invite it with `/invite @crashtest` and try again.",
  channel_not_found: "The bot cannot see this channel. Invite it with `/invite @crashtest` and try again.",
  is_archived: "This channel is archived.",
  file_uploads_disabled: "File uploads are disabled in this workspace.",
  file_upload_size_restricted: "The report is larger than this workspace allows for uploads.",
  restricted_action: "A workspace setting prevents the bot from posting here.",
  msg_too_long: "The message was too long for Slack.",
};

/** The Slack error code of a Web API failure, if it is one. */
export function slackErrorCode(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === "string" ? data.error : undefined;
}

function toAppError(error: unknown, action: string): AppError {
  const code = slackErrorCode(error);
  const known = code ? ACTIONABLE[code] : undefined;
  if (known) return new AppError("validation", known, { cause: error, detail: `${action}: ${code}` });
  return new AppError("unavailable", "Slack did not accept the bot's message; try again in a minute.", {
    cause: error,
    retryable: true,
    detail: `${action} failed: ${code ?? (error instanceof Error ? error.message : String(error))}`,
  });
}

/**
 * Every Web API call the bot makes for people goes through here. The Web client itself waits out 429s
 * (Retry-After) and retries transient failures; this layer only names failures in words people can act on.
 */
export class SlackMessenger {
  constructor(readonly client: WebClient) {}

  private async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toAppError(error, action);
    }
  }

  async post(
    channel: string,
    message: SlackMessage,
    options: { threadTs?: string; broadcast?: boolean; metadata?: MessageMetadata } = {},
  ) {
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
    return { channel: result.channel ?? channel, ts: String(result.ts) } satisfies MessageRef;
  }

  /**
   * The newest top-level message of the bot in `channel` whose metadata matches (needs channels:history /
   * groups:history); looks at the last 600 messages.
   */
  async findByMetadata(channel: string, metadata: MessageMetadata): Promise<MessageRef | undefined> {
    let cursor: string | undefined;
    for (let page = 0; page < 3; page++) {
      const result = await this.call("conversations.history", () =>
        this.client.conversations.history({
          channel,
          limit: 200,
          include_all_metadata: true,
          ...(cursor ? { cursor } : {}),
        }),
      );
      const found = result.messages?.find(
        (m) =>
          m.metadata?.event_type === metadata.event_type &&
          JSON.stringify(m.metadata?.event_payload) === JSON.stringify(metadata.event_payload),
      );
      if (found?.ts) return { channel, ts: found.ts };
      cursor = result.response_metadata?.next_cursor || undefined;
      if (!cursor) return undefined;
    }
    return undefined;
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
      this.client.chat.postEphemeral({ channel, user, text: message.text, blocks: message.blocks }),
    );
  }

  /** A context line in a thread: the visible part of the audit trail. */
  async note(ref: MessageRef, text: string): Promise<void> {
    const blocks: KnownBlock[] = [{ type: "context", elements: [{ type: "mrkdwn", text }] }];
    await this.post(ref.channel, { text, blocks }, { threadTs: ref.ts });
  }

  async upload(channel: string, report: Report, options: { threadTs?: string; comment?: string } = {}) {
    await this.call("files.uploadV2", () =>
      this.client.filesUploadV2({
        channel_id: channel,
        file: Buffer.from(report.bytes),
        filename: report.fileName,
        title: report.fileName,
        thread_ts: options.threadTs as string,
        initial_comment: options.comment as string,
      }),
    );
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
