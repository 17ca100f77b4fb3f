import { type Logger, LogLevel } from "@slack/bolt";

/** A Bolt/Web-client logger that prints nothing, for tests that drive the emulator directly. */
export const silent: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};
