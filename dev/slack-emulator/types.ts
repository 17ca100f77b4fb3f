/** Public shapes of the Slack emulator: its configuration and the state snapshots tests read. */

export type JsonObject = Record<string, unknown>;

export interface TeamSpec {
  id: string;
  domain: string;
  name: string;
}

export interface BotSpec {
  userId: string;
  botId: string;
  appId: string;
  name: string;
}

export interface ChannelSpec {
  id: string;
  name: string;
  isPrivate?: boolean;
  /** Members who may see the channel; omitted means everyone (a public channel open to all users). */
  members?: string[];
  /** False makes chat.postMessage answer `not_in_channel`, as for a channel the bot was never invited to. */
  botIsMember?: boolean;
  isArchived?: boolean;
}

export interface UserSpec {
  id: string;
  name: string;
  realName?: string;
  email?: string;
  isAdmin?: boolean;
  isBot?: boolean;
  deleted?: boolean;
  tz?: string;
}

export interface UserGroupSpec {
  id: string;
  handle: string;
  name?: string;
  users: string[];
}

/** One version of a message's content; chat.update and replace_original append versions. */
export interface MessageVersion {
  text: string;
  blocks?: JsonObject[];
  attachments?: JsonObject[];
  metadata?: JsonObject;
}

export interface StoredMessage extends MessageVersion {
  channel: string;
  ts: string;
  /** Author: the bot's user ID for messages the app posted. */
  user: string;
  fromBot: boolean;
  /** Parent ts for thread replies; undefined for top-level messages. */
  threadTs?: string;
  replyBroadcast: boolean;
  replyCount: number;
  replyUsers: string[];
  latestReply?: string;
  fileIds: string[];
  /** Every version, oldest first; the last one is the current content. */
  versions: MessageVersion[];
}

export type EphemeralSource = "chat.postEphemeral" | "response_url" | "ack";

export interface EphemeralMessage extends MessageVersion {
  channel: string;
  /** The only user who sees it. */
  user: string;
  ts: string;
  threadTs?: string;
  source: EphemeralSource;
  versions: MessageVersion[];
}

export interface StoredFile {
  id: string;
  name: string;
  /** Who uploaded it: the bot's user ID unless a person shared it (postAsUser). */
  user?: string;
  title: string;
  altText?: string;
  /** Length announced to files.getUploadURLExternal. */
  declaredLength: number;
  /** Bytes received at the upload URL (undefined until then). */
  receivedSize?: number;
  /** SHA-256 (hex) of the bytes received. */
  sha256?: string;
  /** The bytes received, unless larger than the emulator's `keepFileBytes`. */
  bytes?: Buffer;
  /** Undefined until files.completeUploadExternal; the file is private to the bot until then. */
  channel?: string;
  threadTs?: string;
  messageTs?: string;
  initialComment?: string;
  completed: boolean;
}

export interface StoredView {
  id: string;
  user: string;
  type: "modal" | "home";
  /** The view definition as last set by views.open/update/publish or a response_action. */
  view: JsonObject;
  hash: string;
  rootViewId: string;
  previousViewId?: string;
  open: boolean;
  /** Field errors from the last `response_action: "errors"` ack. */
  errors?: Record<string, string>;
  versions: JsonObject[];
}

export interface RecordedCall {
  /** Web API method, or "upload_url" for a POST to a file upload URL. */
  method: string;
  args: JsonObject;
  token?: string;
  status: number;
  response: unknown;
  /** The fault that produced the response, when one was injected. */
  fault?: Fault["kind"];
  unknown: boolean;
  at: number;
}

export interface ResponseUrlPost {
  url: string;
  body: JsonObject;
  status: number;
  /** Slack's plain-text answer: "ok" or an error code such as `used_url`. */
  result: string;
  at: number;
}

/**
 * An injected failure for one Web API method (or "upload_url"). `times` defaults to 1; use Infinity for a
 * persistent fault. A delay is applied in addition to any other fault or the normal answer.
 */
