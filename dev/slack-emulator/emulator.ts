import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../../src/domain/ports.js";
import { actionIds, findElement, inputSlots, isObject, validateView } from "./block-kit.js";
import { decodeJsonFields, SlackApiError } from "./content.js";
import {
  actionPayload,
  type DeliveryOptions,
  type DeliveryResult,
  deliver,
  stateValue,
  type ViewInput,
} from "./inbound.js";
import { applyMessageResponse, type ResponseTarget } from "./responses.js";
import { SocketModeHub } from "./socket-mode.js";
import { type ChannelRecord, Workspace } from "./state.js";
import type {
  BotSpec,
  ChannelInfo,
  ChannelSpec,
  EmulatorChange,
  EphemeralMessage,
  Fault,
  JsonObject,
  RecordedCall,
  RecordedDelivery,
  ResponseUrlPost,
  SocketAck,
  SocketConnectionInfo,
  SocketEnvelopeType,
  StoredFile,
  StoredMessage,
  StoredView,
  TeamSpec,
  UserGroupSpec,
  UserSpec,
} from "./types.js";
import { webApiHandler } from "./web-api.js";

export interface SlackEmulatorOptions {
  team?: Partial<TeamSpec>;
  bot?: Partial<BotSpec>;
  botToken?: string;
  /** The app-level token (xapp-) apps.connections.open accepts, for Socket Mode. */
  appToken?: string;
  signingSecret?: string;
  /** The deprecated `token` field Slack still puts in payloads. */
  verificationToken?: string;
  channels?: ChannelSpec[];
  users?: UserSpec[];
  userGroups?: UserGroupSpec[];
  /** The bot's endpoint for commands, interactions and events, e.g. http://127.0.0.1:3000/slack/events. */
  requestUrl?: string;
  /** How long Slack waits for an ack; default 3000 ms. */
  ackTimeoutMs?: number;
  /** Uploaded files larger than this keep only their size and SHA-256, not their bytes; default 16 MiB. */
  keepFileBytes?: number;
  /** How deliveries reach the bot; default "auto" (see SlackEmulator.transport). */
  transport?: DeliveryTransport;
  /**
   * Slack's clock (ms) for message ts, response_url and trigger_id expiry. Request signatures always use
   * real time, because the bot checks them against its own clock.
   */
  now?: () => number;
  logger?: Logger;
}

export interface SlashCommandResult extends DeliveryResult {
  responseUrl: string;
  triggerId: string;
  /** Slack's error code when the ack body was not a valid message (the user would see an error). */
  ackError?: string;
}

export interface InteractionResult extends DeliveryResult {
  responseUrl: string;
  triggerId: string;
  payload: JsonObject;
}

export interface ViewSubmissionResult extends DeliveryResult {
  payload: JsonObject;
  ackError?: string;
}

export interface ViewActionResult extends DeliveryResult {
  triggerId: string;
  payload: JsonObject;
}

export interface EventResult extends DeliveryResult {
  eventId: string;
  envelope: JsonObject;
}

/**
 * "http" POSTs signed requests to requestUrl; "socket" sends Socket Mode envelopes to a connected client;
 * "auto" uses Socket Mode while a client is connected and HTTP otherwise.
 */
export type DeliveryTransport = "auto" | "http" | "socket";

/** The Web API method a Socket Mode client calls (with the app-level token) for its WebSocket URL. */
export const CONNECTIONS_OPEN = "apps.connections.open";

const ENVELOPE_TYPES: Record<string, SocketEnvelopeType> = {
  slash_command: "slash_commands",
  event_callback: "events_api",
};

/** Pseudo-method naming the file upload URL, for faults and recorded calls. */
export const UPLOAD_URL_TARGET = "upload_url";

/** Slack's response_url limits: 5 uses within 30 minutes. */
const RESPONSE_URL_MAX_USES = 5;
const RESPONSE_URL_TTL_MS = 30 * 60 * 1000;

const DEFAULT_CHANNELS: ChannelSpec[] = [
  { id: "C0GENERAL", name: "general" },
  { id: "C0SECURITY", name: "security" },
];
const DEFAULT_USERS: UserSpec[] = [
  { id: "U0ALICE", name: "alice", realName: "Alice Admin", email: "alice@example.test" },
  { id: "U0BOB", name: "bob", realName: "Bob Builder", email: "bob@example.test" },
];
const DEFAULT_GROUPS: UserGroupSpec[] = [{ id: "S0APPROVERS", handle: "approvers", users: ["U0ALICE"] }];

interface ResponseUrlRecord {
  target: ResponseTarget;
  createdAt: number;
  uses: number;
}

interface ParsedBody {
  fields: JsonObject;
  files: Buffer[];
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** A raw request body as a stream: its size and SHA-256, and its bytes only while they fit in `keep`. */
async function receiveStream(
  req: IncomingMessage,
  keep: number,
): Promise<{ size: number; sha256: string; bytes?: Buffer }> {
  const hash = createHash("sha256");
  let size = 0;
  let chunks: Buffer[] | undefined = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    if (chunks && size <= keep) chunks.push(chunk);
    else chunks = undefined;
  }
  return { size, sha256: hash.digest("hex"), ...(chunks ? { bytes: Buffer.concat(chunks) } : {}) };
}

