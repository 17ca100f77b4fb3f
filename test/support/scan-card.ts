import type { webApi } from "@slack/bolt";
import type { Clock, Scanner } from "../../src/domain/ports.js";
import type { ScanRecord } from "../../src/domain/scans.js";
import { scanCard } from "../../src/slack/blocks/cards.js";

/**
 * What `scan start` does before the watcher takes over, without Slack's inbound side: a project and a
 * scan at the scanner, the scan card posted through the Web client, the record saved with its card.
 */
export async function startScanWithCard(deps: {
  scanner: Scanner;
  client: webApi.WebClient;
  scans: { started(scan: ScanRecord): Promise<unknown> };
  clock: Clock;
  channel: string;
  name: string;
}): Promise<ScanRecord & { card: { channel: string; ts: string } }> {
  const { scanner, client, scans, clock, channel, name } = deps;
  const project = await scanner.createProject({ name, url: `https://${name}.example.test` });
  const started = await scanner.startScan(project.id);
  const scan: ScanRecord = {
    scanId: started.scanId,
    projectId: project.id,
    projectName: name,
    targetUrl: project.url,
    backend: scanner.name,
    requestedBy: "U0ALICE",
    channel,
    state: "queued",
    startedAt: clock.now(),
    updatedAt: clock.now(),
  };
  const card = scanCard(scan);
  const posted = await client.chat.postMessage({ channel, text: card.text, blocks: card.blocks });
  const withCard = { ...scan, card: { channel, ts: String(posted.ts) } };
  await scans.started(withCard);
  return withCard;
}
