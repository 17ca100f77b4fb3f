import * as z from "zod";
import { AppError } from "../domain/errors.js";
import { readOutside } from "../domain/outside.js";
import { REPORT_FORMATS } from "../domain/ports.js";
import { report, scanStart } from "./commands/scan.js";
import type { Reply } from "./commands/table.js";
import type { SurfaceDeps } from "./deps.js";

/**
 * The buttons of an ended scan's card. Each carries IDs only (the scan ID; the Report menu adds the
 * format name), parsed with zod on receipt; the click then takes the same path as the command, so
 * the clicker is authorized at click time and approval rules apply as for `/crashtest scan start`.
 */

export interface CardClick {
  user: string;
  channel: string | undefined;
  value: string;
  reply(message: Reply): Promise<void>;
}

const scanIdValue = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const reportValue = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}:[a-z]{1,8}$/)
  .transform((value) => {
    const at = value.lastIndexOf(":");
    return { scanId: value.slice(0, at), format: value.slice(at + 1) };
  })
  .pipe(z.object({ scanId: scanIdValue, format: z.enum(REPORT_FORMATS) }));

const stale = () =>
  new AppError("validation", "This button is not valid any more.", {
    detail: "card value failed validation",
  });

function invocation(click: CardClick, channel: string, args: string[]) {
  return {
    userId: click.user,
    channelId: channel,
    teamId: undefined,
    args,
    text: args.join(" "),
    triggerId: undefined,
    reply: click.reply,
  };
}

/** Report menu: the chosen format is posted into the card's thread by the `report` command's path. */
export async function reportClicked(deps: SurfaceDeps, click: CardClick): Promise<void> {
  const chosen = readOutside(reportValue, click.value);
  if (!chosen) throw stale();
  const scan = await deps.scans.getScan(chosen.scanId);
  const channel = click.channel ?? scan?.channel ?? "";
  await report.run(invocation(click, channel, [chosen.scanId, chosen.format]), deps);
}

/** Rescan: a new scan of the card's project, requested by the clicker, through the approval rules. */
export async function rescanClicked(deps: SurfaceDeps, click: CardClick): Promise<void> {
  const scanId = readOutside(scanIdValue, click.value);
  if (!scanId) throw stale();
  const scan = await deps.scans.getScan(scanId);
  if (!scan) {
    throw new AppError(
      "not_found",
      `The bot no longer knows scan ${scanId}; start one with \`/crashtest scan start <project>\`.`,
    );
  }
  await scanStart.run(invocation(click, click.channel ?? scan.channel, [scan.projectId]), deps);
}
