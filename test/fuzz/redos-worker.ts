import { parentPort } from "node:worker_threads";
import { INPUTS, PARSERS } from "./redos-cases.js";

/** Runs one parser on one input per message and answers with the CPU time this thread spent on it. */
parentPort?.on("message", async (message: { parser: string; input: string }) => {
  const parser = PARSERS[message.parser];
  const text = INPUTS[message.input];
  if (!parser || text === undefined) throw new Error(`unknown case ${message.parser} / ${message.input}`);
  const [parse, input] = typeof parser === "function" ? [parser, text] : [parser.run, parser.build(text)];
  const cpu = process.threadCpuUsage();
  const started = performance.now();
  try {
    await parse(input);
  } catch {
    // Refusing the input is a fine outcome; only the time counts.
  }
  const used = process.threadCpuUsage(cpu);
  parentPort?.postMessage({ cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - started });
});
