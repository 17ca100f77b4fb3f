import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { after, before, test } from "node:test";
import { AppError } from "../../src/domain/errors.js";
import { createDnsResolver } from "../../src/net/resolver.js";

/**
 * The node:dns adapter against a real DNS server on 127.0.0.1: a few lines of RFC 1035 over UDP that
 * answer A and AAAA questions from a table, NXDOMAIN for unknown names, SERVFAIL or silence on demand.
 */
type Zone = { a?: number[][]; aaaa?: number[][]; rcode?: number; silent?: boolean };
const ZONES: Record<string, Zone> = {
  "both.example.com": { a: [[10, 0, 0, 5]], aaaa: [[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]] },
  "v4only.example.com": {
    a: [
      [93, 184, 215, 14],
      [93, 184, 215, 15],
    ],
  },
  "broken.example.com": { rcode: 2 },
  "silent.example.com": { silent: true },
};
const TYPE_A = 1;
const TYPE_AAAA = 28;

function answer(query: Buffer): Buffer | undefined {
  const labels: string[] = [];
  let at = 12;
  while (query[at] !== 0) {
    const length = query[at] as number;
    labels.push(query.subarray(at + 1, at + 1 + length).toString("ascii"));
    at += length + 1;
  }
  const questionEnd = at + 5;
  const type = query.readUInt16BE(at + 1);
  const zone = ZONES[labels.join(".").toLowerCase()];
  if (zone?.silent) return undefined;
  const rcode = zone === undefined ? 3 : (zone.rcode ?? 0);
  const records =
    rcode !== 0 ? [] : ((type === TYPE_A ? zone?.a : type === TYPE_AAAA ? zone?.aaaa : []) ?? []);
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8180 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  const rrs = records.map((bytes) => {
    const rr = Buffer.alloc(12 + bytes.length);
    rr.writeUInt16BE(0xc00c, 0); // the name, as a pointer to the question's
    rr.writeUInt16BE(type, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(bytes.length, 10);
    Buffer.from(bytes).copy(rr, 12);
    return rr;
  });
  return Buffer.concat([header, query.subarray(12, questionEnd), ...rrs]);
}

let server: Socket;
let address: string;

before(async () => {
  server = createSocket("udp4");
  server.on("message", (query, peer) => {
    const reply = answer(query);
    if (reply) server.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => server.bind(0, "127.0.0.1", resolve));
  address = `127.0.0.1:${server.address().port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const resolver = () => createDnsResolver({ servers: [address], timeoutMs: 300, tries: 1 });

test("asks for A and AAAA and returns every address", async () => {
  assert.deepEqual(await resolver().resolve("both.example.com"), ["10.0.0.5", "fd00::7"]);
  assert.deepEqual(await resolver().resolve("v4only.example.com"), ["93.184.215.14", "93.184.215.15"]);
});

test("a name that does not exist has no addresses", async () => {
  assert.deepEqual(await resolver().resolve("typo.example.com"), []);
});

test("a failed lookup is an AppError naming the DNS error, retryable", async () => {
  for (const [name, code] of [
    ["broken.example.com", "ESERVFAIL"],
    ["silent.example.com", "ETIMEOUT"],
  ] as const) {
    await assert.rejects(resolver().resolve(name), (error) => {
      assert.ok(error instanceof AppError, String(error));
      assert.equal(error.kind, "unavailable");
      assert.equal(error.retryable, true);
      assert.match(
        error.userMessage,
        new RegExp(`Could not look up ${name.replace(/\./g, "\\.")} in DNS \\(${code}\\)`),
      );
      return true;
    });
  }
});
