import { existsSync } from "node:fs";
import path from "node:path";
import type { TestContext } from "node:test";

const here = path.dirname(new URL(import.meta.url).pathname);

/**
 * The workplace's shared/ folder (third-party specs and real scanner reports), never copied into the
 * project. Override with CHATOPS_SHARED_DIR.
 */
export const sharedDir = path.resolve(process.env.CHATOPS_SHARED_DIR ?? path.join(here, "../../../shared"));

/**
 * Path of a shared file, or undefined after marking the test skipped with a visible reason. Under
 * CI=true a missing file fails the test instead: CI must exercise the real material.
 */
export function sharedFile(t: TestContext, relative: string): string | undefined {
  const file = path.join(sharedDir, relative);
  if (existsSync(file)) return file;
  const reason = `shared file ${relative} not found under ${sharedDir} (set CHATOPS_SHARED_DIR)`;
  if (process.env.CI === "true") throw new Error(`${reason}; CI requires it`);
  t.diagnostic(reason);
  t.skip(reason);
  return undefined;
}
