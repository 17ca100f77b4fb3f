import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import { App, HTTPReceiver, LogLevel, type RespondArguments } from "@slack/bolt";

/**
 * The floor the benches compare the bot with: a Bolt app on the same receiver that only acks
 * `/crashtest`, and prints the bot's "bot ready" line once it listens. Run as its own process.
 *
 * With BENCH_BARE_REPLIES (a JSON file of `{ "<user> <text>": body }`, the bot's own answers recorded by
 * the ack bench), it acks each command with the bot's body for it instead, serialized by Bolt at every
 * ack as the bot's are: what answering in the ack costs, apart from what the bot does to get there.
 */
const signingSecret = process.env.SLACK_SIGNING_SECRET ?? "";
const port = Number(process.env.PORT ?? 0);
const repliesFile = process.env.BENCH_BARE_REPLIES;
const replies = repliesFile
  ? new Map(Object.entries(JSON.parse(readFileSync(repliesFile, "utf8")) as object))
  : undefined;
const receiver = new HTTPReceiver({ signingSecret, port, logLevel: LogLevel.ERROR });
const app = new App({
  token: process.env.SLACK_BOT_TOKEN ?? "",
  receiver,
  logLevel: LogLevel.ERROR,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL ?? "" },
});
app.command("/crashtest", async ({ command, ack }) => {
  await ack(replies?.get(`${command.user_id} ${command.text}`) as RespondArguments | undefined);
});
const server = (await app.start(port)) as unknown as Server;
const address = server.address();
const bound = typeof address === "object" && address ? address.port : port;
process.stdout.write(`${JSON.stringify({ level: "info", msg: "bot ready", port: bound })}\n`);
// A clean exit on SIGTERM, so that `--cpu-prof` (BENCH_ACK_BARE_ARGS) writes its profile.
process.once("SIGTERM", () => process.exit(0));
