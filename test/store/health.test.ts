import assert from "node:assert/strict";
import { test } from "node:test";
import { within } from "../../src/store/health.js";

/**
 * The operation timeout measures the store, not the bot: when the process itself stalls past the
 * timeout (busy CPU, a module compiled on first use) and the answer became due during the stall, the
 * answer wins over the timer that fired in the same turn of the event loop.
 */

test("within: an answer due while the process was stalled wins over the timer", async () => {
  // The answer is due 20 ms after the deadline; a 300 ms stall makes both due in one loop turn.
  const answer = new Promise<string>((resolve) => setTimeout(() => resolve("pong"), 70));
  const bounded = within(50, "get", answer);
  const until = Date.now() + 300;
  while (Date.now() < until) {
    // A synchronous stall.
  }
  assert.equal(await bounded, "pong");
});

test("within: no answer at all is an error once the time is up", async () => {
  const started = Date.now();
  await assert.rejects(within(100, "get", new Promise(() => {})), /no answer within 100 ms \(get\)/);
  assert.ok(Date.now() - started >= 95);
});
