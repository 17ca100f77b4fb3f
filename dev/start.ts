/**
 * `npm start`: the bot as a service when Slack is configured (or in production, where missing Slack
 * settings are an error), otherwise the local console against the Slack emulator. The production image
 * runs `dist/main.js` directly; this launcher is development tooling, so `src/` never imports `dev/`.
 */
// First: refuses an unsupported Node before undici and Bolt load.
import "../src/node-version.js";
import { loadConfig } from "../src/config.js";

function wantsConsole(): boolean {
  try {
    const config = loadConfig(process.env);
    return config.slack.mode === "unconfigured" && !config.production;
  } catch {
    // main() reports every configuration problem itself.
    return false;
  }
}

if (wantsConsole()) {
  await import("./console/main.js");
} else {
  const { main } = await import("../src/main.js");
  await main();
}
