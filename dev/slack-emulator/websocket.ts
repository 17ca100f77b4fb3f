import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";

/**
 * The server side of one WebSocket connection (RFC 6455), just enough for Slack's Socket Mode: text
 * messages, fragmentation, ping/pong and the close handshake. No extensions (permessage-deflate offers
 * are declined by leaving them out of the handshake answer) and no subprotocols.
 */

const HANDSHAKE_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Slack's own limit is far lower; this only stops a runaway peer. */
const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
/** How long to wait for the peer's close frame (or TCP close) before dropping the connection. */
const CLOSE_GRACE_MS = 1000;

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

export function rejectUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.on("error", () => socket.destroy());
}

export interface WebSocketHandlers {
  onText(text: string): void;
  onPing?(): void;
  /** Once, when the TCP connection is gone; 1006 when no close frame came from the peer. */
  onClose(code: number, reason: string): void;
}

export class WebSocketPeer {
  private buffered: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private fragmentOpcode: number | undefined;
  private closeSent = false;
  private received: { code: number; reason: string } | undefined;
  private finished = false;

  private constructor(
    private readonly socket: Duplex,
    private readonly handlers: WebSocketHandlers,
  ) {
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => this.finish());
  }

  /** Completes the opening handshake, or answers 400 and returns undefined. */
  static accept(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    handlers: WebSocketHandlers,
  ): WebSocketPeer | undefined {
    const key = req.headers["sec-websocket-key"];
    if (
      req.method !== "GET" ||
      req.headers.upgrade?.toLowerCase() !== "websocket" ||
      req.headers["sec-websocket-version"] !== "13" ||
      typeof key !== "string" ||
      Buffer.from(key, "base64").length !== 16
    ) {
      rejectUpgrade(socket, 400, "Bad Request");
      return undefined;
    }
    const accept = createHash("sha1").update(`${key}${HANDSHAKE_GUID}`).digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    if ("setNoDelay" in socket && typeof socket.setNoDelay === "function") socket.setNoDelay(true);
    const peer = new WebSocketPeer(socket, handlers);
    if (head.length > 0) peer.receive(head);
    return peer;
  }

  get open(): boolean {
    return !this.finished && !this.closeSent && this.received === undefined;
  }

  sendText(text: string): void {
    if (this.open) this.socket.write(frame(OP_TEXT, Buffer.from(text, "utf8")));
  }

  ping(data = Buffer.alloc(0)): void {
    if (this.open) this.socket.write(frame(OP_PING, data));
  }

  /** Starts the close handshake; the connection is dropped if the peer does not answer in time. */
  close(code = 1000, reason = ""): void {
    if (this.finished) return;
    if (!this.closeSent) {
      this.closeSent = true;
      this.socket.write(frame(OP_CLOSE, closePayload(code, reason)));
    }
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  /** Drops the TCP connection without a close frame, like a network failure. */
  terminate(): void {
    this.socket.destroy();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const { code, reason } = this.received ?? { code: 1006, reason: "" };
    this.handlers.onClose(code, reason);
  }

  private fail(code: number, reason: string): void {
    this.close(code, reason);
    this.socket.end();
  }

  private receive(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      if (this.finished || this.received) return;
      const parsed = parseFrame(this.buffered);
      if (parsed === "incomplete") return;
      if (typeof parsed === "object" && "error" in parsed) {
        this.fail(parsed.error, parsed.reason);
        return;
      }
      this.buffered = this.buffered.subarray(parsed.size);
      this.handleFrame(parsed.fin, parsed.opcode, parsed.payload);
    }
  }

  private handleFrame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case OP_PING:
        this.handlers.onPing?.();
        if (!this.closeSent) this.socket.write(frame(OP_PONG, payload));
        return;
      case OP_PONG:
        return;
      case OP_CLOSE: {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        const reason = payload.length > 2 ? payload.subarray(2).toString("utf8") : "";
        this.received = { code, reason };
        // Echo the close frame unless we started the handshake, then end TCP (the server closes first).
        if (!this.closeSent) {
          this.closeSent = true;
          this.socket.write(frame(OP_CLOSE, code === 1005 ? Buffer.alloc(0) : closePayload(code, "")));
        }
        this.socket.end();
        setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
        return;
      }
      case OP_TEXT:
      case OP_BINARY:
        if (this.fragmentOpcode !== undefined) {
          this.fail(1002, "expected a continuation frame");
          return;
        }
        if (fin) {
          this.message(opcode, payload);
          return;
        }
        this.fragmentOpcode = opcode;
        this.fragments = [payload];
        this.fragmentBytes = payload.length;
        return;
      case OP_CONTINUATION: {
        if (this.fragmentOpcode === undefined) {
          this.fail(1002, "unexpected continuation frame");
          return;
        }
        this.fragments.push(payload);
        this.fragmentBytes += payload.length;
        if (this.fragmentBytes > MAX_MESSAGE_BYTES) {
          this.fail(1009, "message too big");
          return;
        }
        if (!fin) return;
        const whole = Buffer.concat(this.fragments);
        const first = this.fragmentOpcode;
        this.fragmentOpcode = undefined;
        this.fragments = [];
        this.fragmentBytes = 0;
        this.message(first, whole);
        return;
      }
      default:
        this.fail(1002, `unknown opcode ${opcode}`);
        return;
    }
  }

  private message(opcode: number, payload: Buffer): void {
    // Socket Mode only speaks text; the SDK ignores binary messages, and so does Slack.
    if (opcode !== OP_TEXT) return;
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(payload);
    } catch {
      this.fail(1007, "invalid UTF-8");
      return;
    }
    this.handlers.onText(text);
  }
}

type Parsed =
  | "incomplete"
  | { error: number; reason: string }
  | { fin: boolean; opcode: number; payload: Buffer; size: number };

function parseFrame(data: Buffer): Parsed {
  if (data.length < 2) return "incomplete";
  const b0 = data[0] ?? 0;
  const b1 = data[1] ?? 0;
  const fin = (b0 & 0x80) !== 0;
  const opcode = b0 & 0x0f;
  if ((b0 & 0x70) !== 0) return { error: 1002, reason: "reserved bits set" };
  if ((b1 & 0x80) === 0) return { error: 1002, reason: "client frames must be masked" };
  let length = b1 & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (data.length < 4) return "incomplete";
    length = data.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (data.length < 10) return "incomplete";
    const big = data.readBigUInt64BE(2);
    if (big > BigInt(MAX_MESSAGE_BYTES)) return { error: 1009, reason: "message too big" };
    length = Number(big);
    offset = 10;
  }
  if (opcode >= 0x8 && (!fin || length > 125)) return { error: 1002, reason: "bad control frame" };
  if (length > MAX_MESSAGE_BYTES) return { error: 1009, reason: "message too big" };
  if (data.length < offset + 4 + length) return "incomplete";
  const mask = data.subarray(offset, offset + 4);
  const payload = Buffer.from(data.subarray(offset + 4, offset + 4 + length));
  for (let i = 0; i < payload.length; i += 1) payload[i] = (payload[i] ?? 0) ^ (mask[i & 3] ?? 0);
  return { fin, opcode, payload, size: offset + 4 + length };
}

/** A server frame: final, unmasked. */
function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.from([0x80 | opcode, length]);
  } else if (length < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

function closePayload(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, "utf8").subarray(0, 123);
  const out = Buffer.alloc(2 + text.length);
  out.writeUInt16BE(code, 0);
  text.copy(out, 2);
  return out;
}
