import { AppError, quoted } from "../../domain/errors.js";
import type { ReportFormat } from "../../domain/ports.js";
import { reportFormatNamed } from "../../domain/ports.js";
import { headline } from "../blocks/cards.js";
import { escapeText, message, section } from "../blocks/common.js";
import type { SurfaceDeps } from "../deps.js";
import { announcedReply, cardLink, postApprovalCard } from "../flows.js";
import { reportUpload } from "../gateway.js";
import type { CommandSpec } from "./table.js";

const usage = (spec: string) => `/crashtest ${spec}`;

function required(value: string | undefined, what: string, synopsis: string): string {
  if (value === undefined || value.trim() === "") {
    throw new AppError("validation", `Missing ${what}.\nUsage: \`${usage(synopsis)}\``);
  }
  return value;
}

function scanId(value: string | undefined, synopsis: string): string {
  const id = required(value, "the scan ID", synopsis);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    throw new AppError("validation", `"${quoted(id)}" is not a scan ID.\nUsage: \`${usage(synopsis)}\``);
  }
  return id;
}

export const scanStart: CommandSpec<SurfaceDeps> = {
  name: "scan start",
  aliases: ["scan"],
  usage: "<project>",
  summary: "Start a scan of a project (asks for approval when required).",
  details:
    "`<project>` is a project name or ID. With approvals on, an approver other than you has to press Approve on the request card.",
  async run({ args, userId, channelId, reply }, deps) {
    const project = required(args[0], "the project", "scan start <project>");
    const outcome = await deps.scans.requestScan(userId, channelId, project);
    if (outcome.kind === "approval_needed") {
      const request = await postApprovalCard(deps, outcome.request);
      const where = request.card ? ` (${await cardLink(deps, request.card)})` : "";
      await reply(
        message(`Scan of ${request.projectName} requested`, [
          section(
            `Scan of *${escapeText(request.projectName)}* requested${where}. An approver other than you has to approve it.`,
          ),
        ]),
      );
      return;
    }
    await reply(await announcedReply(deps, outcome));
  },
};

export const scanStop: CommandSpec<SurfaceDeps> = {
  name: "scan stop",
  usage: "<scan-id>",
  summary: "Stop a running scan.",
  async run({ args, userId, channelId, reply }, deps) {
    const id = scanId(args[0], "scan stop <scan-id>");
    await deps.scans.stop(id, userId, channelId);
    await reply(
      message(`Stopping scan ${id}`, [
        section(`Stopping scan ${escapeText(id)}. The card shows when it has stopped.`),
      ]),
    );
  },
};

export const scanStatus: CommandSpec<SurfaceDeps> = {
  name: "scan status",
  usage: "<scan-id> [project]",
  summary: "Show a scan's state and keep watching it (give the project for a scan the bot did not start).",
  async run({ args, userId, channelId, reply }, deps) {
    const id = scanId(args[0], "scan status <scan-id> [project]");
    const { scan, attached } = await deps.scans.status(id, userId, channelId, args[1]);
    if (attached) {
      await reply(await announcedReply(deps, attached));
      return;
    }
    const where = scan.card ? ` · ${await cardLink(deps, scan.card)}` : "";
    // The state in words, as the card and App Home say it; the raw code stays on the card's details line.
    const text = `Scan ${escapeText(id)} of *${escapeText(scan.projectName)}*: ${headline(scan, deps.clock.now(), true)}${where}`;
    await reply(message(text, [section(text)]));
  },
};

function reportFormat(requested: string | undefined, available: readonly ReportFormat[]): ReportFormat {
  const list = available.map((f) => `\`${f}\``).join(", ");
  if (requested === undefined) {
    const preferred = (["pdf", "json", "xml", "csv"] as const).find((f) => available.includes(f));
    if (!preferred) throw new AppError("unsupported", "This scanner offers no report formats.");
    return preferred;
  }
  const wanted = reportFormatNamed(requested);
  const match = available.find((f) => f === wanted);
  if (!match) {
    throw new AppError(
      "validation",
      `"${quoted(requested)}" is not a report format here. Choose one of ${list}.`,
    );
  }
  return match;
}

function queuedReply(scanId: string, format: ReportFormat, ahead: number) {
  const text = `:hourglass: Queued behind ${ahead} report${ahead === 1 ? "" : "s"}: the ${format.toUpperCase()} report of scan ${escapeText(scanId)} follows when ${ahead === 1 ? "it is" : "they are"} done.`;
  return message(text, [section(text)]);
}

export const report: CommandSpec<SurfaceDeps> = {
  name: "report",
  usage: "<scan-id> [pdf|xml|json]",
  summary: "Upload a scan's findings report (into the scan card's thread).",
  async run({ args, userId, channelId, reply }, deps) {
    const id = scanId(args[0], "report <scan-id> [pdf|xml|json]");
    await deps.authz.require(userId, "report", channelId);
    const format = reportFormat(args[1], deps.scanner.reportFormats);
    const scan = await deps.scans.getScan(id);
    if (!scan) {
      throw new AppError(
        "not_found",
        `The bot does not know scan ${id}. Attach to it first: \`/crashtest scan status ${id} <project>\`.`,
      );
    }
    const target = scan.card
      ? { channel: scan.card.channel, threadTs: scan.card.ts }
      : { channel: channelId };
    await deps.slack.transfers.run(
      () =>
        deps.slack.upload(
          target,
          // Streamed from the scanner into Slack; fetched again if the upload has to be retried.
          reportUpload(id, format, () =>
            deps.scanner.getReport({ projectId: scan.projectId, scanId: id }, format),
          ),
          {
            comment: `${format.toUpperCase()} report of scan ${id} (${scan.projectName}), requested by <@${userId}>`,
          },
        ),
      (ahead) => reply(queuedReply(id, format, ahead)),
    );
    await deps.audit.record({
      user: userId,
      action: "report",
      target: `${scan.projectName} (scan ${id}) ${format}`,
      outcome: "ok",
    });
    const where = scan.card ? ` in the ${await cardLink(deps, scan.card)}'s thread` : "";
    await reply(
      message(`Report uploaded`, [
        section(`${format.toUpperCase()} report of scan ${escapeText(id)} uploaded${where}.`),
      ]),
    );
  },
};
