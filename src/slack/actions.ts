import type { App, BlockAction, ButtonAction, StaticSelectAction } from "@slack/bolt";
import { AppError } from "../domain/errors.js";
import type { Decision } from "../domain/scans.js";
import { ACTIONS } from "./blocks/cards.js";
import { escapeText, message, type SlackMessage, section } from "./blocks/common.js";
import { SUBSCRIPTION_ACTIONS, subscriptionList } from "./blocks/subscriptions.js";
import { reportClicked, rescanClicked } from "./card-actions.js";
import type { SurfaceDeps } from "./deps.js";
import { errorReply } from "./errors.js";
import { announcedReply, auditFailure, showApproval } from "./flows.js";

export interface Click {
  user: string;
  channel: string | undefined;
  value: string;
  /** Answers only the person who clicked. */
  reply(message: SlackMessage, replaceOriginal?: boolean): Promise<void>;
}

/**
 * Registers one button (or menu): acked at once, handled in the background, a redelivered click (same
 * action_ts) run once, the value checked, refusals audited and answered to the clicker only.
 */
export function buttonListener(app: App, deps: SurfaceDeps) {
  return (actionId: string, name: string, handle: (click: Click) => Promise<void>) => {
    app.action<BlockAction<ButtonAction | StaticSelectAction>>(
      actionId,
      async ({ ack, body, action, respond }) => {
        await ack();
        const user = body.user.id;
        const channel = body.channel?.id ?? body.container?.channel_id;
        const log = deps.logger.child({ action: name, user, channel });
        // A button's value, or the option chosen in a menu.
        const value = action.type === "static_select" ? action.selected_option?.value : action.value;
        const click: Click = {
          user,
          channel,
          value: typeof value === "string" ? value : "",
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
          const first = await deps.store.add(
            "clicks",
            `${action.action_ts}:${user}:${actionId}`,
            1,
            3600_000,
          );
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
      },
    );
  };
}

/**
 * Buttons carry an opaque ID; everything else is re-read from the store and re-authorized at click
 * time, so an edited payload cannot escalate. A redelivered click (same action_ts) runs once.
 */
export function registerActions(app: App, deps: SurfaceDeps): void {
  const on = buttonListener(app, deps);

  /** After a decision or Retry: the card shows the outcome, its thread says who did what. */
  const settle = async (
    click: Click,
    outcome: Awaited<ReturnType<typeof deps.scans.decide>>,
    retried = false,
  ) => {
    const { request } = outcome;
    const who = `<@${click.user}>`;
    if (outcome.failure) {
      const reason = escapeText(outcome.failure.userMessage);
      await showApproval(
        deps,
        request,
        `:warning: <@${request.requestedBy}>, your scan of *${escapeText(request.projectName)}* was approved by <@${request.decidedBy ?? click.user}> but did not start: ${reason} An approver can press Retry on the card.`,
      );
      const text = `Approved, but the scan did not start: ${reason} Press Retry on the card once the cause is fixed.`;
      await click.reply(message(text, [section(text)]));
      return;
    }
    const note =
      request.status === "withdrawn"
        ? `:leftwards_arrow_with_hook: Withdrawn by ${who}.`
        : request.status === "denied"
          ? `:no_entry: Denied by ${who}.`
          : retried
            ? `:arrows_counterclockwise: Started by ${who} on retry.`
            : `:white_check_mark: Approved by ${who}.`;
    await showApproval(deps, request, note);
    if (outcome.started) await click.reply(await announcedReply(deps, outcome.started));
  };

  /** A click that ended the request (expired, project gone, target changed) refreshes its card. */
  const refreshOnFailure = async (requestId: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (error) {
      const request = await deps.scans.getApproval(requestId);
      if (request?.card && request.status === "expired") await showApproval(deps, request);
      throw error;
    }
  };

  const decide = (decision: Decision) => (click: Click) =>
    refreshOnFailure(click.value, async () => {
      await settle(click, await deps.scans.decide(click.value, click.user, decision, click.channel));
    });

  on(ACTIONS.approve, "scan.approve", decide("approve"));
  on(ACTIONS.deny, "scan.deny", decide("deny"));
  on(ACTIONS.retry, "scan.retry", (click) =>
    refreshOnFailure(click.value, async () => {
      await settle(click, await deps.scans.retry(click.value, click.user, click.channel), true);
    }),
  );

  on(ACTIONS.stop, "scan.stop", async (click) => {
    await deps.scans.stop(click.value, click.user, click.channel);
  });

  on(SUBSCRIPTION_ACTIONS.remove, "subscription.remove", async (click) => {
    const channel = click.channel ?? "";
    await deps.subscriptions.remove(click.user, channel, click.value);
    const view = await deps.subscriptions.list(click.user, channel);
    await click.reply(subscriptionList(view.subscriptions, view.settings), true);
  });

  on(ACTIONS.report, "scan.report", (click) => reportClicked(deps, click));
  on(ACTIONS.rescan, "scan.rescan", (click) => rescanClicked(deps, click));
  // A link button: Slack opens the URL and still sends the click, which only needs its ack.
  app.action(ACTIONS.openScanner, async ({ ack }) => {
    await ack();
  });

  on(ACTIONS.deleteProject, "project.delete", async (click) => {
    const { project, expiredRequests } = await deps.projects.delete(
      click.user,
      click.channel ?? "",
      click.value,
    );
    for (const request of expiredRequests) {
      await showApproval(
        deps,
        request,
        `:wastebasket: Project deleted by <@${click.user}>; this request has ended.`,
      );
    }
    const text = `Project *${escapeText(project.name)}* (\`${escapeText(project.id)}\`) deleted.`;
    await click.reply(message(`Project ${project.name} deleted`, [section(text)]), true);
  });
}
