import assert from "node:assert/strict";
import { test } from "node:test";
import { RETRY_POLICY } from "../../src/http/retry-policy.js";

test("the retry policy is data: 401 and 403 are never retried, POST retries only what was not acted on", () => {
  for (const mode of ["idempotent", "unsent-only"] as const) {
    assert.equal(RETRY_POLICY[mode].statuses.has(401), false);
    assert.equal(RETRY_POLICY[mode].statuses.has(403), false);
    assert.equal(RETRY_POLICY[mode].statuses.has(429), true);
  }
  assert.equal(RETRY_POLICY["unsent-only"].statuses.has(503), false);
  assert.equal(RETRY_POLICY["unsent-only"].errors.has("ECONNRESET"), false);
  assert.equal(RETRY_POLICY["unsent-only"].errors.has("ECONNREFUSED"), true);
});