/** Form, JSON or multipart bodies; throws on malformed JSON. */
async function parseBody(raw: Buffer, contentType = ""): Promise<ParsedBody> {
  const type = contentType.split(";")[0]?.trim().toLowerCase();
  if (raw.length === 0) return { fields: {}, files: [] };
  if (type === "application/json") {
    const parsed: unknown = JSON.parse(raw.toString("utf8"));
    if (!isObject(parsed)) throw new SyntaxError("JSON body must be an object");
    return { fields: parsed, files: [] };
  }
  if (type === "multipart/form-data") {
    const form = await new Response(new Uint8Array(raw), {
      headers: { "content-type": contentType },
    }).formData();
    const parsed: ParsedBody = { fields: {}, files: [] };
    for (const [key, value] of form) {
      if (typeof value === "string") parsed.fields[key] = value;
      else parsed.files.push(Buffer.from(await value.arrayBuffer()));
    }
    return parsed;
  }
  return { fields: Object.fromEntries(new URLSearchParams(raw.toString("utf8"))), files: [] };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const json = typeof body !== "string";
  res.writeHead(status, {
    "content-type": json ? "application/json; charset=utf-8" : "text/plain; charset=utf-8",
    ...headers,
  });
  res.end(json ? JSON.stringify(body) : body);
}

/**
 * A local stand-in for Slack on 127.0.0.1: the Web API under /api/<method>, file upload URLs and
 * response_urls, plus deliveries of slash commands, clicks, view submissions and events to the bot:
 * signed HTTP POSTs to requestUrl, or Socket Mode envelopes once the bot has connected with the app
 * token (apps.connections.open hands out ws:// URLs on this same server; see `transport`).
 */
export class SlackEmulator {
  /** Base URL, e.g. http://127.0.0.1:54321. */
  readonly url: string;
  /** For WebClient's `slackApiUrl` (with the trailing slash it expects). */
  readonly apiUrl: string;
  readonly botToken: string;
  readonly appToken: string;
  readonly signingSecret: string;
  readonly verificationToken: string;
  readonly team: TeamSpec;
  readonly bot: BotSpec;
  requestUrl: string | undefined;
  /** How deliveries reach the bot; a delivery's own `requestUrl` option always means HTTP. */
  transport: DeliveryTransport;

  private readonly ws: Workspace;
  private readonly socketMode: SocketModeHub;
  private readonly recorded: RecordedCall[] = [];
  private readonly faults = new Map<string, Array<{ fault: Fault; remaining: number }>>();
  private readonly responseUrls = new Map<string, ResponseUrlRecord>();
  private readonly responsePosts: ResponseUrlPost[] = [];
  private readonly deliveryLog: RecordedDelivery[] = [];
  private readonly listeners = new Set<(change: EmulatorChange) => void>();
  private readonly closing = new AbortController();
  private readonly ackTimeoutMs: number;
  private readonly keepFileBytes: number;
  private readonly now: () => number;
  private readonly logger: Logger | undefined;

  private constructor(
    private readonly server: Server,
    url: string,
    options: SlackEmulatorOptions,
  ) {
    this.url = url;
    this.apiUrl = `${url}/api/`;
    this.botToken = options.botToken ?? "xoxb-0000000000-emulator-bot-token";
    this.appToken = options.appToken ?? "xapp-1-A0CRASHTEST-0000000000-emulator-app-token";
    this.signingSecret = options.signingSecret ?? "emulator-signing-secret";
    this.verificationToken = options.verificationToken ?? "emulator-verification-token";
    this.team = { id: "T0EMULATOR", domain: "crashtest-dev", name: "Crashtest Dev", ...options.team };
    this.bot = {
      userId: "U0CRASHBOT",
      botId: "B0CRASHBOT",
      appId: "A0CRASHTEST",
      name: "crashtest",
      ...options.bot,
    };
    this.requestUrl = options.requestUrl;
    this.transport = options.transport ?? "auto";
    this.ackTimeoutMs = options.ackTimeoutMs ?? 3000;
    this.keepFileBytes = options.keepFileBytes ?? 16 * 1024 * 1024;
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    this.ws = new Workspace(
      {
        team: this.team,
        bot: this.bot,
        channels: options.channels ?? DEFAULT_CHANNELS,
        users: options.users ?? DEFAULT_USERS,
        userGroups: options.userGroups ?? DEFAULT_GROUPS,
      },
      this.now,
    );
    this.ws.onChange = (change) => this.emit(change);
    this.socketMode = new SocketModeHub({
      appId: this.bot.appId,
      now: this.now,
      logger: this.logger,
      onEvent: (event) => this.emit(event),
    });
  }

