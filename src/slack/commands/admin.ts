import type { AuditEntry, AuditOutcome } from "../../domain/audit.js";
import { readCredentialStatuses } from "../../domain/credential-guard.js";
import { AppError, quoted } from "../../domain/errors.js";
import { slackDate } from "../blocks/cards.js";
import { context, escapeText, type KnownBlock, LIMITS, message, section } from "../blocks/common.js";
import { credentialStatusMessage } from "../blocks/credentials.js";
import type { SurfaceDeps } from "../deps.js";
import type { CommandSpec } from "./table.js";

const AUDIT_USAGE =
  "/crashtest audit [n] [user:@someone] [action:scan] [outcome:ok|denied|failed|refused] [page:2]";
const OUTCOMES = ["ok", "denied", "failed", "refused"] as const;
/** Block text a message may carry: Slack refuses whole messages near 13.2k characters (bolt-js #2509). */
const TEXT_BUDGET = 11_000;

interface AuditArgs {
  n: number;
  page: number;
  user?: string;
  action?: string;
  outcome?: AuditOutcome;
}

const bad = (why: string) => new AppError("validation", `${why}\nUsage: \`${AUDIT_USAGE}\``);

export function parseAuditArgs(args: readonly string[]): AuditArgs {
  const out: AuditArgs = { n: 10, page: 1 };
  for (const arg of args) {
    const [key, ...rest] = arg.split(":");
    const value = rest.join(":");
    if (/^\d+$/.test(arg)) {
      out.n = Number(arg);
      if (out.n < 1 || out.n > 50) throw bad("Give a number from 1 to 50.");
    } else if (key === "user") {
      // should_escape turns @name into <@U…|name>; a bare ID works too.
      const id =
        /^<@([UW][A-Z0-9]{2,20})(?:\|[^>]{0,80})?>$/.exec(value)?.[1] ??
        /^[UW][A-Z0-9]{2,20}$/.exec(value)?.[0];
      if (!id) throw bad(`"${quoted(value)}" is not a person; write user:@name.`);
      out.user = id;
    } else if (key === "action") {
      if (!/^[a-z][a-z0-9._ -]{0,40}$/i.test(value)) throw bad(`"${quoted(value)}" is not an action.`);
      out.action = value.toLowerCase();
    } else if (key === "outcome") {
      const outcome = OUTCOMES.find((o) => o === value.toLowerCase());
      if (!outcome) throw bad(`"${quoted(value)}" is not an outcome; use ${OUTCOMES.join(", ")}.`);
      out.outcome = outcome;
    } else if (key === "page") {
      if (!/^\d{1,5}$/.test(value) || Number(value) < 1)
        throw bad(`"${quoted(value)}" is not a page number.`);
      out.page = Number(value);
    } else {
      throw bad(`"${quoted(arg)}" is not an audit filter.`);
    }
  }
  return out;
}

function auditLine(entry: AuditEntry): string {
  const times =
    entry.count && entry.count > 1 ? ` ×${entry.count} (last ${slackDate(entry.lastAt ?? entry.at)})` : "";
  const detail = entry.detail ? ` (${escapeText(entry.detail)})` : "";
  return `${slackDate(entry.at)} · <@${entry.user}> · \`${escapeText(entry.action)}\` · ${escapeText(entry.target)} · *${entry.outcome}*${detail}${times}`;
}

/** The words that repeat these filters, for the "next page" hint. */
function filterWords(a: AuditArgs): string {
  return [
    String(a.n),
    ...(a.user ? [`user:<@${a.user}>`] : []),
    ...(a.action ? [`action:${a.action}`] : []),
    ...(a.outcome ? [`outcome:${a.outcome}`] : []),
  ].join(" ");
}

export const audit: CommandSpec<SurfaceDeps> = {
  name: "audit",
  usage: "[n] [user:@x] [action:scan] [outcome:refused] [page:2]",
  summary: "Show audit entries, newest first (admins; n per page, default 10, at most 50).",
  details:
    "Filters combine: `user:@someone`, `action:scan` (matches scan.start, scan.approve, …), `outcome:ok|denied|failed|refused`; `page:2` shows the next n. Repeated refusals of one person are one entry with a count.",
  async run({ args, userId, channelId, reply }, deps) {
    await deps.authz.require(userId, "audit", channelId);
    const a = parseAuditArgs(args);
    const { entries, total } = await deps.audit.query({
      limit: a.n,
      offset: (a.page - 1) * a.n,
      ...(a.user ? { user: a.user } : {}),
      ...(a.action ? { action: a.action } : {}),
      ...(a.outcome ? { outcome: a.outcome } : {}),
    });
    const pages = Math.max(1, Math.ceil(total / a.n));
    const blocks: KnownBlock[] = [section(`*Audit trail* · ${total} matching · page ${a.page} of ${pages}`)];
    let used = 0;
    let shown = 0;
    for (const entry of entries) {
      const line = auditLine(entry);
      // Two blocks stay free for the paging note.
      if (used + line.length > TEXT_BUDGET || blocks.length >= LIMITS.blocksPerMessage - 2) break;
      blocks.push(context(line));
      used += line.length;
      shown++;
    }
    if (total === 0) blocks.push(context("Nothing recorded matches."));
    if (shown < entries.length) {
      blocks.push(
        context(`${entries.length - shown} more on this page did not fit one message; use a smaller n.`),
      );
    } else if (a.page < pages) {
      blocks.push(context(`Next page: \`/crashtest audit ${filterWords(a)} page:${a.page + 1}\``));
    }
    await reply(message(`Audit trail: ${shown} of ${total} ${total === 1 ? "entry" : "entries"}`, blocks));
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
