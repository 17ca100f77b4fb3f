import type { App, BlockAction, ButtonAction } from "@slack/bolt";
import { AppError } from "../domain/errors.js";
import type { Decision } from "../domain/scans.js";
import { ACTIONS, approvalCard } from "./blocks/cards.js";
import { escapeText, message, type SlackMessage, section } from "./blocks/common.js";
import type { SurfaceDeps } from "./deps.js";
import { errorReply } from "./errors.js";
import { announceScan, auditFailure, stopScan } from "./flows.js";

interface Click {
  user: string;
  channel: string | undefined;
  value: string;
  /** Answers only the person who clicked. */
  reply(message: SlackMessage, replaceOriginal?: boolean): Promise<void>;
}

/**
 * Buttons carry an opaque ID; everything else is re-read from the store and re-authorized at click
 * time, so an edited payload cannot escalate. A redelivered click (same action_ts) runs once.
 */
export function registerActions(app: App, deps: SurfaceDeps): void {
  const on = (actionId: string, name: string, handle: (click: Click) => Promise<void>) => {
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const user = body.user.id;
      const channel = body.channel?.id ?? body.container?.channel_id;
      const log = deps.logger.child({ action: name, user, channel });
      const click: Click = {
        user,
        channel,
        value: typeof action.value === "string" ? action.value : "",
        async reply(content, replaceOriginal = false) {
          try {
            await respond({ response_type: "ephemeral", replace_original: replaceOriginal, ...content });
          } catch (error) {
            log.warn("response_url refused the reply", { error });
            if (channel) await deps.slack.ephemeral(channel, user, content);
          }
        },
      };
      deps.tasks.run(`button ${name}`, async () => {
        const first = await deps.store.add("clicks", `${action.action_ts}:${user}:${actionId}`, 1, 3600_000);
        if (!first) {
          log.info("duplicate click delivery ignored", { actionTs: action.action_ts });
          return;
        }
        try {
          if (!/^[A-Za-z0-9:_-]{1,100}$/.test(click.value)) {
            throw new AppError("validation", "This button is not valid any more.", {
              detail: "button value failed validation",
            });
          }
          await handle(click);
        } catch (error) {
          const kind = error instanceof AppError ? error.kind : "internal";
          await auditFailure(deps, { user, action: name, target: click.value.slice(0, 100), kind });
          await click.reply(errorReply(error, log, { action: name }));
        }
      });
    });
  };

  const decide = (decision: Decision) => async (click: Click) => {
    let result: Awaited<ReturnType<typeof deps.scans.decide>>;
    try {
      result = await deps.scans.decide(click.value, click.user, decision);
    } catch (error) {
      // An expired request still shows buttons: replace them with the expiry note.
      const request = await deps.scans.getApproval(click.value);
      if (request?.card && request.status === "expired")
        await deps.slack.update(request.card, approvalCard(request));
      throw error;
    }
    const { request } = result;
    if (request.card) {
      await deps.slack.update(request.card, approvalCard(request));
      await deps.slack.note(
        request.card,
        `${decision === "approve" ? ":white_check_mark: Approved" : ":no_entry: Denied"} by <@${click.user}>.`,
      );
    }
    if (result.scan) {
      const announced = await announceScan(deps, result.scan, result.alreadyRunning ?? false);
      await click.reply(announced.reply);
    }
  };

  on(ACTIONS.approve, "scan.approve", decide("approve"));
  on(ACTIONS.deny, "scan.deny", decide("deny"));

  on(ACTIONS.stop, "scan.stop", async (click) => {
    await stopScan(deps, click.value, click.user, click.channel);
  });

  on(ACTIONS.deleteProject, "project.delete", async (click) => {
    const project = await deps.projects.delete(click.user, click.channel ?? "", click.value);
    const text = `Project *${escapeText(project.name)}* (\`${escapeText(project.id)}\`) deleted.`;
    await click.reply(message(`Project ${project.name} deleted`, [section(text)]), true);
  });
}
