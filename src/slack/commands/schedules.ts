import * as z from "zod";
import { AppError, quoted } from "../../domain/errors.js";
import { parseInput } from "../../domain/inputs.js";
import type { ScheduleView } from "../../domain/schedules/service.js";
import { TIMING_USAGE } from "../../domain/schedules/timing.js";
import { escapeText, message, section } from "../blocks/common.js";
import { type PlatformSchedules, scheduleList, scheduleSaved } from "../blocks/schedules.js";
import type { SurfaceDeps } from "../deps.js";
import { cardLink } from "../flows.js";
import type { CommandInvocation, CommandSpec } from "./table.js";

const CREATE = `schedule <project> ${TIMING_USAGE}`;
const EDIT = `schedule edit <id> <project> ${TIMING_USAGE}`;
/** Platform schedules are asked for this many projects at most per listing (one API call each). */
const PLATFORM_LOOKUPS = 10;

const scheduleId = z
  .string("is missing")
  .trim()
  .regex(/^[0-9a-f]{8}$/, "is the 8-character ID that `/crashtest schedules` shows");

const projectRef = z.string("is missing").trim().min(1, "is missing");

function idArg(args: string[], synopsis: string): string {
  return parseInput(scheduleId, args[0], "schedule ID", `/crashtest ${synopsis}`);
}

async function saved(
  deps: SurfaceDeps,
  reply: CommandInvocation["reply"],
  view: ScheduleView,
  verb: "created" | "changed",
) {
  const { approval } = view.schedule;
  const card = approval.status === "pending" ? approval.card : undefined;
  await reply(scheduleSaved(view, verb, card ? await cardLink(deps, card) : undefined));
}

export const scheduleCreate: CommandSpec<SurfaceDeps> = {
  name: "schedule",
  usage: `<project> ${TIMING_USAGE}`,
  summary: "Scan a project on a schedule.",
  details:
    'Examples: `schedule web-shop daily at 02:00`, `schedule web-shop weekly monday at 02:00 tz=Europe/Berlin`, `schedule web-shop monthly 1`, `schedule web-shop "0 2 * * 1-5" tz=America/New_York`. The time defaults to 02:00 and the zone to UTC. With approvals on, an approver other than you approves the schedule once; any change needs approval again.',
  async run({ args, userId, channelId, reply }, deps) {
    const project = parseInput(projectRef, args[0], "project", `/crashtest ${CREATE}`);
    const view = await deps.schedules.create(userId, channelId, project, args.slice(1));
    await saved(deps, reply, view, "created");
  },
};

export const scheduleEdit: CommandSpec<SurfaceDeps> = {
  name: "schedule edit",
  usage: "<id> <project> <timing>",
  summary: "Change a schedule's project or time (approved again).",
  details: `\`<timing>\` is as for \`schedule\`: \`${TIMING_USAGE}\`.`,
  async run({ args, userId, channelId, reply }, deps) {
    const id = idArg(args, EDIT);
    const project = parseInput(projectRef, args[1], "project", `/crashtest ${EDIT}`);
    const view = await deps.schedules.change(userId, channelId, id, project, args.slice(2));
    await saved(deps, reply, view, "changed");
  },
};

function simple(
  name: "delete" | "pause" | "resume",
  summary: string,
  done: (id: string, project: string) => string,
): CommandSpec<SurfaceDeps> {
  return {
    name: `schedule ${name}`,
    usage: "<id>",
    summary,
    async run({ args, userId, channelId, reply }, deps) {
      const id = idArg(args, `schedule ${name} <id>`);
      if (args.length > 1) {
        throw new AppError(
          "validation",
          `"${quoted(args.slice(1).join(" "))}" is more than this command takes.\nUsage: \`/crashtest schedule ${name} <id>\``,
        );
      }
      const schedule = await deps.schedules[name](userId, channelId, id);
      const text = done(schedule.id, escapeText(schedule.projectName));
      await reply(message(text.replace(/[*`]/g, ""), [section(text)]));
    },
  };
}

export const scheduleDelete = simple(
  "delete",
  "Delete a schedule.",
  (id, project) => `Schedule \`${id}\` of *${project}* deleted.`,
);
export const schedulePause = simple(
  "pause",
  "Pause a schedule.",
  (id, project) => `Schedule \`${id}\` of *${project}* paused; nothing runs until it is resumed.`,
);
export const scheduleResume = simple(
  "resume",
  "Resume a paused schedule.",
  (id, project) => `Schedule \`${id}\` of *${project}* resumed; runs missed while paused stay missed.`,
);

/** The scanning platform's own schedules of the listed projects, read-only; a failure is shown, not thrown. */
async function platformSchedules(deps: SurfaceDeps, projects: Array<{ id: string; name: string }>) {
  const read = deps.scanner.platformSchedules?.bind(deps.scanner);
  if (!read) return [];
  const out: PlatformSchedules[] = [];
  for (const project of projects.slice(0, PLATFORM_LOOKUPS)) {
    try {
      out.push({ projectName: project.name, schedules: await read(project.id) });
    } catch (error) {
      deps.logger.warn("platform schedules unreadable", { projectId: project.id, error });
      const why = error instanceof AppError ? error.userMessage : "the scanner did not answer";
      out.push({
        projectName: project.name,
        schedules: [],
        problem: `platform schedules unavailable (${why})`,
      });
    }
  }
  return out;
}

/**
 * Schedules of channels the person is in (admins: all), as App Home shows scans: a private channel's
 * schedules stay in it. A channel whose members the bot cannot read hides its schedules.
 */
async function visibleTo(deps: SurfaceDeps, user: string, here: string, views: ScheduleView[]) {
  if ((await deps.authz.rolesOf(user)).includes("admin")) return views;
  const member = new Map<string, boolean>([[here, true]]);
  const shown: ScheduleView[] = [];
  for (const view of views) {
    const { channel } = view.schedule;
    if (!member.has(channel)) {
      const members = await deps.slack.channelMembers(channel).catch(() => [] as string[]);
      member.set(channel, members.includes(user));
    }
    if (member.get(channel)) shown.push(view);
  }
  return shown;
}

export const schedulesList: CommandSpec<SurfaceDeps> = {
  name: "schedules",
  usage: "[project]",
  summary: "Scheduled scans with next and last run.",
  async run({ args, userId, channelId, reply }, deps) {
    if (args.length > 1) {
      throw new AppError(
        "validation",
        `"${quoted(args.join(" "))}" is more than one project.\nUsage: \`/crashtest schedules [project]\``,
      );
    }
    const views = await visibleTo(
      deps,
      userId,
      channelId,
      await deps.schedules.list(userId, channelId, args[0]),
    );
    const projects = args[0]
      ? [await deps.registry.resolve(args[0])]
      : [
          ...new Map(
            views.map((v) => [
              v.schedule.projectId,
              { id: v.schedule.projectId, name: v.schedule.projectName },
            ]),
          ).values(),
        ];
    await reply(scheduleList(views, await platformSchedules(deps, projects)));
  },
};
