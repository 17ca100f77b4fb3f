import { AppError, quoted } from "../../domain/errors.js";
import { parseInput, projectName, targetUrl } from "../../domain/inputs.js";
import type { ProjectRecord } from "../../domain/projects.js";
import { ACTIONS } from "../blocks/cards.js";
import { escapeText, message, type SlackMessage, section } from "../blocks/common.js";
import { projectList } from "../blocks/projects.js";
import type { SurfaceDeps } from "../deps.js";
import { projectModal } from "../views/project-modal.js";
import type { CommandSpec } from "./table.js";

const CREATE_USAGE = "/crashtest project create <name> <url> [option=value ...]";

/** `key=value` words after the URL: backend options such as DAST Essentials' target_type=API. */
function createOptions(words: string[]): Record<string, string> | undefined {
  if (words.length === 0) return undefined;
  const options: Record<string, string> = {};
  for (const word of words) {
    const match = /^([a-z_]{2,40})=(.{1,1000})$/i.exec(word);
    if (!match?.[1] || !match[2]) {
      throw new AppError(
        "validation",
        `"${quoted(word)}" is not an option; write it as name=value.\nUsage: \`${CREATE_USAGE}\``,
      );
    }
    options[match[1].toLowerCase()] = match[2];
  }
  return options;
}

/**
 * What a new project's creator must do next: scans fail ("Failed to verify the scan targets") until the
 * target serves its verification file (https://docs.veracode.com/r/crashtest-security-user-support,
 * github.com/crashtest-security/devsecops-example-heroku). The
 * simulator verifies nothing, so it gets no verification hint.
 */
export function projectCreatedMessage(project: ProjectRecord): SlackMessage {
  const verify = project.backend !== "simulator";
  const text =
    `Project *${escapeText(project.name)}* created (ID \`${escapeText(project.id)}\`) for ${escapeText(project.url)}.\n` +
    (verify
      ? ":warning: *Verify the target before scanning.* The scanner only scans sites whose owner proved control: in the " +
        "project's settings at the scanner, download the verification file (named like `crashtest-1a2b3c4d.html`) and " +
        'serve it at the web root of the target. Until then scans fail with "Failed to verify the scan targets".\n' +
        "Then: "
      : "Next: ") +
    `\`/crashtest scan start ${escapeText(project.name)}\``;
  return message(
    verify
      ? `Project ${project.name} created; verify the target before scanning`
      : `Project ${project.name} created`,
    [section(text)],
  );
}

export const projectCreate: CommandSpec<SurfaceDeps> = {
  name: "project create",
  usage: "<name> <url> [option=value ...]",
  summary: "Create a scan target (opens a form when arguments are missing).",
  details:
    'Options depend on the scanner. DAST Essentials: `target_type=WEB_APP|API`, `scan_type=QUICK|FULL|ENTERPRISE`, `api_spec_url=<url>` (API targets), `team=<team-id>`, `description="…"`.',
  async run({ args, userId, channelId, triggerId, reply }, deps) {
    await deps.authz.require(userId, "create_project", channelId);
    const [rawName, rawUrl, ...rest] = args;
    const options = createOptions(rest);
    const name = projectName.safeParse(rawName ?? "");
    const url = targetUrl(deps.settings.allowPrivateTargets).safeParse(rawUrl ?? "");
    if ((!name.success || !url.success) && triggerId && args.length < 2) {
      await deps.slack.openView(
        triggerId,
        projectModal({
          channel: channelId,
          ...(rawName ? { name: rawName } : {}),
          ...(rawUrl ? { url: rawUrl } : {}),
        }),
      );
      return;
    }
    const created = await deps.projects.create(userId, channelId, {
      name: parseInput(projectName, rawName ?? "", "project name", CREATE_USAGE),
      url: parseInput(targetUrl(deps.settings.allowPrivateTargets), rawUrl ?? "", "target URL", CREATE_USAGE),
      ...(options ? { options } : {}),
    });
    await reply(projectCreatedMessage(created));
  },
};

export const projectDelete: CommandSpec<SurfaceDeps> = {
  name: "project delete",
  usage: "<project>",
  summary: "Delete a project (asks for confirmation).",
  async run({ args, userId, channelId, reply }, deps) {
    const ref = args[0];
    if (!ref)
      throw new AppError("validation", "Missing the project.\nUsage: `/crashtest project delete <project>`");
    const project = await deps.projects.prepareDelete(userId, channelId, ref);
    const list = projectList([project]);
    const text = `Delete *${escapeText(project.name)}*? Press Delete and confirm.`;
    await reply({ text, blocks: [section(text), ...list.blocks.slice(1)] });
  },
};

export const projects: CommandSpec<SurfaceDeps> = {
  name: "projects",
  usage: "[page:2]",
  summary: "List the projects this workspace knows, with their IDs (a page at a time).",
  async run({ args, userId, channelId, reply }, deps) {
    await deps.authz.require(userId, "view", channelId);
    const page = /^(?:page:)?(\d{1,5})$/.exec(args[0] ?? "page:1")?.[1];
    if (args.length > 1 || !page || Number(page) < 1) {
      throw new AppError("validation", "Give a page number.\nUsage: `/crashtest projects [page:2]`");
    }
    await reply(projectList(await deps.registry.list(), Number(page)));
  },
};

export const link: CommandSpec<SurfaceDeps> = {
  name: "link",
  usage: "<project-id> [name]",
  summary: "Register an existing scanner project under a friendly name.",
  async run({ args, userId, channelId, reply }, deps) {
    const [id, rawName] = args;
    if (!id || !/^[A-Za-z0-9:_-]{1,64}$/.test(id)) {
      throw new AppError(
        "validation",
        "Give the scanner's project ID.\nUsage: `/crashtest link <project-id> [name]`",
      );
    }
    const name = parseInput(
      projectName,
      rawName ?? `project-${id}`,
      "project name",
      "/crashtest link <project-id> [name]",
    );
    const project = await deps.projects.link(userId, channelId, id, name);
    await reply(
      message(`Linked ${project.name}`, [
        section(`Project \`${escapeText(project.id)}\` is now known as *${escapeText(project.name)}*.`),
      ]),
    );
  },
};

export const DELETE_ACTION = ACTIONS.deleteProject;
