import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, test } from "node:test";
import { request } from "undici";
import { signVeracodeRequest } from "../../src/veracode/index.js";
import { ManualClock } from "../domain/memory-store.js";
import { expectedSignature, FakeVeracode, fakeKeyPair } from "./fake-veracode.js";

const clock = new ManualClock(Date.UTC(2025, 0, 1));
const keys = fakeKeyPair();
let fake: FakeVeracode;

before(async () => {
  fake = await FakeVeracode.start(clock);
  fake.setCredential({ apiId: keys.apiId, secretHex: keys.secretHex, daysLeft: 30 });
});
after(() => fake.close());

const openssl = (hexKey: string, message: Buffer) =>
  execFileSync("openssl", ["dgst", "-sha256", "-mac", "HMAC", "-macopt", `hexkey:${hexKey}`], {
    input: message,
  })
    .toString()
    .trim()
    .split("= ")
    .pop() ?? "";

test("the fake's verifier agrees with the openssl chain", () => {
  const nonce = "00112233445566778899aabbccddeeff";
  const data = "id=abc&host=127.0.0.1&url=/p?q=1&method=GET";
  const kNonce = openssl(keys.secretHex, Buffer.from(nonce, "hex"));
  const kDate = openssl(kNonce, Buffer.from("1700000000000"));
  const kSig = openssl(kDate, Buffer.from("vcode_request_version_1"));
  assert.equal(
    expectedSignature(keys.secretHex, nonce, "1700000000000", data),
    openssl(kSig, Buffer.from(data)),
  );
});

test("the fake accepts a valid signature once and rejects a replayed nonce or a changed path", async () => {
  const url = `${fake.url}/api/authn/v2/api_credentials`;
  const authorization = signVeracodeRequest({ ...keys, method: "GET", url });
  const first = await request(url, { headers: { authorization } });
  assert.equal(first.statusCode, 200);
  await first.body.dump();
  const replay = await request(url, { headers: { authorization } });
  assert.equal(replay.statusCode, 401);
  await replay.body.dump();

  const other = signVeracodeRequest({ ...keys, method: "GET", url });
  const tampered = await request(`${url}/user_id/x`, { headers: { authorization: other } });
  assert.equal(tampered.statusCode, 401);
  await tampered.body.dump();
  assert.deepEqual(fake.rejections, ["nonce reused", "signature mismatch"]);
});
