import type { PlatformSchedule } from "../../domain/ports.js";
import type { ScheduleNotice } from "../../domain/schedules/ports.js";
import type { LastRun } from "../../domain/schedules/record.js";
import type { ScheduleView } from "../../domain/schedules/service.js";
import { button, slackDate } from "./cards.js";
import {
  context,
  escapeText,
  header,
  type KnownBlock,
  LIMITS,
  message,
  type SlackMessage,
  section,
  truncate,
} from "./common.js";

/** Action IDs of schedule buttons; values carry the schedule ID (and version), re-read at the click. */
export const SCHEDULE_ACTIONS = {
  approve: "schedule_approve",
  deny: "schedule_deny",
  pause: "schedule_pause",
  resume: "schedule_resume",
  delete: "schedule_delete",
} as const;

/** Each listed schedule takes two blocks (line, buttons): this many keep a list inside 50 blocks. */
const LISTED = 15;
const HOME_SHOWN = 10;

function status({ schedule, active }: ScheduleView): string {
  const { approval } = schedule;
  if (schedule.paused) return `:double_vertical_bar: Paused by <@${schedule.paused.by}>`;
  if (approval.status === "pending") return ":hourglass_flowing_sand: Waiting for approval";
  if (approval.status === "denied") return `:no_entry: Denied by <@${approval.by}>`;
  if (approval.status === "withdrawn") return `:leftwards_arrow_with_hook: Withdrawn by <@${approval.by}>`;
  if (!active) return ":hourglass_flowing_sand: Needs approval (REQUIRE_APPROVAL is on)";
  return approval.status === "approved"
    ? `:white_check_mark: Active, approved by <@${approval.by}>`
    : ":white_check_mark: Active";
}

const OUTCOME: Record<LastRun["outcome"], string> = {
  started: "started",
  attached: "attached to a running scan",
  retrying: "retrying",
  failed: "failed",
  target_changed: "not run: target changed",
  project_deleted: "not run: project deleted",
};

function lastRunText(run: LastRun | undefined): string {
  if (!run) return "never";
  const scan = run.scanId ? ` (scan ${escapeText(run.scanId)})` : "";
  const why = run.detail && run.outcome !== "started" ? `: ${escapeText(truncate(run.detail, 200))}` : "";
  return `${slackDate(run.due)}, ${OUTCOME[run.outcome]}${scan}${why}`;
}

function nextText(view: ScheduleView): string {
  if (!view.next) return "none";
  return view.active
    ? slackDate(view.next.at)
    : `${slackDate(view.next.at)} (will not run unless ${view.schedule.paused ? "resumed" : "approved"})`;
}

/** One schedule as a line: project, timing in words, next and last run, status. */
export function scheduleLine(view: ScheduleView): string {
  const { schedule } = view;
  return truncate(
    [
      `*${escapeText(schedule.projectName)}* · ${escapeText(view.words)} · \`${schedule.id}\``,
      `${status(view)} · made by <@${schedule.createdBy}> in <#${schedule.channel}>`,
      `Next run: ${nextText(view)} · Last run: ${lastRunText(schedule.lastRun)}`,
    ].join("\n"),
    LIMITS.sectionText,
  );
}

function scheduleButtons(view: ScheduleView): KnownBlock {
  const { schedule } = view;
  return {
    type: "actions",
    block_id: `schedule:${schedule.id}`,
    elements: [
      schedule.paused
        ? button("Resume", SCHEDULE_ACTIONS.resume, schedule.id, "primary")
        : button("Pause", SCHEDULE_ACTIONS.pause, schedule.id),
      button("Delete", SCHEDULE_ACTIONS.delete, schedule.id, "danger", {
        title: "Delete this schedule?",
        text: `*${escapeText(schedule.projectName)}* will no longer be scanned ${escapeText(view.words)}.`,
        confirm: "Delete",
      }),
    ],
  };
}

/** A platform schedule in the platform's own words, e.g. "WEEKLY on MONDAY at 13:50 America/New_York". */
export function platformLine(ps: PlatformSchedule): string {
  const every = ps.interval > 1 ? ` (every ${ps.interval})` : "";
  const on = ps.weekday ? ` on ${ps.weekday}` : ps.day ? ` on day ${ps.day === -1 ? "last" : ps.day}` : "";
  const next = ps.nextRunAt ? ` · next ${slackDate(ps.nextRunAt)}` : "";
  return escapeText(`${ps.frequency}${every}${on} at ${ps.time} ${ps.timezone} · ${ps.status}`) + next;
}

export interface PlatformSchedules {
  projectName: string;
  schedules: readonly PlatformSchedule[];
  /** Set when the platform could not be asked (the list still shows the bot's own). */
  problem?: string;
}

/** `schedules [project]`: the bot's schedules with buttons, then the platform's own, read-only. */
export function scheduleList(
  views: readonly ScheduleView[],
  platform: readonly PlatformSchedules[],
): SlackMessage {
  const blocks: KnownBlock[] = [header(`Scheduled scans (${views.length})`)];
  if (views.length === 0) {
    blocks.push(
      section(
        "No schedules yet. Make one with `/crashtest schedule <project> weekly monday at 02:00 tz=Europe/Berlin`.",
      ),
    );
  }
  for (const view of views.slice(0, LISTED)) blocks.push(section(scheduleLine(view)), scheduleButtons(view));
  if (views.length > LISTED) {
    blocks.push(
      context(`…and ${views.length - LISTED} more; \`/crashtest schedules <project>\` lists one project's.`),
    );
  }
  const withPlatform = platform.filter((p) => p.schedules.length > 0 || p.problem);
  if (withPlatform.length > 0) {
    const lines = withPlatform
      .slice(0, 10)
      .map((p) =>
        p.problem
          ? `*${escapeText(p.projectName)}*: ${escapeText(p.problem)}`
          : `*${escapeText(p.projectName)}*: ${p.schedules.slice(0, 5).map(platformLine).join("; ")}`,
      );
    blocks.push(
      section(
        `*Schedules on the scanning platform* (read-only; they run besides the bot's)\n${lines.join("\n")}`,
      ),
    );
  }
  return message(`Scheduled scans: ${views.length}`, blocks);
}

