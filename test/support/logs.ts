import type { LogLevel } from "../../src/domain/ports.js";
import { createLogger } from "../../src/logger.js";

/** A real logger (with redaction) whose lines are kept for assertions. */
export function captureLogger(secrets: string[] = [], level: LogLevel = "debug") {
  const lines: string[] = [];
  const logger = createLogger({ level, secrets, write: (line) => lines.push(line) });
  return {
    logger,
    lines,
    text: () => lines.join(""),
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
