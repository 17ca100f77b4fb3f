import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

/** Child processes the benches measure: the bot and the bare Bolt app, started alike. */

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const READY_TIMEOUT_MS = 60_000;

export interface Target {
  name: string;
  child: ChildProcess;
  port: number;
  /** Spawn to the "bot ready" log line. */
  readyMs: number;
  /** Resident set size when it was ready (Linux /proc; NaN elsewhere). */
  readyRssMb: number;
}

/** Spawns `node <nodeArgs>` and resolves once it prints its "bot ready" line. */
export function spawnTarget(name: string, nodeArgs: string[], env: Record<string, string>): Promise<Target> {
  const started = performance.now();
  const child = spawn(process.execPath, nodeArgs, {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let buffer = "";
    let stderr = "";
    let ready = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name} not ready within ${READY_TIMEOUT_MS} ms: ${stderr.slice(-1000)}`));
    }, READY_TIMEOUT_MS);
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      // Keep reading (and dropping) the log lines after ready, so the pipe never fills up.
      if (ready) return;
      buffer += chunk.toString();
      for (const line of buffer.split("\n")) {
        if (!line.includes('"bot ready"')) continue;
        ready = true;
        clearTimeout(timer);
        const readyMs = performance.now() - started;
        const port = Number((JSON.parse(line) as { port?: number }).port);
        void rssMb(child.pid).then((readyRssMb) => resolve({ name, child, port, readyMs, readyRssMb }));
        return;
      }
    });
    child.once("exit", (code) => {
      if (ready) return;
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before ready: ${stderr.slice(-1000)}`));
    });
  });
}

export async function stopTarget(target: Target, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  if (target.child.exitCode !== null || target.child.signalCode !== null) return;
  const exited = new Promise((resolve) => target.child.once("exit", resolve));
  target.child.kill(signal);
  await exited;
}

async function rssMb(pid: number | undefined): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1]);
    return kb / 1024;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU time of every thread of a process (main thread, libuv pool, V8's GC and compiler threads), in
 * ms, from /proc/<pid>/task/<tid>/schedstat (first field: ns on the CPU;
 * https://docs.kernel.org/scheduler/sched-stats.html). Threads that ended are not counted; the
 * difference of two readings is what the live threads used in between. NaN off Linux.
 */
export async function threadCpuMs(pid: number | undefined): Promise<{ total: number; main: number }> {
  try {
    let total = 0;
    let main = 0;
    for (const tid of await readdir(`/proc/${pid}/task`)) {
      const text = await readFile(`/proc/${pid}/task/${tid}/schedstat`, "utf8").catch(() => "0");
      const ms = Number(text.split(" ")[0]) / 1e6;
      total += ms;
      if (tid === String(pid)) main = ms;
    }
    return { total, main };
  } catch {
    return { total: Number.NaN, main: Number.NaN };
  }
}

/** The middle value; of an even count the mean of the middle two (two rounds must not give the lower). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
