import { readCredentialStatuses } from "../../domain/credential-guard.js";
import { AppError } from "../../domain/errors.js";
import { slackDate } from "../blocks/cards.js";
import { context, escapeText, type KnownBlock, message, section } from "../blocks/common.js";
import { credentialStatusMessage } from "../blocks/credentials.js";
import type { SurfaceDeps } from "../deps.js";
import type { CommandSpec } from "./table.js";

export const audit: CommandSpec<SurfaceDeps> = {
  name: "audit",
  usage: "[n]",
  summary: "Show the last n audit entries (admins; default 10, at most 50).",
  async run({ args, userId, channelId, reply }, deps) {
    await deps.authz.require(userId, "audit", channelId);
    const n = args[0] === undefined ? 10 : Number(args[0]);
    if (!Number.isInteger(n) || n < 1 || n > 50) {
      throw new AppError("validation", "Give a number from 1 to 50.\nUsage: `/crashtest audit [n]`");
    }
    const entries = await deps.audit.recent(n);
    const blocks: KnownBlock[] = [section(`*Audit trail* (last ${entries.length})`)];
    for (const entry of entries) {
      blocks.push(
        context(
          `${slackDate(entry.at)} · <@${entry.user}> · \`${escapeText(entry.action)}\` · ${escapeText(entry.target)} · *${entry.outcome}*${entry.detail ? ` (${escapeText(entry.detail)})` : ""}`,
        ),
      );
    }
    if (entries.length === 0) blocks.push(context("Nothing recorded yet."));
    await reply(message(`Audit trail: ${entries.length} entries`, blocks));
  },
};

export function credentialsCommand(configured: () => boolean): CommandSpec<SurfaceDeps> {
  return {
    name: "credentials",
    usage: "",
    summary: "Show when each watched Veracode API credential expires.",
    async run({ userId, channelId, reply }, deps) {
      await deps.authz.require(userId, "view", channelId);
      if (!configured()) {
        const text =
          "No Veracode accounts are configured. Set VERACODE_API_KEY_ID/VERACODE_API_KEY_SECRET or a credentials file (see the README).";
        await reply(message(text, [section(text)]));
        return;
      }
      const now = deps.clock.now();
      await reply(credentialStatusMessage(await readCredentialStatuses(deps.store, now), now));
    },
  };
}