/** What the person who made or changed a schedule is told. */
export function scheduleSaved(
  view: ScheduleView,
  verb: "created" | "changed",
  approvalLink?: string,
): SlackMessage {
  const { schedule } = view;
  const waiting =
    schedule.approval.status === "pending"
      ? ` It runs once an approver other than you approves it${approvalLink ? ` (${approvalLink})` : ""}.`
      : ` Next run: ${view.next ? slackDate(view.next.at) : "none"}.`;
  const text = `Schedule \`${schedule.id}\` ${verb}: *${escapeText(schedule.projectName)}* ${escapeText(view.words)}.${waiting}`;
  return message(`Schedule ${schedule.id} ${verb}`, [section(text)]);
}

/** The approval request card of one version of a schedule; decided, it shows who decided. */
export function scheduleApprovalCard(view: ScheduleView): SlackMessage {
  const { schedule } = view;
  const { approval } = schedule;
  const what = `*${escapeText(schedule.projectName)}* (${escapeText(schedule.targetUrl || "unknown target")}) ${escapeText(view.words)}`;
  const decided =
    approval.status === "approved"
      ? `:white_check_mark: Approved by <@${approval.by}>`
      : approval.status === "denied"
        ? `:no_entry: Denied by <@${approval.by}>`
        : approval.status === "withdrawn"
          ? `:leftwards_arrow_with_hook: Withdrawn by <@${approval.by}>`
          : undefined;
  const blocks: KnownBlock[] = [
    section(`:calendar: *Scheduled scan request*\n${what}`),
    context(
      `Requested by <@${schedule.changedBy}> in <#${schedule.channel}> · schedule \`${schedule.id}\` version ${schedule.version} · first run ${view.next ? slackDate(view.next.at) : "none"}`,
    ),
  ];
  if (decided) blocks.push(section(decided));
  else {
    const ref = `${schedule.id}:${schedule.version}`;
    blocks.push({
      type: "actions",
      elements: [
        button("Approve", SCHEDULE_ACTIONS.approve, ref, "primary", {
          title: "Approve this schedule?",
          text: `Scans of ${what} will start on their own until the schedule changes.`,
          confirm: "Approve",
        }),
        button("Deny", SCHEDULE_ACTIONS.deny, ref, "danger"),
      ],
    });
  }
  return message(
    `Scheduled scan request for ${escapeText(schedule.projectName)}: ${approval.status}`,
    blocks,
  );
}

/** What a schedule says in its channel when a run did not start a scan of its own. */
export function scheduleNotice(view: ScheduleView, notice: ScheduleNotice, cardLink?: string): SlackMessage {
  const { schedule } = view;
  const name = `*${escapeText(schedule.projectName)}*`;
  const id = `\`${schedule.id}\``;
  const next = view.next ? ` Next run: ${slackDate(view.next.at)}.` : "";
  let text: string;
  switch (notice.kind) {
    case "attached":
      text = `:link: Schedule ${id} of ${name} found scan ${escapeText(notice.scan.scanId)} already running and did not start another; it counts as this run${cardLink ? ` (${cardLink})` : ""}.`;
      break;
    case "target_changed":
      text = `:warning: The target of ${name} changed from ${escapeText(notice.was || "unknown")} to ${escapeText(notice.now || "unknown")} since schedule ${id} was ${notice.approvalNeeded ? "approved" : "made"}; this run did not start.${
        notice.approvalNeeded
          ? ` It runs again once an approver other than <@${schedule.changedBy}> approves the new target.`
          : next
      }`;
      break;
    case "failed":
      text = `:x: Schedule ${id} could not start a scan of ${name} after ${notice.attempts} attempt${notice.attempts === 1 ? "" : "s"}: ${escapeText(truncate(notice.reason, 500))}${next}`;
      break;
    case "project_deleted":
      text = `:wastebasket: Project ${name} no longer exists, so schedule ${id} did not run. Delete it with \`/crashtest schedule delete ${schedule.id}\`.`;
      break;
  }
  return message(`Schedule ${schedule.id}: ${notice.kind.replace("_", " ")}`, [section(text)]);
}

/** App Home: the next scheduled scans the viewer may see, soonest first (two blocks at most). */
export function upcomingSchedulesBlocks(views: readonly ScheduleView[]): KnownBlock[] {
  const title = section(`*Next scheduled scans* (${views.length})`);
  if (views.length === 0) {
    return [
      title,
      context("No scans are scheduled. `/crashtest schedule <project> daily at 02:00` makes one."),
    ];
  }
  const lines = views
    .slice(0, HOME_SHOWN)
    .map(
      (view) =>
        `*${escapeText(view.schedule.projectName)}* · ${view.next ? slackDate(view.next.at) : "none"} · ${escapeText(view.words)} · \`${view.schedule.id}\``,
    );
  if (views.length > HOME_SHOWN)
    lines.push(`…and ${views.length - HOME_SHOWN} more: \`/crashtest schedules\`.`);
  return [title, section(lines.join("\n"))];
}
