import { isObject, validateView } from "./block-kit.js";
import {
  invalidArguments,
  optBool,
  optString,
  parseMessageFields,
  parseNewMessage,
  requireString,
  SlackApiError,
} from "./content.js";
import type { ChannelRecord, MessageRecord, Workspace } from "./state.js";
import type { JsonObject, MessageVersion, StoredFile, UserSpec } from "./types.js";

/** Answers one Web API call with the fields after `"ok": true`, or throws SlackApiError. */
type Handler = (ws: Workspace, args: JsonObject, baseUrl: string) => JsonObject;

function postableChannel(ws: Workspace, ref: string | undefined): ChannelRecord {
  const channel = ws.requireChannel(ref);
  if (channel.isArchived) throw new SlackApiError("is_archived");
  if (!channel.botIsMember) throw new SlackApiError("not_in_channel");
  return channel;
}

function botAuthor(ws: Workspace) {
  return { user: ws.config.bot.userId, fromBot: true };
}

/** A view argument of the expected type that passes Slack's limits, else `invalid_arguments`. */
function viewArg(args: JsonObject, type: "modal" | "home"): JsonObject {
  const view = args.view;
  if (typeof view === "string") throw invalidArguments("failed to parse view as JSON [json-pointer:/view]");
  if (!isObject(view)) throw invalidArguments("missing required field: view");
  if (view.type !== type) throw invalidArguments(`must be ${type} [json-pointer:/view/type]`);
  const errors = validateView(view);
  if (errors.length > 0) throw invalidArguments(...errors);
  return view;
}

function checkHash(args: JsonObject, hash: string): void {
  const given = optString(args, "hash");
  if (given !== undefined && given !== hash) throw new SlackApiError("hash_conflict");
}

function slackUser(ws: Workspace, user: UserSpec): JsonObject {
  const realName = user.realName ?? user.name;
  return {
    id: user.id,
    team_id: ws.config.team.id,
    name: user.name,
    deleted: user.deleted ?? false,
    real_name: realName,
    tz: user.tz ?? "Europe/Berlin",
    is_admin: user.isAdmin ?? false,
    is_owner: false,
    is_bot: user.isBot ?? false,
    is_app_user: false,
    profile: {
      real_name: realName,
      display_name: user.name,
      team: ws.config.team.id,
      ...(user.email !== undefined ? { email: user.email } : {}),
    },
  };
}

function slackChannel(channel: ChannelRecord): JsonObject {
  if (channel.isIm) {
    return {
      id: channel.id,
      created: channel.created,
      is_im: true,
      is_org_shared: false,
      user: channel.imUser,
      is_user_deleted: false,
      priority: 0,
    };
  }
  return {
    id: channel.id,
    name: channel.name,
    name_normalized: channel.name,
    created: channel.created,
    is_channel: !channel.isPrivate,
    is_group: channel.isPrivate && !channel.isMpim,
    is_im: false,
    is_mpim: channel.isMpim,
    is_private: channel.isPrivate,
    is_archived: channel.isArchived,
    is_general: channel.name === "general",
    is_member: channel.botIsMember,
    ...(channel.members ? { num_members: channel.members.size } : {}),
  };
}

/** One page of messages with Slack's cursor paging; metadata only with `include_all_metadata`. */
function messagePage(ws: Workspace, args: JsonObject, all: MessageRecord[], defaultLimit: number) {
  const limit = Math.min(Math.max(Number(optString(args, "limit") ?? defaultLimit) || defaultLimit, 1), 1000);
  const cursor = optString(args, "cursor");
  const offset =
    cursor === undefined
      ? 0
      : Number(
          Buffer.from(cursor, "base64")
            .toString("utf8")
            .replace(/^next:/, ""),
        );
  if (!Number.isInteger(offset) || offset < 0) throw new SlackApiError("invalid_cursor");
  const more = offset + limit < all.length;
  const withMetadata = optBool(args, "include_all_metadata");
  return {
    messages: all.slice(offset, offset + limit).map((m) => {
      const shown = ws.toSlackMessage(m);
      if (!withMetadata) delete shown.metadata;
      return shown;
    }),
    has_more: more,
    response_metadata: { next_cursor: more ? Buffer.from(`next:${offset + limit}`).toString("base64") : "" },
  };
}