export type Fault =
  | { kind: "rate_limited"; retryAfterSec: number; times?: number }
  | { kind: "http_error"; status: number; times?: number }
  | { kind: "slack_error"; error: string; times?: number }
  | { kind: "delay"; ms: number; times?: number };

/** A channel as the directory lists it (public, private, the bot's DMs and group DMs). */
export interface ChannelInfo {
  id: string;
  name: string;
  isPrivate: boolean;
  isIm: boolean;
  isMpim: boolean;
  /** The other person in a DM with the bot. */
  imUser?: string;
  /** Members who may see it; undefined means everyone. */
  members?: string[];
}

/** What the emulator delivered to the bot, and how the bot answered. */
export interface RecordedDelivery {
  /** "slash_command", "block_actions", "view_submission", "view_closed" or "event_callback". */
  type: string;
  /** The command's form fields, the interaction payload or the event envelope. */
  payload: JsonObject;
  /** HTTP status of the ack; 0 when the bot did not answer in time or could not be reached. */
  status: number;
  timedOut: boolean;
  /** The ack body. */
  body: string;
  /** Why the request failed outright (connection refused, aborted). */
  error?: string;
  /** "socket" for a Socket Mode envelope; "http" (or absent) for a signed HTTP POST. */
  transport?: "http" | "socket";
  envelopeId?: string;
  at: number;
}

/** The `type` of a Socket Mode envelope. */
export type SocketEnvelopeType = "slash_commands" | "interactive" | "events_api";

/** One message the bot sent back over a Socket Mode connection: an ack with its optional response payload. */
export interface SocketAck {
  envelopeId: string;
  connectionId: string;
  /** The envelope's type; absent when the envelope_id was never sent. */
  type?: SocketEnvelopeType;
  /** The ack's response payload (Bolt sends `{}` for an empty ack). */
  payload?: JsonObject;
  /** Came after the emulator stopped waiting (ackTimeoutMs): Slack shows the user an error by then. */
  late: boolean;
  /** A second ack for the same envelope. */
  duplicate: boolean;
  /** No envelope with this ID was sent. */
  unknown: boolean;
  at: number;
}

export interface SocketConnectionInfo {
  id: string;
  openedAt: number;
  open: boolean;
  closedAt?: number;
  /** The close code the client sent; 1006 when the connection dropped without a close frame. */
  closeCode?: number;
  closeReason?: string;
  /** WebSocket pings received from the client (each answered with a pong). */
  pings: number;
  /** Envelopes sent on this connection. */
  envelopes: number;
}

/**
 * One change of the emulated workspace, emitted in the order it happened (see SlackEmulator.onChange).
 * Listeners read the new state through the emulator's readers.
 */
export type EmulatorChange =
  | { kind: "message_posted"; channel: string; ts: string; threadTs?: string }
  | { kind: "message_updated"; channel: string; ts: string; threadTs?: string }
  | { kind: "message_deleted"; channel: string; ts: string; threadTs?: string }
  | { kind: "ephemeral_posted"; channel: string; user: string; ts: string; threadTs?: string }
  | { kind: "ephemeral_updated"; channel: string; user: string; ts: string }
  | { kind: "ephemeral_deleted"; channel: string; user: string; ts: string }
  | { kind: "files_shared"; channel: string; messageTs: string; fileIds: string[]; threadTs?: string }
  | { kind: "view_opened"; user: string; viewId: string; type: "modal" | "home" }
  | { kind: "view_updated"; user: string; viewId: string; type: "modal" | "home" }
  | { kind: "view_closed"; user: string; viewId: string; type: "modal" | "home" }
  /** Every Web API call (and upload URL post), also those that failed or changed nothing. */
  | { kind: "api_call"; method: string; ok: boolean; error?: string }
  /** A delivery to the bot finished (acked, refused or timed out). */
  | { kind: "delivery"; delivery: RecordedDelivery }
  /** A Socket Mode client connected (after hello) or its connection closed. */
  | { kind: "socket_connected"; connectionId: string }
  | { kind: "socket_closed"; connectionId: string; code: number; reason: string };
