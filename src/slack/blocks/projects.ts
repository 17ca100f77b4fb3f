import type { ProjectRecord } from "../../domain/projects.js";
import { ACTIONS, button, target } from "./cards.js";
import {
  context,
  escapeText,
  type KnownBlock,
  LIMITS,
  message,
  type SlackMessage,
  section,
  truncate,
} from "./common.js";

/** Block text one message may carry: Slack refuses whole messages near 13.2k characters (bolt-js #2509). */
export const MESSAGE_TEXT_BUDGET = 11_000;

/** Characters of text in a block (every `text` string, at any depth), as Slack's whole-message limit counts them. */
function textOf(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (const item of value) n += textOf(item);
    return n;
  }
  // for-in, not Object.entries: no array of pairs per object (a page of 48 projects walks ~500 objects).
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    n += key === "text" && typeof item === "string" ? item.length : textOf(item);
  }
  return n;
}

function projectBlock(project: ProjectRecord): KnownBlock {
  return {
    type: "section",
    text: {
      type: "mrkdwn",
      text: truncate(
        `*${escapeText(project.name)}* · ID \`${escapeText(project.id)}\`\n${truncate(target(project.url), 300)}${project.linked ? " · linked" : ""}`,
        LIMITS.sectionText,
      ),
    },
    accessory: button("Delete", ACTIONS.deleteProject, project.id, "danger", {
      title: `Delete ${truncate(project.name, 60)}?`,
      text: project.linked
        ? `*${escapeText(project.name)}* is forgotten by the bot; the project itself stays at the scanner.`
        : `*${escapeText(project.name)}* and its scan history are deleted at the scanner. This cannot be undone.`,
      confirm: "Delete",
    }),
  };
}

/**
 * One page of projects, inside 50 blocks and the message text budget. Pages are cut greedily from the
 * start, so page N is the same whoever asks; the last block names the next page.
 */
export function projectList(projects: readonly ProjectRecord[], page = 1): SlackMessage {
  if (projects.length === 0) {
    const text =
      "No projects yet. Create one with `/crashtest project create <name> <url>` or register an existing one with `/crashtest link <project-id> <name>`.";
    return message(text, [section(text)]);
  }
  // Header and paging note leave 48 blocks and most of the text budget to projects.
  const perPage = LIMITS.blocksPerMessage - 2;
  const budget = MESSAGE_TEXT_BUDGET - 500;
  const pages: KnownBlock[][] = [[]];
  let used = 0;
  for (const project of projects) {
    const block = projectBlock(project);
    const size = textOf(block);
    let current = pages.at(-1) as KnownBlock[];
    if (current.length > 0 && (current.length >= perPage || used + size > budget)) {
      current = [];
      pages.push(current);
      used = 0;
    }
    current.push(block);
    used += size;
  }
  const shown = pages[page - 1];
  const head = section(
    `*Projects* (${projects.length})${pages.length > 1 ? ` · page ${page} of ${pages.length}` : ""}`,
  );
  if (!shown) {
    return message(`No page ${page}`, [
      head,
      context(`There is no page ${page}; the list has ${pages.length}.`),
    ]);
  }
  const blocks: KnownBlock[] = [head, ...shown];
  const rest = pages.slice(page).reduce((n, p) => n + p.length, 0);
  if (rest > 0) {
    blocks.push(
      context(
        `…and ${rest} more blocks not shown: \`/crashtest projects page:${page + 1}\` lists the next ones.`,
      ),
    );
  }
  const count = `${projects.length} project${projects.length === 1 ? "" : "s"}`;
  return message(`${count}: ${projects.map((p) => p.name).join(", ")}`, blocks);
}
