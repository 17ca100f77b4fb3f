import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type TestContext, test } from "node:test";
import { AppError } from "../../src/domain/errors.js";
import { readReport } from "../../src/domain/reports.js";
import { HttpStatusError, statusFailure } from "../../src/http/errors.js";
import { HttpTransport, type StreamLimit } from "../../src/http/transport.js";
import { closeServer, listenLocal } from "../support/http.js";
import { captureLogger } from "../support/logs.js";

type Handler = (req: IncomingMessage, res: ServerResponse, attempt: number) => void;

/** A loopback server answering with `handler`, and a transport pointed at it (backoff not waited). */
async function setup(t: TestContext, handler: Handler, options: { secrets?: string[] } = {}) {
  const seen: Array<{ method: string; url: string; authorization: string | undefined }> = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization });
    handler(req, res, seen.length);
  });
  const url = await listenLocal(server);
  const log = captureLogger([], "debug");
  const sleeps: number[] = [];
  let signed = 0;
  const transport = new HttpTransport({
    baseUrl: `${url}/api`,
    logger: log.logger,
    service: "Example",
    logName: "example",
    timeouts: { headersMs: 500, bodyMs: 500 },
    retry: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5, maxRetries: 3 },
    authorize: (method, wire) => ({ authorization: `sig ${method} ${wire} #${++signed}` }),
    ...(options.secrets ? { secrets: options.secrets } : {}),
  });
  t.after(async () => {
    await transport.close();
    await closeServer(server);
  });
  return { url, transport, seen, sleeps, log };
}

const tooLarge: StreamLimit["tooLarge"] = (size) =>
  new AppError("unsupported", `too large (${size ?? "unknown"})`);

const get = { operation: "probe", route: "GET /probe", method: "GET", path: "/probe?x=1" } as const;

test("every attempt is signed afresh over the exact wire URL; Retry-After is honoured", async (t) => {
  const { url, transport, seen, sleeps } = await setup(t, (_req, res, attempt) => {
    if (attempt === 1) {
      res.writeHead(429, { "retry-after": "2" }).end();
      return;
    }
    if (attempt === 2) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  });
  const response = await transport.send(get);
  assert.equal(response.status, 200);
  assert.deepEqual(sleeps, [2000, 750]);
  assert.deepEqual(
    seen.map((s) => s.authorization),
    [1, 2, 3].map((n) => `sig GET ${url}/api/probe?x=1 #${n}`),
  );
});

test("401 and 403 are answered at once, never retried", async (t) => {
  for (const status of [401, 403]) {
    const { transport, seen } = await setup(t, (_req, res) => res.writeHead(status).end());
    assert.equal((await transport.send(get)).status, status);
    assert.equal(seen.length, 1);
  }
});

test("a POST that got a 5xx is not retried (the server may have acted); a 429 is", async (t) => {
  const { transport, seen } = await setup(t, (_req, res, attempt) =>
    res.writeHead(attempt === 1 ? 429 : 502).end(),
  );
  const post = { ...get, method: "POST" as const };
  assert.equal((await transport.send(post)).status, 502);
  assert.equal(seen.length, 2);
});

test("stream: a body announced over the cap is refused before it is read", async (t) => {
  const { transport } = await setup(t, (_req, res) => {
    res.writeHead(200, { "content-length": String(5000) });
    res.end(Buffer.alloc(5000));
  });
  await assert.rejects(transport.stream(get, { maxBytes: 1000, tooLarge }), /too large \(5000\)/);
});

test("stream: a chunked body fails with the cap's error once it passes the cap", async (t) => {
  const { transport } = await setup(t, (_req, res) => {
    res.writeHead(200, { "content-type": "application/pdf" });
    let sent = 0;
    const more = () => {
      while (sent < 20) {
        sent += 1;
        if (!res.write(Buffer.alloc(1024))) return void res.once("drain", more);
      }
      res.end();
    };
    more();
  });
  const answer = await transport.stream(get, { maxBytes: 4096, tooLarge });
  assert.ok(answer.ok);
  if (!answer.ok) return;
  assert.equal(answer.size, undefined);
  const read = readReport({ format: "pdf", body: answer.body, contentType: "x", fileName: "x" });
  await assert.rejects(read, /too large \(unknown\)/);
});

test("stream: a body within the cap arrives whole; a non-2xx is read for its error", async (t) => {
  const { transport } = await setup(t, (req, res) => {
    if (req.url?.includes("missing")) {
      res.writeHead(404, { "content-type": "application/json" }).end('{"message":"no such scan"}');
      return;
    }
    res.writeHead(200, { "content-length": "3" }).end("abc");
  });
  const answer = await transport.stream(get, { maxBytes: 3, tooLarge });
  assert.ok(answer.ok);
  if (!answer.ok) return;
  assert.equal(answer.size, 3);
  const file = await readReport({ format: "pdf", body: answer.body, contentType: "x", fileName: "x" });
  assert.equal(Buffer.from(file.bytes).toString(), "abc");

  const missing = await transport.stream({ ...get, path: "/missing" }, { maxBytes: 3, tooLarge });
  assert.equal(missing.ok, false);
  if (missing.ok) return;
  const error = statusFailure({ service: "Example", auth: () => "refused" }, missing.response, {
    operation: "probe",
    subject: "scan 1",
    retry: "idempotent",
  });
  assert.equal(error.kind, "not_found");
  assert.equal(error.userMessage, "Example does not know scan 1.");
  assert.match(error.message, /no such scan/);
  assert.ok(error.cause instanceof HttpStatusError && error.cause.status === 404, "typed cause");
});

test("a buffered response over maxResponseBytes is refused, not held", async (t) => {
  const server = createServer((_req, res) => res.end(Buffer.alloc(10_000)));
  const url = await listenLocal(server);
  const transport = new HttpTransport({
    baseUrl: url,
    logger: captureLogger().logger,
    service: "Example",
    logName: "example",
    maxResponseBytes: 1000,
  });
  t.after(async () => {
    await transport.close();
    await closeServer(server);
  });
  await assert.rejects(
    transport.send(get),
    (error: unknown) => error instanceof AppError && /larger than the bot accepts/.test(error.userMessage),
  );
});

test("server text in errors has the transport's secrets scrubbed", async (t) => {
  const secret = "s3cr3t-webhook-token";
  const { transport } = await setup(
    t,
    (_req, res) => res.writeHead(422).end(JSON.stringify({ message: `bad path /webhook/${secret}` })),
    { secrets: [secret] },
  );
  const response = await transport.send(get);
  const error = statusFailure(
    { service: "Example", auth: () => "refused" },
    response,
    {
      operation: "probe",
      subject: "x",
      retry: "idempotent",
    },
    (text) => transport.scrub(text),
  );
  assert.equal(error.kind, "validation");
  assert.ok(!`${error.message} ${error.userMessage}`.includes(secret));
  assert.match(error.userMessage, /\[REDACTED\]/);
});

test("connection refused is a typed, retryable unavailable error, retried first", async (t) => {
  const server = createServer();
  const url = await listenLocal(server);
  await closeServer(server);
  const sleeps: number[] = [];
  const transport = new HttpTransport({
    baseUrl: url,
    logger: captureLogger().logger,
    service: "Example",
    logName: "example",
    retry: { sleep: async (ms) => void sleeps.push(ms), maxRetries: 2 },
  });
  t.after(() => transport.close());
  await assert.rejects(transport.send(get), (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.kind, "unavailable");
    assert.equal(error.retryable, true);
    assert.match(error.userMessage, /cannot be reached/);
    return true;
  });
  assert.equal(sleeps.length, 2);
});
