import { randomBytes, randomInt } from "node:crypto";
import { withGeneratedIds } from "./block-kit.js";
import { SlackApiError } from "./content.js";
import type {
  BotSpec,
  ChannelInfo,
  ChannelSpec,
  EmulatorChange,
  EphemeralMessage,
  EphemeralSource,
  JsonObject,
  MessageVersion,
  StoredFile,
  StoredMessage,
  StoredView,
  TeamSpec,
  UserGroupSpec,
  UserSpec,
} from "./types.js";

export interface WorkspaceConfig {
  team: TeamSpec;
  bot: BotSpec;
  channels: ChannelSpec[];
  users: UserSpec[];
  userGroups: UserGroupSpec[];
}

export interface ChannelRecord {
  id: string;
  name: string;
  isPrivate: boolean;
  isIm: boolean;
  isMpim: boolean;
  imUser?: string;
  members?: Set<string>;
  botIsMember: boolean;
  isArchived: boolean;
  created: number;
}

export interface MessageRecord {
  channel: string;
  ts: string;
  user: string;
  fromBot: boolean;
  threadTs?: string;
  replyBroadcast: boolean;
  replies: MessageRecord[];
  fileIds: string[];
  versions: MessageVersion[];
}

export interface EphemeralRecord {
  channel: string;
  user: string;
  ts: string;
  threadTs?: string;
  source: EphemeralSource;
  versions: MessageVersion[];
  deleted: boolean;
}

interface TriggerRecord {
  user: string;
  issuedAt: number;
  used: boolean;
}

/** Slack lets a trigger_id open one view within 3 seconds. */
const TRIGGER_TTL_MS = 3000;

function current<T>(versions: readonly T[]): T {
  const last = versions.at(-1);
  if (last === undefined) throw new Error("a message always has at least one version");
  return last;
}

/** Stores blocks with the IDs Slack would generate for them. */
function normalise(content: MessageVersion): MessageVersion {
  return content.blocks ? { ...content, blocks: withGeneratedIds(content.blocks) } : { ...content };
}

function mimetype(name: string): string {
  const types: Record<string, string> = {
    pdf: "application/pdf",
    json: "application/json",
    xml: "application/xml",
    csv: "text/csv",
    txt: "text/plain",
    html: "text/html",
  };
  return types[name.split(".").at(-1)?.toLowerCase() ?? ""] ?? "application/octet-stream";
}

/**
 * The workspace Slack holds: channels, users, messages and threads, ephemerals, files, views and triggers.
 * Mutators throw SlackApiError with Slack's error codes; readers return copies.
 */
export class Workspace {
  private readonly channels = new Map<string, ChannelRecord>();
  private readonly users = new Map<string, UserSpec>();
  private readonly groups = new Map<string, UserGroupSpec>();
  private readonly messages = new Map<string, MessageRecord>();
  private readonly ephemeralRecords: EphemeralRecord[] = [];
  private readonly files = new Map<string, StoredFile>();
  private readonly uploadKeys = new Map<string, string>();
  private readonly viewRecords = new Map<string, StoredView>();
  private readonly triggers = new Map<string, TriggerRecord>();
  private lastTsMicros = 0;
  private sequence = 0;
  /** Called after every change of messages, ephemerals, shared files and views. */
  onChange: ((change: EmulatorChange) => void) | undefined;

  constructor(
    readonly config: WorkspaceConfig,
    readonly now: () => number,
  ) {
    const created = Math.floor(now() / 1000);
    for (const c of config.channels) {
      this.channels.set(c.id, {
        id: c.id,
        name: c.name,
        isPrivate: c.isPrivate ?? false,
        isIm: false,
        isMpim: false,
        ...(c.members ? { members: new Set(c.members) } : {}),
        botIsMember: c.botIsMember ?? true,
        isArchived: c.isArchived ?? false,
        created,
      });
    }
    for (const u of config.users) this.users.set(u.id, u);
    const bot = config.bot;
    if (!this.users.has(bot.userId))
      this.users.set(bot.userId, { id: bot.userId, name: bot.name, isBot: true });
    for (const g of config.userGroups) this.groups.set(g.id, g);
  }

