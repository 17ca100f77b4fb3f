/**
 * A fake Veracode Identity API on 127.0.0.1. It verifies the HMAC header of every request with its own
 * implementation of the documented chain (https://docs.veracode.com/r/c_hmac_signing_example; checked against openssl in
 * fake-veracode.test.ts), rejects reused nonces, serves expiry dates relative to a test clock and
 * answers scripted failures.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Clock, LogFields, Logger } from "../../src/domain/ports.js";
import { closeServer, listenLocal } from "../support/http.js";

export interface FakeCredential {
  /** The key ID without region prefix (what the header carries). */
  apiId: string;
  /** Hex secret without region prefix. */
  secretHex: string;
  /** Expiry as an offset from the clock's current time, so "N days left" stays N days as the clock moves. */
  expiresAt: number;
  /** How expiration_ts is written. Default: `2025-10-01T12:00:00.000+0000`. */
  format?: (epochMs: number) => string;
  revokedAt?: number;
  /** May read other users' credentials. */
  admin?: boolean;
}

export type Scripted =
  | { status: number; headers?: Record<string, string>; body?: string }
  | { drop: true }
  | { hang: true };

export interface RecordedRequest {
  path: string;
  apiId?: string;
  nonce?: string;
  ts?: number;
  /** Why the signature was refused, when it was. */
  rejected?: string;
  status?: number;
}

export function veracodeTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace("Z", "+0000");
}

/** The documented signing chain, written independently of src/veracode/signer.ts. */
export function expectedSignature(secretHex: string, nonceHex: string, ts: string, data: string): string {
  const step = (key: Buffer, message: Buffer) => createHmac("sha256", key).update(message).digest();
  const kNonce = step(Buffer.from(secretHex, "hex"), Buffer.from(nonceHex, "hex"));
  const kDate = step(kNonce, Buffer.from(ts));
  const kSig = step(kDate, Buffer.from("vcode_request_version_1"));
  return createHmac("sha256", kSig).update(data).digest("hex");
}

const HEADER = /^VERACODE-HMAC-SHA-256 id=([0-9a-fA-F]+),ts=(\d+),nonce=([0-9a-fA-F]+),sig=([0-9a-f]{64})$/;
const MAX_SKEW_MS = 5 * 60_000;

