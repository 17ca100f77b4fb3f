import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";
import { AppError } from "../../src/domain/errors.js";
import {
  signatureFromNonceKey,
  signVeracodeRequest,
  splitRequestUrl,
  veracodeAuthorizer,
  veracodeRegion,
  veracodeRestHost,
} from "../../src/veracode/index.js";

// Fake credentials (random, never issued by Veracode).
const ID = "2ff9cd6aa3d69c8f50fd9cd70fd23c28";
const SECRET =
  "6aabc9a9a78e76f556158b3d97ae69620407ec49d099dccc42b732fc9e245d10808a14aa52aa0a27c20807a7227e35cf36c56847f14b70c1d4cc30e9180030cc";
const NONCE = "ef24507d3ee52ce4c06eadfce0711a0b";
const TS = 1_700_000_000_123;

/** HMAC-SHA-256 by the openssl CLI: an oracle that shares no code with the implementation. */
function opensslHmac(hexKey: string, message: Buffer): string {
  const out = execFileSync("openssl", ["dgst", "-sha256", "-mac", "HMAC", "-macopt", `hexkey:${hexKey}`], {
    input: message,
  });
  const hex = out.toString("utf8").trim().split("= ").pop() ?? "";
  assert.match(hex, /^[0-9a-f]{64}$/);
  return hex;
}

/** Veracode's HMAC chain (https://docs.veracode.com/r/c_hmac_signing_example), step by step with openssl. */
function opensslSignature(secretHex: string, nonceHex: string, ts: string, data: string): string {
  const kNonce = opensslHmac(secretHex, Buffer.from(nonceHex, "hex"));
  const kDate = opensslHmac(kNonce, Buffer.from(ts, "ascii"));
  const kSig = opensslHmac(kDate, Buffer.from("vcode_request_version_1", "ascii"));
  return opensslHmac(kSig, Buffer.from(data, "utf8"));
}

interface Vector {
  name: string;
  apiKeyId: string;
  apiKeySecret: string;
  method: string;
  url: string;
  /** Written out by hand from the spec, not derived by the code under test. */
  data: string;
  headerId: string;
}

const vectors: Vector[] = [
  {
    name: "global key, plain path",
    apiKeyId: ID,
    apiKeySecret: SECRET,
    method: "GET",
    url: "https://api.veracode.com/api/authn/v2/api_credentials",
    data: `id=${ID}&host=api.veracode.com&url=/api/authn/v2/api_credentials&method=GET`,
    headerId: ID,
  },
  {
    name: "EU prefixes stripped, query string signed as sent",
    apiKeyId: `vera01ei-${ID}`,
    apiKeySecret: `vera01es-${SECRET}`,
    method: "GET",
    url: "https://api.veracode.eu/appsec/v1/applications?page=0&size=50&name=My%20App",
    data: `id=${ID}&host=api.veracode.eu&url=/appsec/v1/applications?page=0&size=50&name=My%20App&method=GET`,
    headerId: ID,
  },
  {
    name: "upper-case host and port dropped, method upper-cased",
    apiKeyId: ID,
    apiKeySecret: SECRET,
    method: "post",
    url: "https://API.Veracode.COM:443/api/authn/v2/users/self",
    data: `id=${ID}&host=api.veracode.com&url=/api/authn/v2/users/self&method=POST`,
    headerId: ID,
  },
  {
    name: "upper-case key ID is lower-cased in the data only; path kept verbatim (no re-encoding, no dot removal)",
    apiKeyId: ID.toUpperCase(),
    apiKeySecret: SECRET.toUpperCase(),
    method: "GET",
    url: "http://127.0.0.1:8443/a/./B/../C%7e/ü?x=%2F&y=a b#fragment",
    data: `id=${ID}&host=127.0.0.1&url=/a/./B/../C%7e/ü?x=%2F&y=a b&method=GET`,
    headerId: ID.toUpperCase(),
  },
  {
    name: "empty path signs /",
    apiKeyId: `vera01fi-${ID}`,
    apiKeySecret: `vera01fs-${SECRET}`,
    method: "GET",
    url: "https://api.veracode.us",
    data: `id=${ID}&host=api.veracode.us&url=/&method=GET`,
    headerId: ID,
  },
];

