import { AppError, quoted } from "../../domain/errors.js";
import { SEVERITIES, type Severity } from "../../domain/ports.js";
import { escapeText, message, section } from "../blocks/common.js";
import { type FindingsQuery, findingsListMessage, type ListFilter } from "../blocks/findings-list.js";
import type { SurfaceDeps } from "../deps.js";
import type { CommandSpec } from "./table.js";

const USAGE = "/crashtest findings <project> [new|fixed|open|accepted] [severity>=high] [page:2]";

const FILTERS: readonly ListFilter[] = ["new", "fixed", "open", "accepted"];

function bad(why: string): AppError {
  return new AppError("validation", `${why}\nUsage: \`${USAGE}\``);
}

/** The words after the project, in any order: one filter, one severity floor, one page. */
export function parseFindingsQuery(words: readonly string[]): FindingsQuery {
  const query: FindingsQuery = { filter: "open", page: 1 };
  const seen = new Set<string>();
  const once = (what: string) => {
    if (seen.has(what)) throw bad(`Give the ${what} once.`);
    seen.add(what);
  };
  for (const raw of words) {
    const word = raw.toLowerCase();
    if ((FILTERS as readonly string[]).includes(word)) {
      once("filter");
      query.filter = word as ListFilter;
      continue;
    }
    const severity = /^(?:severity|sev)>=([a-z]{1,10})$/.exec(word)?.[1];
    if (severity !== undefined) {
      if (!(SEVERITIES as readonly string[]).includes(severity)) {
        throw bad(`"${quoted(severity)}" is not a severity; use one of ${SEVERITIES.join(", ")}.`);
      }
      once("severity");
      query.minSeverity = severity as Severity;
      continue;
    }
    const page = /^page:(\d{1,4})$/.exec(word)?.[1];
    if (page !== undefined && Number(page) >= 1) {
      once("page");
      query.page = Number(page);
      continue;
    }
    throw bad(
      `"${quoted(raw.slice(0, 40))}" is not a filter: use new, fixed, open or accepted, severity>=high, page:2.`,
    );
  }
  return query;
}

export const findingsCommand: CommandSpec<SurfaceDeps> = {
  name: "findings",
  usage: "<project> [new|fixed|open|accepted] [severity>=high] [page:2]",
  summary: "A project's findings as its latest scan left them: new, fixed, open or accepted.",
  details:
    "Reads the findings history (kept `FINDINGS_RETENTION_DAYS`). `open` (the default) lists what is still open, new included; `accepted` lists accepted risks and false positives; `severity>=high` keeps high and critical. Each open finding has an Accept risk / False positive menu.",
  async run({ args, userId, channelId, reply }, deps) {
    const [ref, ...rest] = args;
    if (ref === undefined || ref.trim() === "") throw bad("Missing the project.");
    const query = parseFindingsQuery(rest);
    // Findings describe exploitable weaknesses: the same right as downloading a report.
    await deps.authz.require(userId, "report", channelId);
    const project = await deps.registry.resolve(ref);
    const state = await deps.history.current(project.id);
    if (!state) {
      const text = `No finished scan of *${escapeText(project.name)}* is in the findings history yet. It fills when a scan ends with a findings summary: \`/crashtest scan start ${escapeText(project.name)}\`.`;
      await reply(message(`No findings history for ${project.name}`, [section(text)]));
      return;
    }
    await reply(findingsListMessage(project, state, query));
  },
};