export class FakeVeracode {
  readonly requests: RecordedRequest[] = [];
  private readonly credentials = new Map<string, FakeCredential>();
  private readonly users = new Map<string, string>();
  private readonly script: Scripted[] = [];
  private readonly seenNonces = new Set<string>();
  private conversation = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly clock: Clock,
  ) {}

  static async start(clock: Clock): Promise<FakeVeracode> {
    let fake: FakeVeracode | undefined;
    const server = createServer((req, res) => fake?.handle(req, res));
    const url = await listenLocal(server);
    fake = new FakeVeracode(server, url, clock);
    return fake;
  }

  /** Registers (or replaces, e.g. after renewal) a credential; `daysLeft` is relative to the clock now. */
  setCredential(credential: Omit<FakeCredential, "expiresAt"> & { daysLeft: number }): void {
    const { daysLeft, ...rest } = credential;
    this.credentials.set(rest.apiId.toLowerCase(), {
      ...rest,
      expiresAt: this.clock.now() + daysLeft * 86_400_000,
    });
  }

  /** A Veracode user whose credentials an admin may read. */
  setUser(userId: string, apiId: string): void {
    this.users.set(userId, apiId.toLowerCase());
  }

  /** Answers the next requests (after signature checks) with these, in order. */
  enqueue(...responses: Scripted[]): void {
    this.script.push(...responses);
  }

  get rejections(): string[] {
    return this.requests.flatMap((request) => (request.rejected ? [request.rejected] : []));
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const record: RecordedRequest = { path: req.url ?? "" };
    this.requests.push(record);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, {
        "content-type": "application/json",
        "x-conversation-id": `conv-${++this.conversation}`,
        ...headers,
      });
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    };

    const caller = this.verify(req, record);
    if (!caller) {
      send(401, { message: "Unauthorized" });
      return;
    }
    const scripted = this.script.shift();
    if (scripted && "drop" in scripted) {
      req.socket.destroy();
      return;
    }
    if (scripted && "hang" in scripted) return;
    if (scripted) {
      send(scripted.status, scripted.body ?? { message: `scripted ${scripted.status}` }, scripted.headers);
      return;
    }

    const path = record.path;
    if (req.method === "GET" && path === "/api/authn/v2/api_credentials") {
      send(200, this.describe(caller));
      return;
    }
    const userMatch = /^\/api\/authn\/v2\/api_credentials\/user_id\/([^/?]+)$/.exec(path);
    if (req.method === "GET" && userMatch) {
      if (!caller.admin) {
        send(403, { message: "Forbidden" });
        return;
      }
      const target = this.credentials.get(this.users.get(userMatch[1] ?? "") ?? "");
      if (!target) send(404, { message: "Not found" });
      else send(200, this.describe(target));
      return;
    }
    send(404, { message: "Not found" });
  }

  private describe(credential: FakeCredential): Record<string, unknown> {
    const format = credential.format ?? veracodeTimestamp;
    const body: Record<string, unknown> = {
      api_id: credential.apiId,
      expiration_ts: format(credential.expiresAt),
      _links: {},
    };
    if (credential.revokedAt !== undefined) {
      body.revocation_ts = veracodeTimestamp(credential.revokedAt);
      body.revocation_user = "admin-user";
    }
    return body;
  }

  /** Returns the calling credential when the header is valid; records why not otherwise. */
  private verify(req: IncomingMessage, record: RecordedRequest): FakeCredential | undefined {
    const match = HEADER.exec(String(req.headers.authorization ?? ""));
    if (!match) {
      record.rejected = "malformed or missing Authorization header";
      return undefined;
    }
    const [, id = "", ts = "", nonce = "", sig = ""] = match;
    Object.assign(record, { apiId: id, nonce, ts: Number(ts) });
    const credential = this.credentials.get(id.toLowerCase());
    if (!credential) {
      record.rejected = `unknown key ID …${id.slice(-4)}`;
      return undefined;
    }
    // Signing time is real time, not the test clock (which only drives expiry dates).
    if (Math.abs(Date.now() - Number(ts)) > MAX_SKEW_MS) {
      record.rejected = "timestamp outside the allowed skew";
      return undefined;
    }
    if (this.seenNonces.has(nonce.toLowerCase())) {
      record.rejected = "nonce reused";
      return undefined;
    }
    this.seenNonces.add(nonce.toLowerCase());
    const host = String(req.headers.host ?? "")
      .replace(/:\d+$/, "")
      .toLowerCase();
    const data = `id=${id.toLowerCase()}&host=${host}&url=${req.url ?? ""}&method=${req.method ?? ""}`;
    const expected = Buffer.from(expectedSignature(credential.secretHex, nonce, ts, data), "hex");
    if (!timingSafeEqual(expected, Buffer.from(sig, "hex"))) {
      record.rejected = "signature mismatch";
      return undefined;
    }
    if (credential.revokedAt !== undefined && credential.revokedAt <= this.clock.now()) {
      record.rejected = "credentials revoked";
      return undefined;
    }
    if (credential.expiresAt <= this.clock.now()) {
      record.rejected = "credentials expired";
      return undefined;
    }
    return credential;
  }
}

/**
 * A logger that records everything it is given WITHOUT redaction, so a secret passed to it shows up in
 * the text (the real logger would hide the leak).
 */
export function rawCaptureLogger(): { logger: Logger; text: () => string; records: () => LogRecord[] } {
  const records: LogRecord[] = [];
  const serialise = (value: unknown): string =>
    JSON.stringify(value, (_key, inner: unknown) =>
      inner instanceof Error
        ? { ...inner, name: inner.name, message: inner.message, stack: inner.stack, cause: inner.cause }
        : inner,
    );
  const make = (base: LogFields): Logger => {
    const log =
      (level: string) =>
      (msg: string, fields: LogFields = {}) => {
        records.push({ level, msg, ...base, ...fields });
      };
    return {
      debug: log("debug"),
      info: log("info"),
      warn: log("warn"),
      error: log("error"),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return { logger: make({}), text: () => records.map(serialise).join("\n"), records: () => records };
}

export type LogRecord = { level: string; msg: string } & LogFields;

/** Random fake credentials; `prefix` like "vera01e" adds region prefixes (…i- on the ID, …s- on the secret). */
export function fakeKeyPair(prefix?: string) {
  const apiId = randomBytes(16).toString("hex");
  const secretHex = randomBytes(64).toString("hex");
  return {
    apiId,
    secretHex,
    apiKeyId: prefix ? `${prefix}i-${apiId}` : apiId,
    apiKeySecret: prefix ? `${prefix}s-${secretHex}` : secretHex,
  };
}
