import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "../../src/domain/ports.js";
import { isObject } from "./block-kit.js";
import type { DeliveryOptions, DeliveryResult } from "./inbound.js";
import type {
  EmulatorChange,
  JsonObject,
  SocketAck,
  SocketConnectionInfo,
  SocketEnvelopeType,
} from "./types.js";
import { rejectUpgrade, WebSocketPeer } from "./websocket.js";

/** Path of the WebSocket URLs that apps.connections.open hands out (Slack's is wss://wss-primary.slack.com/link/). */
export const SOCKET_PATH = "/link/";
/** A ticket from apps.connections.open is good for one connection, shortly. */
const TICKET_TTL_MS = 60_000;

interface Connection {
  info: SocketConnectionInfo;
  peer: WebSocketPeer;
}

interface Pending {
  type: SocketEnvelopeType;
  state: "waiting" | "acked" | "timed_out";
  resolve?: (ack: { payload: JsonObject | undefined; connectionId: string }) => void;
}

export type SocketEvent = Extract<EmulatorChange, { kind: "socket_connected" | "socket_closed" }>;

/**
 * Slack's Socket Mode side: one-time WebSocket URLs from apps.connections.open, the hello message,
 * envelopes out and acks (with their response payloads) back, and `disconnect` messages on demand.
 */
export class SocketModeHub {
  private readonly tickets = new Map<string, number>();
  private readonly connections: Connection[] = [];
  private readonly pending = new Map<string, Pending>();
  private readonly ackLog: SocketAck[] = [];
  private readonly waiters = new Set<() => void>();
  private nextConnection = 1;
  private turn = 0;

  constructor(
    private readonly deps: {
      appId: string;
      now: () => number;
      onEvent: (event: SocketEvent) => void;
      logger?: Logger | undefined;
    },
  ) {}

  /** A fresh one-time URL for apps.connections.open. */
  issueUrl(baseUrl: string): string {
    const ticket = randomUUID();
    // Real time, not the emulator's clock: tests that move Slack's clock must not expire a fresh ticket.
    this.tickets.set(ticket, Date.now() + TICKET_TTL_MS);
    const url = new URL(SOCKET_PATH, baseUrl.replace(/^http/, "ws"));
    url.searchParams.set("ticket", ticket);
    url.searchParams.set("app_id", this.deps.appId);
    return url.toString();
  }