  /** Monotonic message timestamps in Slack's "seconds.microseconds" format. */
  nextTs(): string {
    const micros = Math.max(Math.floor(this.now() * 1000), this.lastTsMicros + 1);
    this.lastTsMicros = micros;
    return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, "0")}`;
  }

  private emit(change: EmulatorChange): void {
    this.onChange?.(change);
  }

  nextId(prefix: string): string {
    this.sequence += 1;
    return `${prefix}${this.sequence.toString(36).toUpperCase().padStart(8, "0")}`;
  }

  // ---- directory ----

  /** By ID, by name ("general" or "#general"), or a user ID meaning the bot's DM with that user. */
  findChannel(ref: string): ChannelRecord | undefined {
    const byId = this.channels.get(ref);
    if (byId) return byId;
    const name = ref.replace(/^#/, "");
    const byName = [...this.channels.values()].find((c) => !c.isIm && c.name === name);
    if (byName) return byName;
    return this.users.has(ref) ? this.imChannel(ref) : undefined;
  }

  requireChannel(ref: string | undefined): ChannelRecord {
    const channel = ref === undefined ? undefined : this.findChannel(ref);
    if (!channel) throw new SlackApiError("channel_not_found");
    return channel;
  }

  user(id: string): UserSpec | undefined {
    return this.users.get(id);
  }

  requireUser(id: string): UserSpec {
    const user = this.users.get(id);
    if (!user) throw new SlackApiError("user_not_found");
    return user;
  }

  userGroup(id: string): UserGroupSpec | undefined {
    return this.groups.get(id);
  }

  allUsers(): UserSpec[] {
    return structuredClone([...this.users.values()]);
  }

  allUserGroups(): UserGroupSpec[] {
    return structuredClone([...this.groups.values()]);
  }

  channelInfo(channel: ChannelRecord): ChannelInfo {
    return {
      id: channel.id,
      name: channel.name,
      isPrivate: channel.isPrivate,
      isIm: channel.isIm,
      isMpim: channel.isMpim,
      ...(channel.imUser !== undefined ? { imUser: channel.imUser } : {}),
      ...(channel.members ? { members: [...channel.members] } : {}),
    };
  }

  allChannels(): ChannelInfo[] {
    return [...this.channels.values()].map((c) => this.channelInfo(c));
  }

  canSee(channel: ChannelRecord, user: string): boolean {
    return !channel.members || channel.members.has(user);
  }

  /** The bot's direct-message channel with a user, created on first use as conversations.open does. */
  imChannel(user: string): ChannelRecord {
    const existing = [...this.channels.values()].find((c) => c.isIm && c.imUser === user);
    if (existing) return existing;
    const channel: ChannelRecord = {
      id: this.nextId("D"),
      name: user,
      isPrivate: true,
      isIm: true,
      isMpim: false,
      imUser: user,
      members: new Set([user, this.config.bot.userId]),
      botIsMember: true,
      isArchived: false,
      created: Math.floor(this.now() / 1000),
    };
    this.channels.set(channel.id, channel);
    return channel;
  }

  mpimChannel(users: string[]): ChannelRecord {
    const members = new Set([...users, this.config.bot.userId]);
    const same = (c: ChannelRecord) =>
      c.isMpim && c.members?.size === members.size && [...members].every((m) => c.members?.has(m));
    const existing = [...this.channels.values()].find(same);
    if (existing) return existing;
    const channel: ChannelRecord = {
      id: this.nextId("G"),
      name: `mpdm-${users.join("--")}-1`,
      isPrivate: true,
      isIm: false,
      isMpim: true,
      members,
      botIsMember: true,
      isArchived: false,
      created: Math.floor(this.now() / 1000),
    };
    this.channels.set(channel.id, channel);
    return channel;
  }

  // ---- messages ----

  addMessage(
    channel: string,
    content: MessageVersion,
    author: { user: string; fromBot: boolean },
    thread?: { threadTs: string; broadcast: boolean },
  ): MessageRecord {
    const record: MessageRecord = {
      channel,
      ts: this.nextTs(),
      user: author.user,
      fromBot: author.fromBot,
      replyBroadcast: thread?.broadcast ?? false,
      replies: [],
      fileIds: [],
      versions: [normalise(content)],
      ...(thread ? { threadTs: thread.threadTs } : {}),
    };
    this.messages.set(`${channel}/${record.ts}`, record);
    // Like Slack, a thread_ts that names no message still stores the reply; it just has no visible parent.
    if (thread) this.messages.get(`${channel}/${thread.threadTs}`)?.replies.push(record);
    this.emit({
      kind: "message_posted",
      channel,
      ts: record.ts,
      ...(thread ? { threadTs: thread.threadTs } : {}),
    });
    return record;
  }

  findMessage(channel: string, ts: string): MessageRecord | undefined {
    return this.messages.get(`${channel}/${ts}`);
  }

  editMessage(record: MessageRecord, content: MessageVersion): void {
    record.versions.push(normalise(content));
    this.emit({ kind: "message_updated", ...this.messageKey(record) });
  }

  deleteMessage(record: MessageRecord): void {
    this.messages.delete(`${record.channel}/${record.ts}`);
    if (record.threadTs !== undefined) {
      const parent = this.messages.get(`${record.channel}/${record.threadTs}`);
      if (parent) parent.replies = parent.replies.filter((r) => r !== record);
    }
    this.emit({ kind: "message_deleted", ...this.messageKey(record) });
  }

  private messageKey(record: MessageRecord): { channel: string; ts: string; threadTs?: string } {
    return {
      channel: record.channel,
      ts: record.ts,
      ...(record.threadTs !== undefined ? { threadTs: record.threadTs } : {}),
    };
  }

  messageSnapshot(record: MessageRecord): StoredMessage {
    const latest = record.replies.at(-1);
    return {
      ...structuredClone(current(record.versions)),
      channel: record.channel,
      ts: record.ts,
      user: record.user,
      fromBot: record.fromBot,
      ...(record.threadTs !== undefined ? { threadTs: record.threadTs } : {}),
      replyBroadcast: record.replyBroadcast,
      replyCount: record.replies.length,
      replyUsers: [...new Set(record.replies.map((r) => r.user))],
      ...(latest ? { latestReply: latest.ts } : {}),
      fileIds: [...record.fileIds],
      versions: structuredClone(record.versions),
    };
  }

  /** Top-level messages plus replies broadcast to the channel, oldest first. */
  channelMessages(channel: string): MessageRecord[] {
    return [...this.messages.values()].filter(
      (m) => m.channel === channel && (m.threadTs === undefined || m.replyBroadcast),
    );
  }

  /** Replies under a parent ts (the parent itself excluded), oldest first. */
  threadReplies(channel: string, threadTs: string): MessageRecord[] {
    return [...this.messages.values()].filter((m) => m.channel === channel && m.threadTs === threadTs);
  }

  /** A message as the Web API and interaction payloads show it. */
  toSlackMessage(record: MessageRecord): JsonObject {
    const content = current(record.versions);
    const { bot, team } = this.config;
    const latest = record.replies.at(-1);
    return {
      type: "message",
      ...(record.threadTs !== undefined && record.replyBroadcast ? { subtype: "thread_broadcast" } : {}),
      user: record.user,
      ...(record.fromBot ? { bot_id: bot.botId, app_id: bot.appId } : {}),
      text: content.text,
      ts: record.ts,
      team: team.id,
      ...(content.blocks ? { blocks: structuredClone(content.blocks) } : {}),
      ...(content.attachments ? { attachments: structuredClone(content.attachments) } : {}),
      ...(content.metadata ? { metadata: structuredClone(content.metadata) } : {}),
      ...(record.fileIds.length > 0
        ? {
            files: record.fileIds.flatMap((id) => {
              const file = this.files.get(id);
              return file ? [this.toSlackFile(file)] : [];
            }),
            upload: true,
          }
        : {}),
      ...(record.threadTs !== undefined
        ? { thread_ts: record.threadTs, parent_user_id: this.parentUser(record) }
        : {}),
      ...(latest
        ? {
            thread_ts: record.ts,
            reply_count: record.replies.length,
            reply_users_count: new Set(record.replies.map((r) => r.user)).size,
            reply_users: [...new Set(record.replies.map((r) => r.user))],
            latest_reply: latest.ts,
          }
        : {}),
    };
  }

  private parentUser(record: MessageRecord): string | undefined {
    return record.threadTs === undefined
      ? undefined
      : this.messages.get(`${record.channel}/${record.threadTs}`)?.user;
  }

  // ---- ephemeral messages ----

  addEphemeral(
    channel: string,
    user: string,
    content: MessageVersion,
    source: EphemeralSource,
    threadTs?: string,
  ): EphemeralRecord {
    const record: EphemeralRecord = {
      channel,
      user,
      ts: this.nextTs(),
      source,
      versions: [normalise(content)],
      deleted: false,
      ...(threadTs !== undefined ? { threadTs } : {}),
    };
    this.ephemeralRecords.push(record);
    this.emit({
      kind: "ephemeral_posted",
      channel,
      user,
      ts: record.ts,
      ...(threadTs !== undefined ? { threadTs } : {}),
    });
    return record;
  }

  findEphemeral(user: string, ts: string): EphemeralRecord | undefined {
    return this.ephemeralRecords.find((e) => e.user === user && e.ts === ts && !e.deleted);
  }

  editEphemeral(record: EphemeralRecord, content: MessageVersion): void {
    record.versions.push(normalise(content));
    this.emit({ kind: "ephemeral_updated", channel: record.channel, user: record.user, ts: record.ts });
  }

  deleteEphemeral(record: EphemeralRecord): void {
    record.deleted = true;
    this.emit({ kind: "ephemeral_deleted", channel: record.channel, user: record.user, ts: record.ts });
  }

  ephemerals(user: string): EphemeralMessage[] {
    return this.ephemeralRecords
      .filter((e) => e.user === user && !e.deleted)
      .map((e) => ({
        ...structuredClone(current(e.versions)),
        channel: e.channel,
        user: e.user,
        ts: e.ts,
        ...(e.threadTs !== undefined ? { threadTs: e.threadTs } : {}),
        source: e.source,
        versions: structuredClone(e.versions),
      }));
  }

  // ---- files ----

  createFile(
    name: string,
    declaredLength: number,
    altText?: string,
  ): { file: StoredFile; uploadKey: string } {
    const file: StoredFile = {
      id: this.nextId("F"),
      name,
      title: name,
      declaredLength,
      completed: false,
      ...(altText !== undefined ? { altText } : {}),
    };
    const uploadKey = randomBytes(12).toString("hex");
    this.files.set(file.id, file);
    this.uploadKeys.set(uploadKey, file.id);
    return { file, uploadKey };
  }

  fileByUploadKey(key: string): StoredFile | undefined {
    const id = this.uploadKeys.get(key);
    return id === undefined ? undefined : this.files.get(id);
  }

  file(id: string): StoredFile | undefined {
    return this.files.get(id);
  }

  allFiles(): StoredFile[] {
    return [...this.files.values()];
  }

  /** Shares completed files into a channel (or thread) through one message, as files.completeUploadExternal does. */
  shareFiles(
    files: StoredFile[],
    channel: ChannelRecord,
    content: MessageVersion,
    threadTs?: string,
    author: { user: string; fromBot: boolean } = { user: this.config.bot.userId, fromBot: true },
  ): MessageRecord {
    const message = this.addMessage(
      channel.id,
      content,
      author,
      threadTs !== undefined ? { threadTs, broadcast: false } : undefined,
    );
    message.fileIds = files.map((f) => f.id);
    for (const file of files) {
      file.channel = channel.id;
      file.messageTs = message.ts;
      if (threadTs !== undefined) file.threadTs = threadTs;
      if (content.text !== "") file.initialComment = content.text;
    }
    this.emit({
      kind: "files_shared",
      channel: channel.id,
      messageTs: message.ts,
      fileIds: [...message.fileIds],
      ...(threadTs !== undefined ? { threadTs } : {}),
    });
    return message;
  }

  toSlackFile(file: StoredFile): JsonObject {
    const created = Math.floor(this.now() / 1000);
    const share = file.messageTs
      ? [{ ts: file.messageTs, ...(file.threadTs !== undefined ? { thread_ts: file.threadTs } : {}) }]
      : undefined;
    const channel = file.channel === undefined ? undefined : this.channels.get(file.channel);
    return {
      id: file.id,
      created,
      timestamp: created,
      name: file.name,
      title: file.title,
      mimetype: mimetype(file.name),
      filetype: file.name.split(".").at(-1) ?? "binary",
      user: file.user ?? this.config.bot.userId,
      size: file.receivedSize ?? file.declaredLength,
      is_public: channel !== undefined && !channel.isPrivate,
      ...(file.altText !== undefined ? { alt_txt: file.altText } : {}),
      ...(channel && share
        ? { shares: { [channel.isPrivate ? "private" : "public"]: { [channel.id]: share } } }
        : {}),
    };
  }

  // ---- views and triggers ----

  issueTrigger(user: string): string {
    const id = `${Math.floor(this.now() / 1000)}.${randomInt(1e9)}.${randomBytes(16).toString("hex")}`;
    this.triggers.set(id, { user, issuedAt: this.now(), used: false });
    return id;
  }

  /** A trigger opens one view within 3 s; returns the user it was issued for. */
  consumeTrigger(id: string): string {
    const trigger = this.triggers.get(id);
    if (!trigger) throw new SlackApiError("invalid_trigger_id");
    if (this.now() - trigger.issuedAt > TRIGGER_TTL_MS) throw new SlackApiError("expired_trigger_id");
    if (trigger.used) throw new SlackApiError("trigger_exchanged");
    trigger.used = true;
    return trigger.user;
  }

  openView(user: string, definition: JsonObject, previous?: StoredView): StoredView {
    const id = this.nextId("V");
    const view: StoredView = {
      id,
      user,
      type: definition.type === "home" ? "home" : "modal",
      view: this.withViewIds(definition),
      hash: this.newHash(),
      rootViewId: previous?.rootViewId ?? id,
      open: true,
      versions: [],
      ...(previous ? { previousViewId: previous.id } : {}),
    };
    view.versions.push(structuredClone(view.view));
    this.viewRecords.set(id, view);
    this.emit({ kind: "view_opened", user, viewId: id, type: view.type });
    return view;
  }

  updateView(view: StoredView, definition: JsonObject): void {
    view.view = this.withViewIds(definition);
    view.hash = this.newHash();
    delete view.errors;
    view.versions.push(structuredClone(view.view));
    this.emit({ kind: "view_updated", user: view.user, viewId: view.id, type: view.type });
  }

  /** The modal leaves the user's screen (closed, submitted or cleared). */
  closeView(view: StoredView): void {
    if (!view.open) return;
    view.open = false;
    this.emit({ kind: "view_closed", user: view.user, viewId: view.id, type: view.type });
  }

  /** Field errors from a `response_action: "errors"` ack; the modal stays open. */
  setViewErrors(view: StoredView, errors: Record<string, string>): void {
    view.errors = errors;
    this.emit({ kind: "view_updated", user: view.user, viewId: view.id, type: view.type });
  }

  findView(id: string): StoredView | undefined {
    return this.viewRecords.get(id);
  }

  findViewByExternalId(externalId: string): StoredView | undefined {
    return [...this.viewRecords.values()].find((v) => v.view.external_id === externalId);
  }

  homeView(user: string): StoredView | undefined {
    return [...this.viewRecords.values()].find((v) => v.type === "home" && v.user === user);
  }

  viewsOf(user: string): StoredView[] {
    return [...this.viewRecords.values()].filter((v) => v.user === user).map((v) => structuredClone(v));
  }

  /** The open modals stacked on the same root, for `response_action: "clear"`. */
  viewStack(view: StoredView): StoredView[] {
    return [...this.viewRecords.values()].filter((v) => v.rootViewId === view.rootViewId && v.open);
  }

  toSlackView(view: StoredView, stateValues: JsonObject = {}): JsonObject {
    const { bot, team } = this.config;
    return {
      id: view.id,
      team_id: team.id,
      type: view.type,
      ...(view.view.title !== undefined ? { title: view.view.title } : {}),
      blocks: view.view.blocks ?? [],
      close: view.view.close ?? null,
      submit: view.view.submit ?? null,
      private_metadata: view.view.private_metadata ?? "",
      callback_id: view.view.callback_id ?? "",
      external_id: view.view.external_id ?? "",
      state: { values: stateValues },
      hash: view.hash,
      clear_on_close: view.view.clear_on_close ?? false,
      notify_on_close: view.view.notify_on_close ?? false,
      root_view_id: view.rootViewId,
      previous_view_id: view.previousViewId ?? null,
      app_id: bot.appId,
      app_installed_team_id: team.id,
      bot_id: bot.botId,
    };
  }

  private withViewIds(definition: JsonObject): JsonObject {
    const blocks = Array.isArray(definition.blocks) ? (definition.blocks as JsonObject[]) : [];
    return { ...structuredClone(definition), blocks: withGeneratedIds(blocks) };
  }

  private newHash(): string {
    return `${Math.floor(this.now() / 1000)}.${randomBytes(4).toString("hex")}`;
  }
}
