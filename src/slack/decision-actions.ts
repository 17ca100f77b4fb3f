import type { App, BlockAction } from "@slack/bolt";
import * as z from "zod";
import { AppError } from "../domain/errors.js";
import type { DecisionNotices } from "../domain/findings/decision-expiry.js";
import { KIND_WORDS } from "../domain/findings/decision-record.js";
import type { DecisionKind, DecisionRequest } from "../domain/findings/decisions.js";
import { readOutside } from "../domain/outside.js";
import { slackDate } from "./blocks/cards.js";
import { message, type SlackMessage, section } from "./blocks/common.js";
import {
  acceptanceExpiredMessage,
  DECISION_ACTIONS,
  decisionCard,
  type FindingRef,
  readFindingRef,
} from "./blocks/decisions.js";
import { findingsCommand } from "./commands/findings.js";
import type { SurfaceDeps } from "./deps.js";
import { errorReply } from "./errors.js";
import { auditFailure, cardLink } from "./flows.js";
import { routeApproval } from "./subscriptions.js";
import {
  DECISION_MODAL,
  decisionModal,
  readDecisionModal,
  readDecisionModalMetadata,
} from "./views/decision-modal.js";

/** What Bolt hands a block action, read through one schema: the value of a button or menu option. */
const actionSchema = z.looseObject({
  action_ts: z.string().max(40),
  value: z.string().max(2000).optional(),
  selected_option: z.object({ value: z.string().max(2000) }).optional(),
});

interface Press {
  user: string;
  channel: string | undefined;
  triggerId: string;
  value: string;
  reply(content: SlackMessage): Promise<void>;
}

const SCAN_ID = /^[A-Za-z0-9:_.-]{1,100}$/;
const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Accept risk / False positive: the finding's buttons open the form, its submission posts the request
 * card, Approve and Deny on the card decide. Every press is re-authorized by the domain at that moment;
 * a redelivered press (same action_ts) runs once; refusals are audited and answered only to the presser.
 */
export function registerDecisionActions(app: App, deps: SurfaceDeps): void {
  const on = (actionId: string, name: string, handle: (press: Press) => Promise<void>) => {
    app.action<BlockAction>(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const user = body.user.id;
      const channel = body.channel?.id ?? body.container?.channel_id;
      const log = deps.logger.child({ action: name, user, channel });
      const read = readOutside(actionSchema, action);
      const press: Press = {
        user,
        channel,
        triggerId: body.trigger_id,
        value: read?.value ?? read?.selected_option?.value ?? "",
        async reply(content) {
          try {
            await respond({ response_type: "ephemeral", replace_original: false, ...content });
          } catch (error) {
            log.warn("response_url refused the reply", { error });
            if (channel) await deps.slack.ephemeral(channel, user, content);
          }
        },
      };
      deps.tasks.run(`button ${name}`, async () => {
        try {
          if (!read) throw invalidButton();
          const first = await deps.store.add("clicks", `${read.action_ts}:${user}:${actionId}`, 1, 3600_000);
          if (!first) {
            log.info("duplicate click delivery ignored", { actionTs: read.action_ts });
            return;
          }
          await handle(press);
        } catch (error) {
          const kind = error instanceof AppError ? error.kind : "internal";
          await auditFailure(deps, { user, action: name, target: press.value.slice(0, 100), kind });
          await press.reply(errorReply(error, log, { action: name }));
        }
      });
    });
  };

  const openForm = (fixed?: DecisionKind) => async (press: Press) => {
    const ref = readFindingRef(press.value);
    const kind = fixed ?? ref?.kind;
    if (!ref || !kind) throw invalidButton();
    await showForm(deps, press, ref, kind);
  };
  on(DECISION_ACTIONS.accept, "finding.decision.open", openForm("accepted"));
  on(DECISION_ACTIONS.falsePositive, "finding.decision.open", openForm("false_positive"));
  on(DECISION_ACTIONS.menu, "finding.decision.open", openForm());

  const decide = (decision: "approve" | "deny") => async (press: Press) => {
    if (!REQUEST_ID.test(press.value)) throw invalidButton();
    let decided: DecisionRequest;
    try {
      decided = await deps.decisions.decide(press.value, press.user, decision, press.channel);
    } catch (error) {
      // A press that ended the request (expired, project gone) shows it on the card.
      const request = await deps.decisions.get(press.value);
      if (request?.card && request.status !== "pending") {
        await deps.slack.update(request.card, decisionCard(request));
      }
      throw error;
    }
    if (decided.card) {
      await deps.slack.update(decided.card, decisionCard(decided));
      await deps.slack.note(decided.card, decisionNote(decided, press.user));
    }
    // The requester hears the outcome in their DM (notify on), as for a scan request.
    await routeApproval(deps, decided);
  };
  // The project's open findings as `findings <project>` lists them, with the menu on each.
  on(DECISION_ACTIONS.review, "findings.review", async (press) => {
    if (!SCAN_ID.test(press.value)) throw invalidButton();
    const scan = await deps.scans.getScan(press.value);
    if (!scan || !press.channel) throw new AppError("not_found", "This scan is no longer known to the bot.");
    await findingsCommand.run(
      {
        userId: press.user,
        channelId: press.channel,
        teamId: undefined,
        args: [scan.projectId, "open"],
        text: "",
        triggerId: press.triggerId,
        reply: (content) => press.reply({ text: content.text, blocks: content.blocks ?? [] }),
      },
      deps,
    );
  });
  on(DECISION_ACTIONS.approve, "finding.decision.approve", decide("approve"));
  on(DECISION_ACTIONS.deny, "finding.decision.deny", decide("deny"));

  app.view(DECISION_MODAL, async ({ ack, body, view }) => {
    const user = body.user.id;
    const metadata = readDecisionModalMetadata(view.private_metadata);
    if (!metadata) {
      await ack({
        response_action: "errors",
        errors: { reason: "This form is no longer valid. Close it and press the finding's button again." },
      });
      deps.logger.warn("decision modal with invalid private_metadata refused", { user });
      return;
    }
    const { reason, days } = readDecisionModal(view.state.values);
    const errors: Record<string, string> = {};
    const length = reason.trim().length;
    if (length < 10 || length > 500) errors.reason = "Give a reason of 10 to 500 characters.";
    if (metadata.kind === "accepted" && days === undefined) errors.expiry = "Choose 30, 90 or 180 days.";
    if (Object.keys(errors).length > 0) {
      await ack({ response_action: "errors", errors });
      return;
    }
    await ack();
    const { channel, kind } = metadata;
    const log = deps.logger.child({ view: DECISION_MODAL, user, channel });
    deps.tasks.run("decision modal", async () => {
      try {
        const request = await deps.decisions.open(user, channel, {
          projectId: metadata.projectId,
          fingerprint: metadata.fingerprint,
          kind,
          reason,
          ...(days !== undefined ? { days } : {}),
        });
        const where = request.approvalChannel ?? request.channel;
        const card = await deps.slack.post(where, decisionCard(request));
        const posted = (await deps.decisions.cardPosted(request.id, card)) ?? { ...request, card };
        // Channels subscribed to `approval` hear of it, with a link to the card.
        await routeApproval(deps, posted);
        const text = `Asked for approval of this ${KIND_WORDS[kind]}: see the ${await cardLink(deps, card)}. An approver other than you decides.`;
        await deps.slack.ephemeral(channel, user, message(text, [section(text)]));
      } catch (error) {
        const failure = error instanceof AppError ? error.kind : "internal";
        await auditFailure(deps, {
          user,
          action: `finding.${kind}.request`,
          target: `${metadata.projectId} finding ${metadata.fingerprint}`.slice(0, 100),
          kind: failure,
        });
        await deps.slack.ephemeral(channel, user, errorReply(error, log, { view: DECISION_MODAL }));
      }
    });
  });
}

