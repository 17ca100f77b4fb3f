import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { AppError, type ErrorKind } from "../../src/domain/errors.js";
import {
  type CrashtestScannerOptions,
  createCrashtestScanner,
} from "../../src/scanners/crashtest/scanner.js";
import { type SimulatorOptions, startSimulator } from "../../src/scanners/simulator/server.js";
import { captureLogger } from "../support/logs.js";

/** A fixed instant: simulated scans only move when a test advances the simulator's clock. */
export const frozenClock = { now: () => Date.UTC(2025, 0, 1) };

export interface HarnessOptions {
  simulator?: SimulatorOptions;
  scanner?: Partial<CrashtestScannerOptions>;
}

/**
 * Simulator plus the production Crashtest adapter over real loopback HTTP. Backoff sleeps are
 * recorded instead of waited. The logger gets no secrets to scrub by value, so a leaked key or
 * webhook secret would show up in `log.text()`.
 */
export async function harness(t: TestContext, options: HarnessOptions = {}) {
  const sim = await startSimulator({ clock: frozenClock, ...options.simulator });
  const delays: number[] = [];
  const log = captureLogger([], "debug");
  const scanner = createCrashtestScanner({
    logger: log.logger,
    baseUrl: sim.url,
    apiKey: sim.apiKey,
    teamId: sim.teamId,
    timeouts: { headersMs: 300 },
    retry: {
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 0.5,
    },
    ...options.scanner,
  });
  t.after(async () => {
    await scanner.close();
    await sim.close();
  });
  return { sim, scanner, log, delays };
}

/** Awaits a rejection and checks it is an AppError of the kind; returns it for further checks. */
export async function rejectsWith(promise: Promise<unknown>, kind: ErrorKind): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, `expected AppError, got ${String(error)}`);
    assert.equal(error.kind, kind, `${error.kind}: ${error.message}`);
    return error;
  }
  assert.fail(`expected AppError(${kind}), but the call succeeded`);
}

/** Everything an error could expose in logs or replies, cause chain included. */
export function errorText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth += 1) {
    if (current instanceof Error) {
      parts.push(current.message, current.stack ?? "", JSON.stringify(current));
      if (current instanceof AppError) parts.push(current.userMessage);
      current = current.cause;
    } else {
      parts.push(String(current));
      current = undefined;
    }
  }
  return parts.join("\n");
}