const handlers: Record<string, Handler> = {
  "auth.test": (ws) => {
    const { team, bot } = ws.config;
    return {
      url: `https://${team.domain}.slack.com/`,
      team: team.name,
      user: bot.name,
      team_id: team.id,
      user_id: bot.userId,
      bot_id: bot.botId,
      is_enterprise_install: false,
    };
  },

  "chat.postMessage": (ws, args) => {
    const channel = postableChannel(ws, optString(args, "channel"));
    const content = parseNewMessage(args);
    const threadTs = optString(args, "thread_ts");
    const thread =
      threadTs !== undefined ? { threadTs, broadcast: optBool(args, "reply_broadcast") } : undefined;
    const record = ws.addMessage(channel.id, content, botAuthor(ws), thread);
    return { channel: channel.id, ts: record.ts, message: ws.toSlackMessage(record) };
  },

  "chat.update": (ws, args) => {
    const channel = ws.requireChannel(optString(args, "channel"));
    const ts = optString(args, "ts");
    const record = ts === undefined ? undefined : ws.findMessage(channel.id, ts);
    if (!record) throw new SlackApiError("message_not_found");
    if (!record.fromBot) throw new SlackApiError("cant_update_message");
    const fields = parseMessageFields(args);
    if (fields.text === undefined && fields.blocks === undefined && fields.attachments === undefined) {
      throw new SlackApiError("no_text");
    }
    // Omitted blocks/attachments keep the previous ones; an empty array removes them.
    const previous = ws.messageSnapshot(record);
    const pick = <K extends "blocks" | "attachments">(key: K) => {
      const value = fields[key] ?? previous[key];
      return value && value.length > 0 ? { [key]: value } : {};
    };
    const next: MessageVersion = {
      text: fields.text ?? previous.text,
      ...pick("blocks"),
      ...pick("attachments"),
      ...((fields.metadata ?? previous.metadata) ? { metadata: fields.metadata ?? previous.metadata } : {}),
    };
    ws.editMessage(record, next);
    return { channel: channel.id, ts: record.ts, text: next.text, message: ws.toSlackMessage(record) };
  },

  "chat.postEphemeral": (ws, args) => {
    const channel = postableChannel(ws, optString(args, "channel"));
    const user = ws.requireUser(optString(args, "user") ?? "");
    if (!ws.canSee(channel, user.id)) throw new SlackApiError("user_not_in_channel");
    const content = parseNewMessage(args);
    const record = ws.addEphemeral(
      channel.id,
      user.id,
      content,
      "chat.postEphemeral",
      optString(args, "thread_ts"),
    );
    return { message_ts: record.ts };
  },

  /** https://docs.slack.dev/reference/methods/chat.getPermalink: any message the bot can see. */
  "chat.getPermalink": (ws, args) => {
    const channel = ws.requireChannel(optString(args, "channel"));
    const ts = requireString(args, "message_ts");
    const record = ws.findMessage(channel.id, ts);
    if (!record) throw new SlackApiError("message_not_found");
    const base = `https://${ws.config.team.domain}.slack.com/archives/${channel.id}/p${ts.replace(".", "")}`;
    const permalink =
      record.threadTs === undefined ? base : `${base}?thread_ts=${record.threadTs}&cid=${channel.id}`;
    return { channel: channel.id, permalink };
  },

  "chat.delete": (ws, args) => {
    const channel = ws.requireChannel(optString(args, "channel"));
    const ts = optString(args, "ts");
    const record = ts === undefined ? undefined : ws.findMessage(channel.id, ts);
    if (!record) throw new SlackApiError("message_not_found");
    if (!record.fromBot) throw new SlackApiError("cant_delete_message");
    ws.deleteMessage(record);
    return { channel: channel.id, ts: record.ts };
  },

  "views.open": (ws, args) => {
    const triggerId = requireString(args, "trigger_id");
    const definition = viewArg(args, "modal");
    const view = ws.openView(ws.consumeTrigger(triggerId), definition);
    return { view: ws.toSlackView(view) };
  },

  "views.update": (ws, args) => {
    const viewId = optString(args, "view_id");
    const externalId = optString(args, "external_id");
    if (viewId === undefined && externalId === undefined) {
      throw invalidArguments("either view_id or external_id is required");
    }
    const view = viewId !== undefined ? ws.findView(viewId) : ws.findViewByExternalId(externalId ?? "");
    // A closed modal no longer exists in the user's client.
    if (!view || (view.type === "modal" && !view.open)) throw new SlackApiError("not_found");
    checkHash(args, view.hash);
    ws.updateView(view, viewArg(args, view.type));
    return { view: ws.toSlackView(view) };
  },

  "views.publish": (ws, args) => {
    const user = ws.requireUser(requireString(args, "user_id"));
    const definition = viewArg(args, "home");
    const existing = ws.homeView(user.id);
    if (existing) {
      checkHash(args, existing.hash);
      ws.updateView(existing, definition);
      return { view: ws.toSlackView(existing) };
    }
    return { view: ws.toSlackView(ws.openView(user.id, definition)) };
  },

  "files.getUploadURLExternal": (ws, args, baseUrl) => {
    const filename = requireString(args, "filename");
    const length = Number(requireString(args, "length"));
    if (!Number.isInteger(length) || length < 0)
      throw invalidArguments("must be a non-negative integer [json-pointer:/length]");
    const { file, uploadKey } = ws.createFile(filename, length, optString(args, "alt_text"));
    return { upload_url: `${baseUrl}/upload/v1/${uploadKey}`, file_id: file.id };
  },

  "files.completeUploadExternal": (ws, args) => {
    const entries = args.files;
    if (!Array.isArray(entries) || entries.length === 0 || !entries.every(isObject)) {
      throw invalidArguments("missing required field: files");
    }
    const files: StoredFile[] = entries.map((entry) => {
      const file = typeof entry.id === "string" ? ws.file(entry.id) : undefined;
      // Bytes never reached the upload URL, or the ID was never issued.
      if (!file || file.receivedSize === undefined) throw new SlackApiError("file_not_found");
      return file;
    });
    const threadTs = optString(args, "thread_ts");
    const channelIds = (optString(args, "channel_id") ?? optString(args, "channels") ?? "")
      .split(",")
      .map((id) => id.trim())
      .filter((id) => id !== "");
    if (threadTs !== undefined && channelIds.length > 1) {
      throw invalidArguments("thread_ts requires exactly one channel");
    }
    const channels = channelIds.map((id) => postableChannel(ws, id));
    const initialComment = optString(args, "initial_comment");
    // Slack ignores blocks when initial_comment is given.
    const content: MessageVersion =
      initialComment !== undefined
        ? { text: initialComment }
        : { text: "", ...parseMessageFields({ blocks: args.blocks }) };
    entries.forEach((entry, i) => {
      const file = files[i];
      if (file && typeof entry.title === "string") file.title = entry.title;
    });
    for (const file of files) file.completed = true;
    for (const channel of channels) ws.shareFiles(files, channel, content, threadTs);
    return { files: files.map((f) => ({ id: f.id, title: f.title })) };
  },

  "users.info": (ws, args) => ({ user: slackUser(ws, ws.requireUser(optString(args, "user") ?? "")) }),

  /** The bot's own record; auth.test has no app ID, so the bot learns it here (users:read). */
  "bots.info": (ws, args) => {
    const { bot } = ws.config;
    if (optString(args, "bot") !== bot.botId) throw new SlackApiError("bot_not_found");
    return { bot: { id: bot.botId, app_id: bot.appId, user_id: bot.userId, name: bot.name, deleted: false } };
  },

  /** Member IDs with cursor paging (channels:read / groups:read); a channel without a member list has everyone. */
  "conversations.members": (ws, args) => {
    const channel = ws.requireChannel(optString(args, "channel"));
    if (channel.isPrivate && !channel.botIsMember) throw new SlackApiError("channel_not_found");
    const all = channel.members
      ? [...channel.members]
      : [...ws.config.users.map((u) => u.id), ws.config.bot.userId];
    const limit = Math.min(Number(optString(args, "limit") ?? 100) || 100, 1000);
    const cursor = optString(args, "cursor");
    const offset = cursor
      ? Number(
          Buffer.from(cursor, "base64")
            .toString("utf8")
            .replace(/^next:/, ""),
        )
      : 0;
    if (!Number.isInteger(offset) || offset < 0) throw new SlackApiError("invalid_cursor");
    const more = offset + limit < all.length;
    return {
      members: all.slice(offset, offset + limit),
      response_metadata: {
        next_cursor: more ? Buffer.from(`next:${offset + limit}`).toString("base64") : "",
      },
    };
  },

  "usergroups.users.list": (ws, args) => {
    const group = ws.userGroup(requireString(args, "usergroup"));
    if (!group) throw new SlackApiError("no_such_subteam");
    return { users: [...group.users] };
  },

  "conversations.info": (ws, args) => {
    const channel = ws.requireChannel(optString(args, "channel"));
    if (channel.isPrivate && !channel.botIsMember) throw new SlackApiError("channel_not_found");
    return { channel: slackChannel(channel) };
  },

  /**
   * A thread, parent first, then replies oldest first, with cursor pagination (`limit` up to 1000).
   * Message metadata is only included with `include_all_metadata`, as on Slack. Needs
   * channels:history / groups:history on Slack; the emulator only checks the bot can read the channel.
   */
  "conversations.replies": (ws, args) => {
    const channel = ws.requireChannel(optString(args, "channel"));
    if (!channel.botIsMember)
      throw new SlackApiError(channel.isPrivate ? "channel_not_found" : "not_in_channel");
    const ts = requireString(args, "ts");
    const message = ws.findMessage(channel.id, ts);
    if (!message) throw new SlackApiError("thread_not_found");
    const root = message.threadTs === undefined ? message : ws.findMessage(channel.id, message.threadTs);
    if (!root) throw new SlackApiError("thread_not_found");
    const all = [root, ...ws.threadReplies(channel.id, root.ts)];
    return messagePage(ws, args, all, 1000);
  },

  /** Top-level messages, newest first (Slack's order), paged with a cursor like conversations.replies. */
  "conversations.history": (ws, args) => {
    const channel = ws.requireChannel(optString(args, "channel"));
    if (!channel.botIsMember)
      throw new SlackApiError(channel.isPrivate ? "channel_not_found" : "not_in_channel");
    const all = ws.channelMessages(channel.id).reverse();
    return messagePage(ws, args, all, 100);
  },

  "conversations.open": (ws, args) => {
    const channelRef = optString(args, "channel");
    const users = (optString(args, "users") ?? "").split(",").filter((u) => u !== "");
    let channel: ChannelRecord;
    if (channelRef !== undefined) channel = ws.requireChannel(channelRef);
    else if (users.length === 0) throw new SlackApiError("users_list_not_supplied");
    else {
      for (const user of users) ws.requireUser(user);
      channel = users.length === 1 ? ws.imChannel(users[0] ?? "") : ws.mpimChannel(users);
    }
    return { channel: optBool(args, "return_im") ? slackChannel(channel) : { id: channel.id } };
  },
};

export function webApiHandler(method: string): Handler | undefined {
  return Object.hasOwn(handlers, method) ? handlers[method] : undefined;
}
