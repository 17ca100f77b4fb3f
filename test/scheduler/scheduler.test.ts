import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AppError } from "../../src/domain/errors.js";
import type { KeyValueStore } from "../../src/domain/ports.js";
import { cronProblem, startScheduler } from "../../src/scheduler/index.js";
import { openStore } from "../../src/store/index.js";
import { captureLogger } from "../support/logs.js";

test("two replicas on one store: every slot runs exactly once", async () => {
  const store = await openStore({ url: "memory://" });
  const log = captureLogger();
  const runs: Array<{ replica: string; second: number }> = [];
  const job = (replica: string) => ({
    name: "tick",
    cron: "* * * * * *",
    run: async () => {
      runs.push({ replica, second: Math.floor(Date.now() / 1000) });
    },
  });
  const a = startScheduler([job("a")], { store, logger: log.logger });
  const b = startScheduler([job("b")], { store, logger: log.logger });
  await sleep(3300);
  await Promise.all([a.stop(), b.stop()]);
  await store.close();
  assert.ok(runs.length >= 2, `expected runs, got ${runs.length}`);
  const seconds = runs.map((r) => r.second);
  assert.equal(new Set(seconds).size, seconds.length, `a slot ran twice: ${JSON.stringify(runs)}`);
});

test("a failing job is logged and the schedule keeps going", async () => {
  const store = await openStore({ url: "memory://" });
  const log = captureLogger();
  let calls = 0;
  const scheduler = startScheduler(
    [
      {
        name: "boom",
        cron: "* * * * * *",
        run: async () => {
          calls++;
          throw new Error("scanner down");
        },
      },
    ],
    { store, logger: log.logger },
  );
  await sleep(2300);
  await scheduler.stop();
  await store.close();
  assert.ok(calls >= 2, `ran ${calls} times`);
  assert.ok(log.records().some((r) => r.msg === "scheduled job failed" && r.job === "boom"));
});

test("a store outage is one warning per job, and the skipped slots are counted once it answers", async () => {
  const store = await openStore({ url: "memory://" });
  let down = true;
  const flaky: KeyValueStore = Object.assign(Object.create(store) as KeyValueStore, {
    add: (...args: Parameters<KeyValueStore["add"]>) =>
      down
        ? Promise.reject(new AppError("store", "The bot's store is unreachable right now."))
        : store.add(...args),
  });
  const log = captureLogger();
  let runs = 0;
  const scheduler = startScheduler([{ name: "outbox", cron: "* * * * * *", run: async () => void runs++ }], {
    store: flaky,
    logger: log.logger,
  });
  await sleep(3300);
  down = false;
  await sleep(1500);
  await scheduler.stop();
  await store.close();
  const said = log.records().filter((r) => r.job === "outbox");
  assert.equal(said.filter((r) => r.level === "warn").length, 1, JSON.stringify(said));
  const back = said.filter((r) => r.msg === "the store answers again; slots were skipped meanwhile");
  assert.equal(back.length, 1, JSON.stringify(said));
  assert.ok(Number(back[0]?.skipped) >= 3, JSON.stringify(back));
  assert.ok(runs >= 1, "slots run again once the store answers");
});

test("cronProblem explains bad expressions and accepts good ones", () => {
  assert.equal(cronProblem("0 9 * * *"), undefined);
  assert.equal(cronProblem("*/15 * * * * *"), undefined);
  assert.ok(cronProblem("61 9 * * *"));
  assert.ok(cronProblem("every day"));
});