/** Checks that the presser may ask at all, then opens the form within Slack's 3 s trigger window. */
async function showForm(deps: SurfaceDeps, press: Press, ref: FindingRef, kind: DecisionKind) {
  if (!press.channel) {
    throw new AppError("validation", "Ask from the findings list in a channel, so approvers can see it.");
  }
  await deps.authz.require(press.user, "report", press.channel);
  const project = await deps.registry.get(ref.projectId);
  if (!project) throw new AppError("not_found", "This project is no longer registered.");
  const finding = await deps.decisions.subject(project.id, ref.fingerprint);
  await deps.slack.openView(
    press.triggerId,
    decisionModal({
      kind,
      projectId: project.id,
      projectName: project.name,
      fingerprint: ref.fingerprint,
      channel: press.channel,
      ...(finding ? { finding } : {}),
      ttlHours: Math.round(deps.decisions.requestTtlMs / 3600_000),
    }),
  );
}

function decisionNote(request: DecisionRequest, user: string): string {
  const who = `<@${user}>`;
  switch (request.status) {
    case "approved":
      return request.validUntil
        ? `:white_check_mark: Approved by ${who}; the risk is accepted until ${slackDate(request.validUntil)}.`
        : `:white_check_mark: Approved by ${who}; the finding is a false positive from now on.`;
    case "withdrawn":
      return `:leftwards_arrow_with_hook: Withdrawn by ${who}.`;
    default:
      return `:no_entry: Denied by ${who}; the finding stays open.`;
  }
}

function invalidButton(): AppError {
  return new AppError("validation", "This button is not valid any more.", {
    detail: "button value failed validation",
  });
}

/** The ends of decisions, rendered: the expiry line in the request's channel, ended cards refreshed. */
export function decisionNotices(
  deps: Pick<SurfaceDeps, "slack" | "notifications" | "logger">,
): DecisionNotices {
  const { slack } = deps;
  return {
    acceptanceExpired: async (request) => {
      await slack.post(request.channel, acceptanceExpiredMessage(request));
    },
    requestEnded: async (request) => {
      if (request.card) await slack.update(request.card, decisionCard(request));
      // Nobody decided in time: the requester hears it (notify on).
      await routeApproval(deps, request);
    },
  };
}
