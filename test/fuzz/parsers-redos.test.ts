import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Worker } from "node:worker_threads";
import { INPUTS, PARSERS } from "./redos-cases.js";

/**
 * No parser of outside data may cost more than linear time: each one gets every 1 MB pathological
 * input (redos-cases.ts) and must finish within LIMIT_MS of CPU time, measured on its own thread so
 * that other processes on a busy machine do not count. Linear work on 1 MB takes a few milliseconds;
 * a quadratic regex takes minutes. The parser runs in a worker so that a regex stuck in backtracking
 * (which blocks its thread) can be stopped: past WATCHDOG_MS without an answer the worker is
 * terminated and the case fails.
 */
const LIMIT_MS = 1000;
const WATCHDOG_MS = 15_000;

class Runner {
  private worker: Worker | undefined;

  private start(): Worker {
    this.worker ??= new Worker(new URL("./redos-worker.ts", import.meta.url));
    return this.worker;
  }

  run(parser: string, input: string): Promise<{ cpuMs: number; wallMs: number } | "stuck"> {
    const worker = this.start();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.off("message", onMessage);
        worker.off("error", onError);
        this.worker = undefined;
        void worker.terminate();
        resolve("stuck");
      }, WATCHDOG_MS);
      const onMessage = (result: { cpuMs: number; wallMs: number }) => {
        clearTimeout(timer);
        worker.off("error", onError);
        resolve(result);
      };
      const onError = (error: Error) => {
        clearTimeout(timer);
        worker.off("message", onMessage);
        this.worker = undefined;
        reject(error);
      };
      worker.once("message", onMessage);
      worker.once("error", onError);
      worker.postMessage({ parser, input });
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
  }
}

const runner = new Runner();
after(() => runner.close());

describe("parsers on 1 MB pathological input finish in linear time", () => {
  for (const parser of Object.keys(PARSERS)) {
    test(parser, async (t) => {
      const slow: string[] = [];
      let slowest = { input: "", cpuMs: 0 };
      for (const input of Object.keys(INPUTS)) {
        const result = await runner.run(parser, input);
        if (result === "stuck") slow.push(`${input}: no answer within ${WATCHDOG_MS / 1000} s (stopped)`);
        else if (result.cpuMs >= LIMIT_MS) slow.push(`${input}: ${Math.round(result.cpuMs)} ms CPU`);
        if (result !== "stuck" && result.cpuMs > slowest.cpuMs) slowest = { input, cpuMs: result.cpuMs };
      }
      t.diagnostic(`slowest: ${slowest.input}, ${Math.round(slowest.cpuMs)} ms CPU`);
      assert.deepEqual(slow, [], `${parser} is slow on: ${slow.join("; ")}`);
    });
  }
});