  /**
   * Calls `listener` after every change, in order: messages posted/updated/deleted, ephemerals, shared
   * files, views opened/updated/closed, plus every Web API call and every delivery to the bot. Read the
   * new state through the readers below. Returns a function that removes the listener.
   */
  onChange(listener: (change: EmulatorChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: EmulatorChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.logger?.error("slack emulator: change listener failed", { error });
      }
    }
  }

  static async start(options: SlackEmulatorOptions = {}): Promise<SlackEmulator> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const emulator = new SlackEmulator(server, `http://127.0.0.1:${port}`, options);
    server.on("request", (req, res) => {
      emulator.route(req, res).catch((error: unknown) => {
        if (emulator.closing.signal.aborted) return void res.destroy();
        emulator.logger?.error("slack emulator: request failed", { error });
        if (!res.headersSent) send(res, 500, String(error));
        else res.destroy();
      });
    });
    server.on("upgrade", (req, socket, head) => emulator.socketMode.upgrade(req, socket, head));
    return emulator;
  }

  /** Closes every connection, cancels delayed answers and deliveries in flight. */
  async close(): Promise<void> {
    this.closing.abort();
    this.socketMode.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- fault injection ----

  /** Queues a fault for a Web API method or UPLOAD_URL_TARGET; faults apply in the order injected. */
  injectFault(target: string, fault: Fault): void {
    if (target === UPLOAD_URL_TARGET && fault.kind === "slack_error") {
      throw new Error("the upload URL answers HTTP statuses, not Slack errors; use http_error");
    }
    const list = this.faults.get(target) ?? [];
    list.push({ fault, remaining: fault.times ?? 1 });
    this.faults.set(target, list);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  private takeFault(target: string, delay: boolean): Fault | undefined {
    const list = this.faults.get(target) ?? [];
    const entry = list.find((e) => (e.fault.kind === "delay") === delay && e.remaining > 0);
    if (!entry) return undefined;
    entry.remaining -= 1;
    return entry.fault;
  }

  /** Applies a pending delay, then answers with a pending failure if there is one. */
  private async faultResponse(
    target: string,
  ): Promise<
    { status: number; body: unknown; headers: Record<string, string>; kind: Fault["kind"] } | undefined
  > {
    const delay = this.takeFault(target, true);
    if (delay?.kind === "delay") await sleep(delay.ms, undefined, { signal: this.closing.signal });
    const fault = this.takeFault(target, false);
    switch (fault?.kind) {
      case "rate_limited":
        return {
          status: 429,
          body: { ok: false, error: "ratelimited" },
          headers: { "retry-after": String(fault.retryAfterSec) },
          kind: fault.kind,
        };
      case "http_error":
        return { status: fault.status, body: `emulated HTTP ${fault.status}`, headers: {}, kind: fault.kind };
      case "slack_error":
        return { status: 200, body: { ok: false, error: fault.error }, headers: {}, kind: fault.kind };
      default:
        return undefined;
    }
  }

  // ---- HTTP routing ----

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const [, kind, ...rest] = url.pathname.split("/");
    if (kind === "api" && rest.length === 1)
      return this.handleApi(req, res, decodeURIComponent(rest[0] ?? ""), url);
    if (kind === "upload" && rest[0] === "v1" && rest.length === 2)
      return this.handleUpload(req, res, rest[1] ?? "");
    if (kind === "response" && rest.length === 1) return this.handleResponseUrl(req, res, rest[0] ?? "");
    send(res, 404, "not_found");
  }

  private record(call: Omit<RecordedCall, "at">): void {
    this.recorded.push({ ...call, at: this.now() });
    const error = isObject(call.response) ? call.response.error : undefined;
    const ok = call.status === 200 && (!isObject(call.response) || call.response.ok !== false);
    this.emit({
      kind: "api_call",
      method: call.method,
      ok,
      ...(typeof error === "string" ? { error } : !ok ? { error: `HTTP ${call.status}` } : {}),
    });
    if (call.unknown) this.logger?.warn("slack emulator: unknown method", { method: call.method });
    else this.logger?.debug("slack emulator: call", { method: call.method, status: call.status, error });
  }

  private async handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    url: URL,
  ): Promise<void> {
    const raw = await readBody(req);
    let args: JsonObject;
    try {
      const { fields } = await parseBody(raw, req.headers["content-type"]);
      args = decodeJsonFields({ ...Object.fromEntries(url.searchParams), ...fields });
    } catch {
      const response = { ok: false, error: "invalid_json" };
      this.record({ method, args: {}, status: 200, response, unknown: false });
      return send(res, 200, response);
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const token = bearer ?? (typeof args.token === "string" ? args.token : undefined);
    delete args.token;
    const handler = webApiHandler(method);
    const connectionsOpen = method === CONNECTIONS_OPEN;
    const base = {
      method,
      args,
      ...(token !== undefined ? { token } : {}),
      unknown: handler === undefined && !connectionsOpen,
    };

    const fault = await this.faultResponse(method);
    if (fault) {
      this.record({ ...base, status: fault.status, response: fault.body, fault: fault.kind });
      return send(res, fault.status, fault.body, fault.headers);
    }
    let response: JsonObject;
    if (connectionsOpen) response = this.connectionsOpen(token);
    else if (!handler) response = { ok: false, error: "unknown_method", req_method: method };
    else if (token === undefined || token === "") response = { ok: false, error: "not_authed" };
    // Slack refuses app-level tokens outside apps.connections.* (and bot tokens there).
    else if (token === this.appToken) response = { ok: false, error: "not_allowed_token_type" };
    else if (token !== this.botToken) response = { ok: false, error: "invalid_auth" };
    else {
      try {
        response = { ok: true, ...handler(this.ws, args, this.url) };
      } catch (error) {
        if (!(error instanceof SlackApiError)) throw error;
        response = { ok: false, error: error.code, ...error.extra };
      }
    }
    this.record({ ...base, status: 200, response });
    send(res, 200, response);
  }

  /** apps.connections.open: a one-time ws:// URL on this server, for the app-level token only. */
  private connectionsOpen(token: string | undefined): JsonObject {
    if (token === undefined || token === "") return { ok: false, error: "not_authed" };
    if (token === this.appToken) return { ok: true, url: this.socketMode.issueUrl(this.url) };
    if (/^xox[bpa]-/.test(token)) return { ok: false, error: "not_allowed_token_type" };
    return { ok: false, error: "invalid_auth" };
  }

  /**
   * Accepts the raw bytes, or the first file part of a multipart body (what WebClient sends). Raw bytes
   * are read as a stream: counted and hashed, and kept only up to `keepFileBytes`, so a large upload
   * costs the emulator no more memory than it costs the bot.
   */
  private async handleUpload(req: IncomingMessage, res: ServerResponse, key: string): Promise<void> {
    const file = this.ws.fileByUploadKey(key);
    const base = { method: UPLOAD_URL_TARGET, args: { file_id: file?.id ?? null }, unknown: false };
    const contentType = req.headers["content-type"] ?? "";
    const multipart = contentType.startsWith("multipart/form-data");
    const received = multipart ? undefined : await receiveStream(req, this.keepFileBytes);
    const raw = multipart ? await readBody(req) : undefined;
    const fault = await this.faultResponse(UPLOAD_URL_TARGET);
    if (fault) {
      this.record({ ...base, status: fault.status, response: fault.body, fault: fault.kind });
      return send(res, fault.status, fault.body, fault.headers);
    }
    if (!file || file.completed || req.method !== "POST") {
      this.record({ ...base, status: 404, response: "not_found" });
      return send(res, 404, "not_found");
    }
    const bytes = raw ? (await parseBody(raw, contentType)).files[0] : undefined;
    const upload = bytes
      ? { size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex"), bytes }
      : received;
    if (!upload || upload.size === 0) {
      this.record({ ...base, status: 400, response: "no_file_data" });
      return send(res, 400, "no_file_data");
    }
    file.receivedSize = upload.size;
    file.sha256 = upload.sha256;
    if (upload.bytes) file.bytes = upload.bytes;
    else delete file.bytes;
    const answer = `OK - ${upload.size}`;
    this.record({
      ...base,
      args: { file_id: file.id, filename: file.name, size: upload.size },
      status: 200,
      response: answer,
    });
    send(res, 200, answer);
  }

  private newResponseUrl(target: ResponseTarget): string {
    const id = randomBytes(16).toString("hex");
    this.responseUrls.set(id, { target, createdAt: this.now(), uses: 0 });
    return `${this.url}/response/${id}`;
  }

  /** Slack answers response_url posts in plain text: "ok" or an error code. */
  private async handleResponseUrl(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const raw = await readBody(req);
    const url = `${this.url}/response/${id}`;
    const answer = (status: number, result: string, body: JsonObject) => {
      this.responsePosts.push({ url, body, status, result, at: this.now() });
      send(res, status, result);
    };
    let body: JsonObject;
    try {
      const { fields } = await parseBody(raw, req.headers["content-type"]);
      // Webhook-style form posts carry the message as a JSON `payload` field.
      const payload = typeof fields.payload === "string" ? JSON.parse(fields.payload) : fields;
      if (!isObject(payload)) throw new SyntaxError("payload must be an object");
      body = decodeJsonFields(payload);
    } catch {
      return answer(400, "invalid_payload", {});
    }
    const record = this.responseUrls.get(id);
    if (!record) return answer(404, "no_service", body);
    if (this.now() - record.createdAt > RESPONSE_URL_TTL_MS) return answer(404, "expired_url", body);
    if (record.uses >= RESPONSE_URL_MAX_USES) return answer(404, "used_url", body);
    try {
      applyMessageResponse(this.ws, record.target, body, "response_url");
    } catch (error) {
      if (!(error instanceof SlackApiError)) throw error;
      return answer(400, error.code, body);
    }
    record.uses += 1;
    answer(200, "ok", body);
  }

  // ---- deliveries to the bot ----

  private async deliverToBot(
    contentType: string,
    body: string,
    options: DeliveryOptions,
    what: { type: string; payload: JsonObject },
  ): Promise<DeliveryResult> {
    const socket = this.usesSocket(options);
    const url = options.requestUrl ?? this.requestUrl;
    if (!socket && url === undefined)
      throw new Error(
        "SlackEmulator: set requestUrl (the bot's endpoint) first, or connect over Socket Mode",
      );
    const transport = socket ? "socket" : "http";
    const log = (entry: Omit<RecordedDelivery, "type" | "payload" | "at" | "transport">) => {
      const delivery: RecordedDelivery = { ...what, ...entry, transport, at: this.now() };
      this.deliveryLog.push(delivery);
      this.emit({ kind: "delivery", delivery: structuredClone(delivery) });
    };
    try {
      const result = socket
        ? await this.socketMode.deliver({
            type: ENVELOPE_TYPES[what.type] ?? "interactive",
            payload: what.payload,
            options,
            timeoutMs: this.ackTimeoutMs,
            signal: this.closing.signal,
          })
        : {
            ...(await deliver({
              url: url ?? "",
              contentType,
              body,
              signingSecret: this.signingSecret,
              options,
              timeoutMs: this.ackTimeoutMs,
              signal: this.closing.signal,
            })),
            transport: "http" as const,
          };
      log({
        status: result.status,
        timedOut: result.timedOut,
        body: result.body,
        ...(result.envelopeId !== undefined ? { envelopeId: result.envelopeId } : {}),
      });
      return result;
    } catch (error) {
      log({
        status: 0,
        timedOut: false,
        body: "",
        error: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
  }

  private usesSocket(options: DeliveryOptions): boolean {
    if (options.requestUrl !== undefined) return false;
    return this.transport === "socket" || (this.transport === "auto" && this.socketMode.connected);
  }

  // ---- Socket Mode ----

  /** True while a Socket Mode client is connected (it got its hello). */
  get socketConnected(): boolean {
    return this.socketMode.connected;
  }

  /** Resolves once a Socket Mode client is connected; rejects after timeoutMs (default ackTimeoutMs). */
  waitForSocket(timeoutMs = this.ackTimeoutMs): Promise<void> {
    return this.socketMode.waitForConnection(timeoutMs, this.closing.signal);
  }

  /** Every Socket Mode connection so far, open or closed, oldest first. */
  socketConnections(): SocketConnectionInfo[] {
    return this.socketMode.connectionsInfo();
  }

  /** Every message the bot sent back over Socket Mode (acks with their response payloads), in order. */
  socketAcks(): SocketAck[] {
    return this.socketMode.acks();
  }

  /**
   * Sends Slack's `{"type":"disconnect","reason":...}` to every open connection, as Slack does before it
   * recycles one (`refresh_requested`, `warning`, `too_many_websockets`). Returns how many got it.
   */
  requestSocketDisconnect(reason = "refresh_requested"): number {
    return this.socketMode.requestDisconnect(reason);
  }

  /** Drops every Socket Mode connection without a close frame, like a network failure. */
  dropSockets(): number {
    return this.socketMode.drop();
  }

  /** Sends a WebSocket ping on every open connection, as Slack's servers do periodically. */
  pingSockets(): void {
    this.socketMode.ping();
  }

  private channelOrThrow(ref: string): ChannelRecord {
    const channel = this.ws.findChannel(ref);
    if (!channel) throw new Error(`SlackEmulator: unknown channel ${ref}`);
    return channel;
  }

  /** Slack only delivers commands and clicks from people who can see the channel. */
  private visibleChannel(ref: string, user: UserSpec): ChannelRecord {
    const channel = this.channelOrThrow(ref);
    if (!this.ws.canSee(channel, user.id))
      throw new Error(`SlackEmulator: ${user.id} is not in ${channel.id}`);
    return channel;
  }

  private userOrThrow(id: string): UserSpec {
    const user = this.ws.user(id);
    if (!user) throw new Error(`SlackEmulator: unknown user ${id}`);
    return user;
  }

  private payloadUser(user: UserSpec): JsonObject {
    return { id: user.id, username: user.name, name: user.name, team_id: this.team.id };
  }

  private interactionBody(payload: JsonObject): string {
    return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  }

  /** A slash command typed in a channel; a non-empty ack body is shown to the user like a response. */
  async slashCommand(
    input: { user: string; channel: string; text?: string; command?: string } & DeliveryOptions,
  ): Promise<SlashCommandResult> {
    const user = this.userOrThrow(input.user);
    const channel = this.visibleChannel(input.channel, user);
    const responseUrl = this.newResponseUrl({ channel: channel.id, user: user.id });
    const triggerId = this.ws.issueTrigger(user.id);
    const body = new URLSearchParams({
      token: this.verificationToken,
      team_id: this.team.id,
      team_domain: this.team.domain,
      channel_id: channel.id,
      channel_name: channel.isIm ? "directmessage" : channel.name,
      user_id: user.id,
      user_name: user.name,
      command: input.command ?? "/crashtest",
      text: input.text ?? "",
      api_app_id: this.bot.appId,
      is_enterprise_install: "false",
      response_url: responseUrl,
      trigger_id: triggerId,
    }).toString();
    const result = await this.deliverToBot("application/x-www-form-urlencoded", body, input, {
      type: "slash_command",
      payload: Object.fromEntries(new URLSearchParams(body)),
    });
    const ackError =
      result.status === 200 && result.body !== ""
        ? this.applyAck(
            { channel: channel.id, user: user.id },
            isObject(result.json) ? result.json : { text: result.body },
          )
        : undefined;
    return { ...result, responseUrl, triggerId, ...(ackError !== undefined ? { ackError } : {}) };
  }

  private applyAck(target: ResponseTarget, body: JsonObject): string | undefined {
    try {
      applyMessageResponse(this.ws, target, body, "ack");
      return undefined;
    } catch (error) {
      if (error instanceof SlackApiError) return error.code;
      throw error;
    }
  }

  /**
   * A button (or select) click on a stored message, or on one of the user's ephemeral messages. `message`
   * and `container` come from the store; `version` picks an older version of the message, as a client that
   * has not refreshed yet would send; `blockId` picks among equal action_ids in different blocks (a block_id
   * the message lacks is sent as given, a forged payload), `value` overrides what the element holds.
   */
  async click(
    input: {
      user: string;
      channel: string;
      messageTs: string;
      actionId: string;
      value?: string;
      blockId?: string;
      version?: number;
    } & DeliveryOptions,
  ): Promise<InteractionResult> {
    const user = this.userOrThrow(input.user);
    const channel = this.visibleChannel(input.channel, user);
    const message = this.ws.findMessage(channel.id, input.messageTs);
    const ephemeral = message ? undefined : this.ws.findEphemeral(user.id, input.messageTs);
    const source = message ?? ephemeral;
    if (!source)
      throw new Error(`SlackEmulator: no message ${input.messageTs} in ${channel.id} for ${user.id}`);
    const version = source.versions[input.version ?? source.versions.length - 1];
    if (!version)
      throw new Error(`SlackEmulator: message ${input.messageTs} has no version ${input.version}`);
    const blocks = version.blocks ?? [];
    const slot = findElement(blocks, input.actionId, input.blockId);
    if (!slot) {
      throw new Error(
        `SlackEmulator: no action_id ${input.actionId} in the message (has: ${actionIds(blocks).join(", ")})`,
      );
    }
    const responseUrl = this.newResponseUrl({
      channel: channel.id,
      user: user.id,
      original: { kind: message ? "message" : "ephemeral", ts: input.messageTs },
    });
    const triggerId = this.ws.issueTrigger(user.id);
    const threadTs = source.threadTs;
    const payload: JsonObject = {
      type: "block_actions",
      user: this.payloadUser(user),
      api_app_id: this.bot.appId,
      token: this.verificationToken,
      container: {
        type: "message",
        message_ts: input.messageTs,
        channel_id: channel.id,
        is_ephemeral: !message,
        ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
      },
      trigger_id: triggerId,
      team: { id: this.team.id, domain: this.team.domain },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: channel.id, name: channel.isIm ? "directmessage" : channel.name },
      // Slack leaves `message` out for ephemeral messages.
      ...(message ? { message: this.messageAsSeen(this.ws.toSlackMessage(message), version) } : {}),
      state: { values: {} },
      response_url: responseUrl,
      actions: [actionPayload(slot.element, input.blockId ?? slot.blockId, input.value, this.ws.nextTs())],
    };
    const result = await this.deliverToBot(
      "application/x-www-form-urlencoded",
      this.interactionBody(payload),
      input,
      { type: "block_actions", payload },
    );
    return { ...result, responseUrl, triggerId, payload };
  }

  /**
   * Sends an interaction payload again, byte for byte, as Slack does when it retries a delivery it thinks
   * failed (same action_ts; pass `retryNum`/`retryReason` for the retry headers).
   */
  async redeliver(previous: { payload: JsonObject }, options: DeliveryOptions = {}): Promise<DeliveryResult> {
    const payload = structuredClone(previous.payload);
    return this.deliverToBot("application/x-www-form-urlencoded", this.interactionBody(payload), options, {
      type: String(payload.type),
      payload,
    });
  }

  private messageAsSeen(message: JsonObject, version: StoredMessage["versions"][number]): JsonObject {
    const { blocks: _b, attachments: _a, metadata: _m, ...rest } = message;
    return { ...rest, ...structuredClone(version) };
  }

  /**
   * Submits an open modal. `values[block_id][action_id]` is what the user entered (a string, strings for
   * multi-selects, or Slack's raw state shape); inputs left out are sent empty, as Slack does. The ack's
   * response_action is applied: errors (stays open), update, push, clear; an empty ack closes the view.
   */
  async submitView(
    input: {
      user: string;
      viewId: string;
      values?: Record<string, Record<string, ViewInput>>;
    } & DeliveryOptions,
  ): Promise<ViewSubmissionResult> {
    const user = this.userOrThrow(input.user);
    const view = this.ws.findView(input.viewId);
    if (view?.type !== "modal" || !view.open || view.user !== user.id) {
      throw new Error(`SlackEmulator: no open modal ${input.viewId} for ${user.id}`);
    }
    const values = this.viewState(view, input.values);
    const payload: JsonObject = {
      type: "view_submission",
      team: { id: this.team.id, domain: this.team.domain },
      user: this.payloadUser(user),
      api_app_id: this.bot.appId,
      token: this.verificationToken,
      trigger_id: this.ws.issueTrigger(user.id),
      view: this.ws.toSlackView(view, values),
      response_urls: [],
      enterprise: null,
      is_enterprise_install: false,
    };
    const result = await this.deliverToBot(
      "application/x-www-form-urlencoded",
      this.interactionBody(payload),
      input,
      { type: "view_submission", payload },
    );
    const ackError = result.status === 200 ? this.applyViewAck(view, result) : undefined;
    return { ...result, payload, ...(ackError !== undefined ? { ackError } : {}) };
  }

  /** `view.state.values` for what the user entered; inputs left out are empty. */
  private viewState(
    view: StoredView,
    entered: Record<string, Record<string, ViewInput>> | undefined,
  ): Record<string, JsonObject> {
    const slots = inputSlots(Array.isArray(view.view.blocks) ? (view.view.blocks as JsonObject[]) : []);
    for (const blockId of Object.keys(entered ?? {})) {
      if (!slots.some((s) => s.blockId === blockId))
        throw new Error(`SlackEmulator: no input block ${blockId}`);
    }
    const values: Record<string, JsonObject> = {};
    for (const { blockId, element } of slots) {
      const actionId = String(element.action_id);
      values[blockId] = {
        ...values[blockId],
        [actionId]: stateValue(element, entered?.[blockId]?.[actionId]),
      };
    }
    return values;
  }

  /**
   * A button (or select) click inside a view: the user's Home tab or one of their open modals. `values`
   * is what the modal's inputs hold at that moment, as for submitView. Views carry no response_url.
   */
  async clickInView(
    input: {
      user: string;
      viewId: string;
      actionId: string;
      /** Picks among elements with the same action_id in different blocks. */
      blockId?: string;
      value?: string;
      values?: Record<string, Record<string, ViewInput>>;
    } & DeliveryOptions,
  ): Promise<ViewActionResult> {
    const user = this.userOrThrow(input.user);
    const view = this.ws.findView(input.viewId);
    if (!view || view.user !== user.id || (view.type === "modal" && !view.open)) {
      throw new Error(`SlackEmulator: no view ${input.viewId} on ${user.id}'s screen`);
    }
    const blocks = Array.isArray(view.view.blocks) ? (view.view.blocks as JsonObject[]) : [];
    const slot = findElement(blocks, input.actionId, input.blockId);
    if (!slot) {
      throw new Error(
        `SlackEmulator: no action_id ${input.actionId} in the view (has: ${actionIds(blocks).join(", ")})`,
      );
    }
    const triggerId = this.ws.issueTrigger(user.id);
    const payload: JsonObject = {
      type: "block_actions",
      user: this.payloadUser(user),
      api_app_id: this.bot.appId,
      token: this.verificationToken,
      container: { type: "view", view_id: view.id },
      trigger_id: triggerId,
      team: { id: this.team.id, domain: this.team.domain },
      enterprise: null,
      is_enterprise_install: false,
      view: this.ws.toSlackView(view, view.type === "modal" ? this.viewState(view, input.values) : {}),
      actions: [actionPayload(slot.element, slot.blockId, input.value, this.ws.nextTs())],
    };
    const result = await this.deliverToBot(
      "application/x-www-form-urlencoded",
      this.interactionBody(payload),
      input,
      { type: "block_actions", payload },
    );
    return { ...result, triggerId, payload };
  }

  /**
   * The user dismisses an open modal (its close button). With `clear_on_close` the whole stack closes;
   * with `notify_on_close` the bot gets a view_closed payload, whose delivery result is returned.
   */
  async closeView(
    input: { user: string; viewId: string } & DeliveryOptions,
  ): Promise<DeliveryResult | undefined> {
    const user = this.userOrThrow(input.user);
    const view = this.ws.findView(input.viewId);
    if (view?.type !== "modal" || !view.open || view.user !== user.id) {
      throw new Error(`SlackEmulator: no open modal ${input.viewId} for ${user.id}`);
    }
    const cleared = view.view.clear_on_close === true;
    for (const open of cleared ? this.ws.viewStack(view) : [view]) this.ws.closeView(open);
    const reachable = this.requestUrl !== undefined || this.usesSocket(input);
    if (view.view.notify_on_close !== true || !reachable) return undefined;
    const payload: JsonObject = {
      type: "view_closed",
      team: { id: this.team.id, domain: this.team.domain },
      user: this.payloadUser(user),
      api_app_id: this.bot.appId,
      token: this.verificationToken,
      view: this.ws.toSlackView(view),
      is_cleared: cleared,
      enterprise: null,
      is_enterprise_install: false,
    };
    return this.deliverToBot("application/x-www-form-urlencoded", this.interactionBody(payload), input, {
      type: "view_closed",
      payload,
    });
  }

  private applyViewAck(view: StoredView, result: DeliveryResult): string | undefined {
    if (result.body === "") {
      this.ws.closeView(view);
      return undefined;
    }
    const ack = result.json;
    if (!isObject(ack)) return "invalid_response";
    switch (ack.response_action) {
      case "errors":
        if (!isObject(ack.errors)) return "invalid_response";
        this.ws.setViewErrors(
          view,
          Object.fromEntries(Object.entries(ack.errors).map(([k, v]) => [k, String(v)])),
        );
        return undefined;
      case "update":
      case "push": {
        if (!isObject(ack.view) || validateView(ack.view).length > 0) return "invalid_arguments";
        if (ack.response_action === "update") this.ws.updateView(view, ack.view);
        else this.ws.openView(view.user, ack.view, view);
        return undefined;
      }
      case "clear":
        for (const open of this.ws.viewStack(view)) this.ws.closeView(open);
        return undefined;
      default:
        return "invalid_response";
    }
  }

  /** An Events API delivery (JSON envelope); reuse `eventId` with `retryNum` to emulate a redelivery. */
  async sendEvent(
    event: JsonObject,
    options: { eventId?: string } & DeliveryOptions = {},
  ): Promise<EventResult> {
    const eventId = options.eventId ?? this.ws.nextId("Ev");
    const envelope: JsonObject = {
      token: this.verificationToken,
      team_id: this.team.id,
      api_app_id: this.bot.appId,
      event,
      type: "event_callback",
      event_id: eventId,
      event_time: Math.floor(this.now() / 1000),
      authorizations: [
        {
          enterprise_id: null,
          team_id: this.team.id,
          user_id: this.bot.userId,
          is_bot: true,
          is_enterprise_install: false,
        },
      ],
      is_ext_shared_channel: false,
      event_context: `4-${randomBytes(24).toString("base64url")}`,
    };
    const result = await this.deliverToBot("application/json", JSON.stringify(envelope), options, {
      type: "event_callback",
      payload: envelope,
    });
    return { ...result, eventId, envelope };
  }

  /** The user opens the app's Home (or Messages) tab; the event carries the published Home view if any. */
  homeOpened(
    user: string,
    options: { tab?: "home" | "messages"; eventId?: string } & DeliveryOptions = {},
  ): Promise<EventResult> {
    const tab = options.tab ?? "home";
    const { id } = this.userOrThrow(user);
    const home = this.ws.homeView(id);
    return this.sendEvent(
      {
        type: "app_home_opened",
        user: id,
        channel: this.ws.imChannel(id).id,
        tab,
        event_ts: this.ws.nextTs(),
        ...(home && tab === "home" ? { view: this.ws.toSlackView(home) } : {}),
      },
      options,
    );
  }

  /**
   * Seeds a message written by a person (the bot cannot edit or delete it). People can attach message
   * metadata (chat.postMessage with a user token) and share files of any name: look-alikes of what the
   * bot posts, which the bot must not take for its own.
   */
  postAsUser(input: {
    user: string;
    channel: string;
    text: string;
    threadTs?: string;
    metadata?: JsonObject;
    files?: Array<{ name: string; bytes?: Buffer }>;
  }): StoredMessage {
    const user = this.userOrThrow(input.user);
    const channel = this.visibleChannel(input.channel, user);
    const content = { text: input.text, ...(input.metadata ? { metadata: input.metadata } : {}) };
    const author = { user: user.id, fromBot: false };
    if (input.files && input.files.length > 0) {
      const files = input.files.map(({ name, bytes = Buffer.from(name) }) => {
        const { file } = this.ws.createFile(name, bytes.length);
        Object.assign(file, { user: user.id, bytes, receivedSize: bytes.length, completed: true });
        return file;
      });
      return this.ws.messageSnapshot(this.ws.shareFiles(files, channel, content, input.threadTs, author));
    }
    const thread = input.threadTs !== undefined ? { threadTs: input.threadTs, broadcast: false } : undefined;
    return this.ws.messageSnapshot(this.ws.addMessage(channel.id, content, author, thread));
  }

  // ---- state for assertions ----

  /** Every user, including the bot's own user. */
  users(): UserSpec[] {
    return this.ws.allUsers();
  }

  userGroups(): UserGroupSpec[] {
    return this.ws.allUserGroups();
  }

  /** Channels, private channels and the DMs opened so far. */
  channels(): ChannelInfo[] {
    return this.ws.allChannels();
  }

  /** By ID or name ("general", "#general"); a user ID names (and opens) the bot's DM with that user. */
  channel(ref: string): ChannelInfo | undefined {
    const channel = this.ws.findChannel(ref);
    return channel ? this.ws.channelInfo(channel) : undefined;
  }

  /** Every delivery to the bot (commands, clicks, submissions, events) in order, with the bot's answer. */
  deliveries(type?: string): RecordedDelivery[] {
    return structuredClone(this.deliveryLog.filter((d) => type === undefined || d.type === type));
  }

  /** Top-level messages and broadcast replies, oldest first. */
  channelMessages(channel: string): StoredMessage[] {
    const { id } = this.channelOrThrow(channel);
    return this.ws.channelMessages(id).map((m) => this.ws.messageSnapshot(m));
  }

  /** Replies to a parent message, oldest first (the parent itself is not included). */
  thread(channel: string, ts: string): StoredMessage[] {
    const { id } = this.channelOrThrow(channel);
    return this.ws.threadReplies(id, ts).map((m) => this.ws.messageSnapshot(m));
  }

  message(channel: string, ts: string): StoredMessage | undefined {
    const record = this.ws.findMessage(this.channelOrThrow(channel).id, ts);
    return record ? this.ws.messageSnapshot(record) : undefined;
  }

  ephemerals(user: string): EphemeralMessage[] {
    return this.ws.ephemerals(user);
  }

  /** Files shared into a channel; with threadTs, only those shared into that thread. */
  filesIn(channel: string, threadTs?: string): StoredFile[] {
    const { id } = this.channelOrThrow(channel);
    return this.ws
      .allFiles()
      .filter((f) => f.channel === id && (threadTs === undefined || f.threadTs === threadTs))
      .map((f) => ({ ...f, ...(f.bytes ? { bytes: Buffer.from(f.bytes) } : {}) }));
  }

  /** Modals the user opened (open or closed) and their Home tab, in creation order. */
  views(user: string): StoredView[] {
    return this.ws.viewsOf(user);
  }

  /** Every Web API call (and upload URL post) in arrival order, with parsed arguments. */
  calls(method?: string): RecordedCall[] {
    return structuredClone(this.recorded.filter((c) => method === undefined || c.method === method));
  }

  unknownCalls(): RecordedCall[] {
    return structuredClone(this.recorded.filter((c) => c.unknown));
  }

  responseUrlPosts(): ResponseUrlPost[] {
    return structuredClone(this.responsePosts);
  }
}