describe("signVeracodeRequest", () => {
  for (const vector of vectors) {
    test(`matches the openssl chain: ${vector.name}`, () => {
      const header = signVeracodeRequest({ ...vector, timestamp: TS, nonce: NONCE });
      const expected = opensslSignature(SECRET, NONCE, String(TS), vector.data);
      assert.equal(
        header,
        `VERACODE-HMAC-SHA-256 id=${vector.headerId},ts=${TS},nonce=${NONCE},sig=${expected}`,
      );
    });
  }

  test("reproduces the published openssl walk-through (gist m9aertner, signature …3c72e2)", () => {
    // Published: kNonce for nonce 43a096639916c4f3925a44200cc2eeeb, ts 1528471895699, id 684a28d9…, path
    // /api/5.0/getapplist.do on analysiscenter.veracode.com. Full value recomputed with python3's hmac module.
    const kNonce = Buffer.from("fdadd4b99d0e80e2ff62c8462e649df50b7d8454bc44184385ad2d249eb0d3a2", "hex");
    const data =
      "id=684a28d91070e4ce68b2131e43c2d79b&host=analysiscenter.veracode.com&url=/api/5.0/getapplist.do&method=GET";
    const signature = signatureFromNonceKey(kNonce, "1528471895699", data);
    assert.ok(signature.endsWith("3c72e2"), signature);
    assert.equal(signature, "ec1241f682aac90594cb17c51044aee450abeecf4f3d837718109c3e933c72e2");
  });

  test("draws a fresh nonce and the current time by default", () => {
    const before = Date.now();
    const options = { apiKeyId: ID, apiKeySecret: SECRET, method: "GET", url: "https://api.veracode.com/x" };
    const first = signVeracodeRequest(options);
    const second = signVeracodeRequest(options);
    const parse = (header: string) =>
      /^VERACODE-HMAC-SHA-256 id=[0-9a-f]{32},ts=(\d+),nonce=([0-9a-f]{32}),sig=([0-9a-f]{64})$/.exec(header);
    const a = parse(first);
    const b = parse(second);
    assert.ok(a && b, `${first}\n${second}`);
    assert.notEqual(a[2], b[2]);
    assert.ok(Number(a[1]) >= before && Number(a[1]) <= Date.now());
    const recomputed = opensslSignature(
      SECRET,
      a[2] ?? "",
      a[1] ?? "",
      `id=${ID}&host=api.veracode.com&url=/x&method=GET`,
    );
    assert.equal(a[3], recomputed);
  });

  test("rejects malformed credentials with a config error that never echoes them", () => {
    const cases = [
      { apiKeyId: ID, apiKeySecret: `${SECRET.slice(0, -1)}z` },
      { apiKeyId: ID, apiKeySecret: SECRET.slice(0, -1) },
      { apiKeyId: ID, apiKeySecret: SECRET.slice(0, 64) },
      { apiKeyId: `${ID.slice(0, -1)}g`, apiKeySecret: SECRET },
      { apiKeyId: ID.slice(0, 30), apiKeySecret: SECRET },
    ];
    for (const credentials of cases) {
      assert.throws(
        () => signVeracodeRequest({ ...credentials, method: "GET", url: "https://api.veracode.com/" }),
        (error: unknown) => {
          assert.ok(error instanceof AppError);
          assert.equal(error.kind, "config");
          const text = `${error.message} ${error.userMessage} ${error.stack}`;
          assert.ok(!text.includes(credentials.apiKeySecret.slice(0, 40)), text);
          assert.ok(!text.includes(credentials.apiKeyId.slice(0, 20)), text);
          return true;
        },
      );
    }
  });

  test("rejects a bad nonce or a URL it cannot sign", () => {
    const base = { apiKeyId: ID, apiKeySecret: SECRET, method: "GET" };
    assert.throws(() => signVeracodeRequest({ ...base, url: "https://h/x", nonce: "abc" }), AppError);
    assert.throws(() => signVeracodeRequest({ ...base, url: "/relative/path" }), AppError);
    assert.throws(() => signVeracodeRequest({ ...base, url: "https://user@host/x" }), AppError);
  });
});

describe("regions", () => {
  test("key ID prefixes map to regions and REST hosts", () => {
    const cases: Array<[string, string, string]> = [
      [ID, "global", "api.veracode.com"],
      [`vera01gi-${ID}`, "global", "api.veracode.com"],
      [`vera01ei-${ID}`, "eu", "api.veracode.eu"],
      [`VERA01EI-${ID}`, "eu", "api.veracode.eu"],
      [`vera01fi-${ID}`, "fedramp", "api.veracode.us"],
    ];
    for (const [keyId, region, host] of cases) {
      assert.equal(veracodeRegion(keyId), region, keyId);
      assert.equal(veracodeRestHost(veracodeRegion(keyId)), host);
    }
  });

  test("unknown region letters and malformed prefixes are rejected", () => {
    for (const keyId of [`vera01xi-${ID}`, `vera1ei-${ID}`, `-${ID}`]) {
      assert.throws(
        () => veracodeRegion(keyId),
        (error: unknown) =>
          error instanceof AppError && error.kind === "config" && !error.message.includes(ID),
        keyId,
      );
    }
  });

  test("splitRequestUrl keeps the wire path and the connection origin", () => {
    assert.deepEqual(splitRequestUrl("HTTPS://[::1]:8443/p?q=1"), {
      origin: "https://[::1]:8443",
      host: "::1",
      pathAndQuery: "/p?q=1",
    });
    assert.deepEqual(splitRequestUrl("http://Example.test?x"), {
      origin: "http://Example.test",
      host: "example.test",
      pathAndQuery: "/?x",
    });
    assert.equal(splitRequestUrl("https://h/p?").pathAndQuery, "/p");
  });
});

test("the transport's authorize hook signs each attempt afresh over the URL it is given", () => {
  const authorize = veracodeAuthorizer({ apiKeyId: ID, apiKeySecret: SECRET });
  const url = "https://api.veracode.com/api/authn/v2/api_credentials?page=1";
  const first = authorize("GET", url).authorization ?? "";
  const second = authorize("GET", url).authorization ?? "";
  assert.match(
    first,
    new RegExp(`^VERACODE-HMAC-SHA-256 id=${ID},ts=\\d+,nonce=[0-9a-f]{32},sig=[0-9a-f]{64}$`),
  );
  assert.notEqual(first, second, "a new nonce for every attempt");
});
