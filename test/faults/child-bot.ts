import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The real bot as a child process (`node --import tsx src/main.ts`), the way it runs in production:
 * configuration from the environment only, JSON log lines on stdout. The fault suite kills it with
 * SIGKILL at chosen moments and starts it again on the same store.
 */

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export type LogLine = { level?: string; msg?: string } & Record<string, unknown>;

/** Only what the bot needs: the test runner's own variables (NODE_TEST_CONTEXT, ...) stay out. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "TMPDIR", "LANG", "TZ"]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

export class ChildBot {
  /** Every stdout line (JSON parsed when it is JSON), in order. */
  readonly lines: LogLine[] = [];
  /** Raw stdout + stderr, for secret scans and failure messages. */
  raw = "";
  port = 0;
  exited: Promise<number | null>;
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly child: ChildProcess,
    readonly label: string,
  ) {
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    let pending = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      this.raw += chunk;
      pending += chunk;
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      for (const part of parts) {
        if (part.trim() === "") continue;
        try {
          this.lines.push(JSON.parse(part) as LogLine);
        } catch {
          this.lines.push({ msg: part });
        }
      }
      for (const wake of this.waiters) wake();
    });
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      this.raw += chunk;
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Spawns the bot and waits (bounded) for its "bot ready" line. */
  static async start(
    env: Record<string, string>,
    options: { label?: string; readyTimeoutMs?: number } = {},
  ): Promise<ChildBot> {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: REPO_ROOT,
      env: { ...baseEnv(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const bot = new ChildBot(child, options.label ?? "bot");
    try {
      const ready = await bot.waitForLog(
        (line) => line.msg === "bot ready",
        // Generous: seven bots compiling through tsx at once on a 2-core machine take a while.
        options.readyTimeoutMs ?? 60_000,
      );
      bot.port = Number(ready.port);
    } catch (error) {
      child.kill("SIGKILL");
      throw new Error(`${bot.label} did not start: ${(error as Error).message}\n${bot.raw.slice(-3000)}`);
    }
    return bot;
  }

  /** Resolves with the first line (already seen or to come) that matches; bounded. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      let done = false;
      const check = () => {
        if (done) return;
        const found = this.lines.find(match);
        if (found) finish(() => resolve(found));
      };
      const finish = (settle: () => void) => {
        done = true;
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`no matching log line within ${timeoutMs} ms`))),
        timeoutMs,
      );
      this.waiters.add(check);
      this.child.once("exit", () => {
        check();
        if (!done) finish(() => reject(new Error(`${this.label} exited`)));
      });
      check();
    });
  }

  /** kill -9, and wait until the process is gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    await this.exited;
  }

  /** Graceful stop (SIGTERM), with SIGKILL after a bounded wait. */
  async stop(timeoutMs = 12_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  logs(match: (line: LogLine) => boolean): LogLine[] {
    return this.lines.filter(match);
  }
}
