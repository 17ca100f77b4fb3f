import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { webApi } from "@slack/bolt";
import { SlackEmulator } from "../dev/slack-emulator/index.js";
import type { Report } from "../src/domain/ports.js";
import { readReport } from "../src/domain/reports.js";
import { createLogger } from "../src/logger.js";
import { createCrashtestScanner } from "../src/scanners/index.js";
import { reportUpload, SlackGateway } from "../src/slack/gateway.js";

/**
 * Memory of report uploads: a local scanner serves a large PDF (generated chunk by chunk, with its
 * Content-Length) to the real Crashtest adapter, and the gateway streams it into the Slack emulator's
 * upload URL. "buffered" is what the bot did before: read the report whole, copy it into a Buffer and
 * hand it to the Web client's filesUploadV2 (its RSS also holds the emulator's parse of that multipart
 * body, since both run in this process). Figures: peak RSS and heap above the start, sampled every
 * 10 ms. Run alone for stable figures: `node --expose-gc --import tsx bench/report-upload.ts`.
 */

const MB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, "%PDF-1.7 bench ");

async function reportServer(size: number) {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/pdf", "content-length": String(size) });
    let left = size;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!res.write(CHUNK.subarray(0, n))) return void res.once("drain", pump);
      }
      res.end();
    };
    pump();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function gc() {
  (globalThis as { gc?: () => void }).gc?.();
}

async function peakDuring(work: () => Promise<unknown>) {
  gc();
  const start = process.memoryUsage();
  let rss = start.rss;
  let heap = start.heapUsed;
  const timer = setInterval(() => {
    const now = process.memoryUsage();
    rss = Math.max(rss, now.rss);
    heap = Math.max(heap, now.heapUsed);
  }, 10);
  const began = performance.now();
  await work();
  const ms = performance.now() - began;
  clearInterval(timer);
  return { rssMb: (rss - start.rss) / MB, heapMb: (heap - start.heapUsed) / MB, ms };
}

export async function runReportUploadBench(options: { sizeMb?: number; parallel?: number } = {}) {
  const sizeMb = options.sizeMb ?? 50;
  const parallel = options.parallel ?? 8;
  const size = sizeMb * MB;
  const logger = createLogger({ level: "error", write: () => {} });
  // Files this large keep only their size and hash in the emulator, so it adds no copy of its own.
  const emulator = await SlackEmulator.start({ keepFileBytes: MB });
  const scannerSide = await reportServer(size);
  const scanner = createCrashtestScanner({
    logger,
    baseUrl: scannerSide.url,
    apiKey: "bench-key",
    teamId: "1",
    maxReportBytes: 200 * MB,
  });
  const client = new webApi.WebClient(emulator.botToken, {
    slackApiUrl: emulator.apiUrl,
    logLevel: webApi.LogLevel.ERROR,
  });
  const slack = new SlackGateway(client, { maxTransfers: 3 });
  const channel = "C0GENERAL";
  const card = await slack.post(channel, { text: "bench card", blocks: [] });
  const target = { channel, threadTs: card.ts };
  const fetch = (i: number): Promise<Report> =>
    scanner.getReport({ projectId: "1", scanId: String(390 + i) }, "pdf");
  const streamed = (i: number) =>
    slack.transfers.run(() =>
      slack.upload(
        target,
        reportUpload(String(390 + i), "pdf", () => fetch(i)),
      ),
    );
  const buffered = async (i: number) => {
    const file = await readReport(await fetch(i));
    await client.filesUploadV2({
      channel_id: channel,
      thread_ts: card.ts,
      file: Buffer.from(file.bytes),
      filename: `buffered-${i}.pdf`,
    });
  };
  const rows: Record<string, string | number>[] = [];
  try {
    for (const [name, upload] of [
      ["streamed", streamed],
      ["buffered (before)", buffered],
    ] as const) {
      await upload(0); // warm-up: code paths and connection pools
      const one = await peakDuring(() => upload(1));
      rows.push({
        case: `${name}: 1 × ${sizeMb} MB`,
        "peak RSS growth (MB)": Math.round(one.rssMb),
        "peak heap growth (MB)": Math.round(one.heapMb),
        "time (ms)": Math.round(one.ms),
      });
      // Eight buffered uploads at once take gigabytes; the figure for them is enough.
      if (name !== "streamed") continue;
      const many = await peakDuring(() =>
        Promise.all(Array.from({ length: parallel }, (_, i) => upload(i + 2))),
      );
      rows.push({
        case: `${name}: ${parallel} × ${sizeMb} MB at once (3 transfer slots)`,
        "peak RSS growth (MB)": Math.round(many.rssMb),
        "peak heap growth (MB)": Math.round(many.heapMb),
        "time (ms)": Math.round(many.ms),
      });
    }
    const shared = emulator.filesIn(channel, card.ts);
    if (!shared.every((f) => f.receivedSize === size)) throw new Error("an upload arrived incomplete");
  } finally {
    await scanner.close();
    scannerSide.server.close();
    await emulator.close();
  }
  console.log(`Report uploads (${sizeMb} MB PDF, local scanner → gateway → Slack emulator)`);
  console.table(rows);
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) await runReportUploadBench();
