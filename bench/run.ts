import { performance } from "node:perf_hooks";
import { createLogger } from "../src/logger.js";
import { helpOverview } from "../src/slack/blocks/help.js";
import { helpCommand } from "../src/slack/commands/help.js";
import { type CommandSpec, CommandTable } from "../src/slack/commands/table.js";

/** Prints a table of figures; a benchmark, never a pass/fail gate. */
interface Row {
  name: string;
  ops: number;
  perOpMicros: number;
}

function measure(name: string, iterations: number, fn: (i: number) => void): Row {
  for (let i = 0; i < Math.min(1000, iterations); i++) fn(i);
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn(i);
  const ms = performance.now() - start;
  return {
    name,
    ops: Math.round((iterations / ms) * 1000),
    perOpMicros: Number(((ms * 1000) / iterations).toFixed(2)),
  };
}

const table = new CommandTable<Record<string, never>>();
table.add(helpCommand(table));
for (const name of [
  "project create",
  "project delete",
  "projects",
  "scan start",
  "scan stop",
  "scan status",
  "report",
]) {
  table.add({ name, usage: "<x>", summary: `${name} summary`, run: async () => {} });
}
const texts = [
  "scan start web-shop",
  'project create "My Shop" https://shop.example.com',
  "sacn strat x",
  "help report",
  "",
];
const logger = createLogger({ secrets: ["xoxb-1-2-secretsecret", "ct-key-123456"], write: () => {} });

const rows = [
  measure("command parse + match", 200_000, (i) => table.match(texts[i % texts.length] ?? "")),
  measure("help message build", 20_000, () => helpOverview(table.list() as readonly CommandSpec<unknown>[])),
  measure("redacted log line", 100_000, (i) =>
    logger.info("scan polled", {
      scanId: i,
      headers: { authorization: "x" },
      note: "token xoxb-1-2-secretsecret",
    }),
  ),
];

console.log(`Crashtest ChatOps bench — node ${process.version}, ${new Date().toISOString()}`);
console.table(rows);
await (await import("./watcher.js")).runWatcherBench();
await (await import("./ack.js")).runAckBench();
await (await import("./cold-start.js")).runColdStartBench();
await (await import("./report-upload.js")).runReportUploadBench();
await (await import("./replicas.js")).runReplicaBench();
