import assert from "node:assert/strict";
import { test } from "node:test";
import { TransferSlots } from "../../src/slack/transfers.js";

test("at most `max` transfers run; the rest wait first come first served and are told how many are ahead", async () => {
  const slots = new TransferSlots(2);
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  const told: Array<[number, number]> = [];
  const gates = [0, 1, 2, 3, 4].map(() => Promise.withResolvers<void>());
  const transfers = gates.map((gate, i) =>
    slots.run(
      async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await gate.promise;
        running--;
        return i;
      },
      (ahead) => told.push([i, ahead]),
    ),
  );
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(told, [
    [2, 2],
    [3, 3],
    [4, 4],
  ]);
  assert.deepEqual(slots.load, { active: 2, waiting: 3 });
  for (const gate of gates) gate.resolve();
  assert.deepEqual(await Promise.all(transfers), [0, 1, 2, 3, 4]);
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
  assert.deepEqual(slots.load, { active: 0, waiting: 0 });
});

test("a failed transfer frees its slot; a failing queue notice does not stop the transfer", async () => {
  const slots = new TransferSlots(1);
  const gate = Promise.withResolvers<void>();
  const first = slots.run(async () => {
    await gate.promise;
    throw new Error("broke");
  });
  const second = slots.run(
    async () => "done",
    () => {
      throw new Error("notice failed");
    },
  );
  gate.resolve();
  await assert.rejects(first, /broke/);
  assert.equal(await second, "done");
  assert.deepEqual(slots.load, { active: 0, waiting: 0 });
  assert.throws(() => new TransferSlots(0), RangeError);
});
