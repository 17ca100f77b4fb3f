import type { App } from "@slack/bolt";
import type { ScheduleOutput } from "../domain/schedules/ports.js";
import { buttonListener } from "./actions.js";
import { slackDate } from "./blocks/cards.js";
import { escapeText, message, section } from "./blocks/common.js";
import { SCHEDULE_ACTIONS, scheduleApprovalCard, scheduleNotice } from "./blocks/schedules.js";
import type { SurfaceDeps } from "./deps.js";
import type { SlackGateway } from "./gateway.js";

/** Renders what schedules say (domain ScheduleOutput) as Slack messages; writes no record. */
export function scheduleOutput(
  slack: Pick<SlackGateway, "post" | "update" | "note" | "linkTo">,
  approvalChannel?: string,
): ScheduleOutput {
  return {
    requestApproval: (view) =>
      slack.post(approvalChannel ?? view.schedule.channel, scheduleApprovalCard(view)),
    showApproval: async (view, card) => {
      await slack.update(card, scheduleApprovalCard(view));
      const { approval } = view.schedule;
      if ("by" in approval) await slack.note(card, `Schedule ${approval.status} by <@${approval.by}>.`);
    },
    notice: async (view, notice) => {
      const card = notice.kind === "attached" ? notice.scan.card : undefined;
      const link = card ? await slack.linkTo(card, "its card") : undefined;
      await slack.post(view.schedule.channel, scheduleNotice(view, notice, link));
    },
  };
}

/** Approve/Deny on a schedule's request card, Pause/Resume/Delete on the `schedules` list. */
export function registerScheduleActions(app: App, deps: SurfaceDeps): void {
  const on = buttonListener(app, deps);
  const say = (text: string) => message(text.replace(/[*`]/g, ""), [section(text)]);

  for (const decision of ["approve", "deny"] as const) {
    on(SCHEDULE_ACTIONS[decision], `schedule.${decision}`, async (click) => {
      const decided = await deps.schedules.decide(click.value, click.user, decision, click.channel);
      const view = deps.schedules.view(decided);
      await click.reply(
        say(
          decided.approval.status === "approved"
            ? `Schedule \`${decided.id}\` approved: *${escapeText(decided.projectName)}* ${escapeText(view.words)}.`
            : `Schedule \`${decided.id}\` ${decided.approval.status}; it will not run.`,
        ),
      );
    });
  }
  on(SCHEDULE_ACTIONS.pause, "schedule.pause", async (click) => {
    const paused = await deps.schedules.pause(click.user, click.channel, click.value);
    await click.reply(
      say(
        `Schedule \`${paused.id}\` of *${escapeText(paused.projectName)}* paused; nothing runs until it is resumed.`,
      ),
    );
  });
  on(SCHEDULE_ACTIONS.resume, "schedule.resume", async (click) => {
    const view = deps.schedules.view(await deps.schedules.resume(click.user, click.channel, click.value));
    const next = view.next && view.active ? ` Next run: ${slackDate(view.next.at)}.` : "";
    await click.reply(
      say(`Schedule \`${view.schedule.id}\` resumed; runs missed while paused stay missed.${next}`),
    );
  });
  on(SCHEDULE_ACTIONS.delete, "schedule.delete", async (click) => {
    const gone = await deps.schedules.delete(click.user, click.channel, click.value);
    await click.reply(say(`Schedule \`${gone.id}\` of *${escapeText(gone.projectName)}* deleted.`));
  });
}
