import { type Logger as BoltLogger, LogLevel as BoltLogLevel } from "@slack/bolt";
import type { Logger } from "../domain/ports.js";

const toText = (parts: unknown[]) =>
  parts.map((part) =>
    typeof part === "string" ? part : part instanceof Error ? part.message : JSON.stringify(part),
  );

/** Bolt and the Web client log through our redacting JSON logger. */
export function boltLogger(logger: Logger, level: BoltLogLevel): BoltLogger {
  let current = level;
  let log = logger.child({ component: "bolt" });
  return {
    debug: (...msg: unknown[]) => log.debug(toText(msg).join(" ")),
    info: (...msg: unknown[]) => log.info(toText(msg).join(" ")),
    warn: (...msg: unknown[]) => log.warn(toText(msg).join(" ")),
    error: (...msg: unknown[]) =>
      log.error(toText(msg).join(" "), { error: msg.find((m) => m instanceof Error) }),
    setLevel: (next: BoltLogLevel) => {
      current = next;
    },
    getLevel: () => current,
    setName: (name: string) => {
      log = logger.child({ component: name });
    },
  };
}

export function boltLevel(level: "debug" | "info" | "warn" | "error"): BoltLogLevel {
  switch (level) {
    case "debug":
      return BoltLogLevel.DEBUG;
    case "info":
      return BoltLogLevel.INFO;
    case "warn":
      return BoltLogLevel.WARN;
    case "error":
      return BoltLogLevel.ERROR;
  }
}