  /** Handles an HTTP upgrade on the emulator's server: a valid ticket opens a Socket Mode connection. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname !== SOCKET_PATH) {
      rejectUpgrade(socket, 404, "Not Found");
      return;
    }
    const ticket = url.searchParams.get("ticket") ?? "";
    const expires = this.tickets.get(ticket);
    this.tickets.delete(ticket);
    if (expires === undefined || expires < Date.now()) {
      this.deps.logger?.warn("slack emulator: socket mode connection with an unknown or used ticket");
      rejectUpgrade(socket, 401, "Unauthorized");
      return;
    }
    const info: SocketConnectionInfo = {
      id: `conn-${this.nextConnection++}`,
      openedAt: this.deps.now(),
      open: true,
      pings: 0,
      envelopes: 0,
    };
    let connection: Connection | undefined;
    const peer = WebSocketPeer.accept(req, socket, head, {
      onText: (text) => connection && this.onText(connection, text),
      onPing: () => {
        info.pings += 1;
      },
      onClose: (code, reason) => {
        Object.assign(info, { open: false, closedAt: this.deps.now(), closeCode: code, closeReason: reason });
        this.deps.onEvent({ kind: "socket_closed", connectionId: info.id, code, reason });
      },
    });
    if (!peer) return;
    connection = { info, peer };
    this.connections.push(connection);
    peer.sendText(
      JSON.stringify({
        type: "hello",
        num_connections: this.openConnections().length,
        debug_info: {
          host: "applink-emulator-1",
          build_number: 1,
          approximate_connection_time: 18060,
        },
        connection_info: { app_id: this.deps.appId },
      }),
    );
    this.deps.onEvent({ kind: "socket_connected", connectionId: info.id });
    for (const wake of this.waiters) wake();
  }

  get connected(): boolean {
    return this.openConnections().length > 0;
  }

  connectionsInfo(): SocketConnectionInfo[] {
    return this.connections.map((c) => ({ ...c.info }));
  }

  acks(): SocketAck[] {
    return structuredClone(this.ackLog);
  }

  /** Resolves once a Socket Mode client is connected (at once if one is). */
  waitForConnection(timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        signal.removeEventListener("abort", aborted);
        if (error) reject(error);
        else resolve();
      };
      const wake = () => done();
      const aborted = () => done(new Error("SlackEmulator: closed"));
      const timer = setTimeout(
        () => done(new Error(`SlackEmulator: no Socket Mode connection within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.add(wake);
      signal.addEventListener("abort", aborted, { once: true });
    });
  }

  /**
   * Sends one envelope to a connected client (round robin over open connections, as Slack spreads
   * envelopes) and waits for its ack. The result has the HTTP delivery's shape: status 200 and the ack's
   * response payload as the body ("" for an empty ack); status 0 and timedOut when no ack came in time.
   */
  deliver(input: {
    type: SocketEnvelopeType;
    payload: JsonObject;
    options: DeliveryOptions;
    timeoutMs: number;
    signal: AbortSignal;
  }): Promise<DeliveryResult> {
    const open = this.openConnections();
    if (open.length === 0) return Promise.reject(new Error("SlackEmulator: no Socket Mode connection"));
    const connection = open[this.turn++ % open.length] as Connection;
    const envelopeId = randomUUID();
    const retry =
      input.type === "events_api"
        ? { retry_attempt: input.options.retryNum ?? 0, retry_reason: input.options.retryReason ?? "" }
        : input.options.retryNum !== undefined
          ? { retry_attempt: input.options.retryNum, retry_reason: input.options.retryReason ?? "" }
          : {};
    const envelope = {
      envelope_id: envelopeId,
      type: input.type,
      payload: input.payload,
      accepts_response_payload: input.type !== "events_api",
      ...retry,
    };
    const text = JSON.stringify(envelope);
    const sent = { headers: {}, body: text };
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const base = { headers: {}, sent, transport: "socket" as const, envelopeId };

    return new Promise((resolve, reject) => {
      const entry: Pending = { type: input.type, state: "waiting" };
      const finish = () => {
        clearTimeout(timer);
        input.signal.removeEventListener("abort", aborted);
      };
      const aborted = () => {
        finish();
        this.pending.delete(envelopeId);
        reject(new Error("SlackEmulator: closed while waiting for an ack"));
      };
      const timer = setTimeout(() => {
        finish();
        entry.state = "timed_out";
        resolve({ ...base, status: 0, body: "", elapsedMs: elapsed(), timedOut: true });
      }, input.timeoutMs);
      entry.resolve = ({ payload }) => {
        finish();
        const empty = payload === undefined || Object.keys(payload).length === 0;
        resolve({
          ...base,
          status: 200,
          body: empty ? "" : JSON.stringify(payload),
          ...(empty ? {} : { json: payload }),
          elapsedMs: elapsed(),
          timedOut: false,
        });
      };
      this.pending.set(envelopeId, entry);
      if (input.signal.aborted) return aborted();
      input.signal.addEventListener("abort", aborted, { once: true });
      connection.info.envelopes += 1;
      connection.peer.sendText(text);
    });
  }

  private onText(connection: Connection, text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.deps.logger?.warn("slack emulator: socket mode message is not JSON", { text: text.slice(0, 200) });
      return;
    }
    const envelopeId = isObject(message) ? message.envelope_id : undefined;
    if (typeof envelopeId !== "string") {
      this.deps.logger?.warn("slack emulator: socket mode message without envelope_id");
      return;
    }
    const payload = isObject(message) && isObject(message.payload) ? message.payload : undefined;
    const entry = this.pending.get(envelopeId);
    const ack: SocketAck = {
      envelopeId,
      connectionId: connection.info.id,
      ...(payload !== undefined ? { payload } : {}),
      ...(entry ? { type: entry.type } : {}),
      late: entry?.state === "timed_out",
      duplicate: entry?.state === "acked",
      unknown: entry === undefined,
      at: this.deps.now(),
    };
    this.ackLog.push(ack);
    if (entry?.state === "waiting") {
      entry.state = "acked";
      entry.resolve?.({ payload, connectionId: connection.info.id });
    }
  }

  /** Sends Slack's `disconnect` message (the client closes and reconnects with a new URL). */
  requestDisconnect(reason: "warning" | "refresh_requested" | "too_many_websockets" | string): number {
    const open = this.openConnections();
    for (const { peer } of open) {
      peer.sendText(
        JSON.stringify({ type: "disconnect", reason, debug_info: { host: "applink-emulator-1" } }),
      );
    }
    return open.length;
  }

  /** Drops every connection without a close frame, like a network failure. */
  drop(): number {
    const open = this.openConnections();
    for (const { peer } of open) peer.terminate();
    return open.length;
  }

  /** Pings every open connection, as Slack's servers do. */
  ping(): void {
    for (const { peer } of this.openConnections()) peer.ping(randomBytes(4));
  }

  /** Going away (1001) on every connection; the emulator's server close ends them for good. */
  close(): void {
    for (const { peer } of this.openConnections()) peer.close(1001, "emulator closing");
    this.tickets.clear();
  }

  private openConnections(): Connection[] {
    return this.connections.filter((c) => c.info.open && c.peer.open);
  }
}
