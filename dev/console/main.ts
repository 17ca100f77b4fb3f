/**
 * `npm run console`: the bot against a local Slack emulator, driven from this terminal (or a script on
 * stdin). Development only: dev/ is not part of the production build.
 */
import { runConsole } from "./index.js";

const stop = new AbortController();
process.once("SIGTERM", () => stop.abort());
process.once("SIGINT", () => stop.abort());

const code = await runConsole({
  env: process.env,
  input: process.stdin,
  output: process.stdout,
  signal: stop.signal,
});
process.exit(code);
