import * as z from "zod";
import {
  type DecisionKind,
  type DecisionRequest,
  type DecisionSubject,
  KIND_WORDS,
} from "../../domain/findings/decision-record.js";
import type { Fingerprint } from "../../domain/findings/types.js";
import { readOutside } from "../../domain/outside.js";
import { button, slackDate } from "./cards.js";
import { context, escapeText, type KnownBlock, message, type SlackMessage, section } from "./common.js";
import { reportText } from "./findings.js";

/**
 * Accept-risk and false-positive decisions in Slack: the entry points on a finding, the request card
 * with Approve/Deny, the expiry line. Values carry IDs only (project ID and fingerprint, or the
 * request ID); the server re-reads and re-authorizes everything else when a button is pressed.
 */

export const DECISION_ACTIONS = {
  accept: "finding_accept",
  falsePositive: "finding_false_positive",
  /** The overflow menu (both choices) for a finding's accessory slot. */
  menu: "finding_decide",
  approve: "finding_decision_approve",
  deny: "finding_decision_deny",
  /** On a scan's findings summary: the project's open findings, each with the menu. */
  review: "findings_review",
} as const;

/** "Review findings" for the summary's actions: per-finding menus for every finding would not fit it. */
export function reviewFindingsButton(scanId: string) {
  return button("Review findings", DECISION_ACTIONS.review, scanId);
}

/** Slack's limit for an overflow option's value (https://docs.slack.dev/reference/block-kit/composition-objects/option-object). */
const OPTION_VALUE_MAX = 150;

const KIND_CODE: Record<DecisionKind, "a" | "f"> = { accepted: "a", false_positive: "f" };

/** Visible ASCII without Slack's markup characters and quotes: an ID, never text. */
const ID = /^[A-Za-z0-9!#$%()*+,\-./:;=?@[\]^_{|}~]+$/;

/** A finding as a button names it: the project ID and the fingerprint, nothing else. */
export const findingRefSchema = z.strictObject({
  p: z.string().max(100).regex(ID),
  f: z.string().max(256).regex(ID),
  k: z.enum(["a", "f"]).optional(),
});

export interface FindingRef {
  projectId: string;
  fingerprint: Fingerprint;
  kind?: DecisionKind;
}

const encode = (ref: FindingRef) =>
  JSON.stringify({
    p: ref.projectId,
    f: ref.fingerprint,
    ...(ref.kind ? { k: KIND_CODE[ref.kind] } : {}),
  });

/** What a finding's button or menu option carried, or undefined when it is not what the bot wrote. */
export function readFindingRef(raw: unknown): FindingRef | undefined {
  if (typeof raw !== "string" || raw.length > 2000) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const ref = readOutside(findingRefSchema, json);
  if (!ref) return undefined;
  const kind = ref.k === "a" ? "accepted" : ref.k === "f" ? "false_positive" : undefined;
  return { projectId: ref.p, fingerprint: ref.f, ...(kind ? { kind } : {}) };
}

/** "Accept risk" and "False positive" for an actions block under a finding. */
export function decisionButtons(projectId: string, fingerprint: Fingerprint) {
  const value = encode({ projectId, fingerprint });
  return [
    button("Accept risk…", DECISION_ACTIONS.accept, value),
    button("False positive…", DECISION_ACTIONS.falsePositive, value),
  ];
}

/**
 * Both choices as one overflow menu, for a finding section's accessory (no extra block per finding).
 * Undefined when the IDs do not fit an option's 150 characters: use decisionButtons then.
 */
export function decisionMenu(projectId: string, fingerprint: Fingerprint) {
  const option = (text: string, kind: DecisionKind) => ({
    text: { type: "plain_text" as const, text },
    value: encode({ projectId, fingerprint, kind }),
  });
  const options = [option("Accept risk…", "accepted"), option("False positive…", "false_positive")];
  if (options.some((o) => o.value.length > OPTION_VALUE_MAX)) return undefined;
  return { type: "overflow" as const, action_id: DECISION_ACTIONS.menu, options };
}

/** The finding as one line: severity, title, where (all scanner text, escaped). */
export function subjectLine(subject: DecisionSubject | undefined, fingerprint: Fingerprint): string {
  if (!subject) return `finding \`${reportText(fingerprint.replace(/`/g, "'"), 120)}\``;
  const where = subject.location ? ` · ${reportText(subject.location, 120)}` : "";
  return `*${reportText(subject.title, 120)}* (${subject.severity})${where}`;
}

const TITLE: Record<DecisionKind, string> = {
  accepted: ":shield: *Risk acceptance request*",
  false_positive: ":white_circle: *False positive request*",
};

function term(request: DecisionRequest): string {
  if (request.kind === "false_positive") return "does not expire";
  if (request.validUntil) return `in force until ${slackDate(request.validUntil)}`;
  return `for ${request.days ?? "?"} days once approved`;
}

/** The request card where approvers see it; edited in place when decided or ended. */
export function decisionCard(request: DecisionRequest): SlackMessage {
  const what = subjectLine(request.finding, request.fingerprint);
  const head = `${TITLE[request.kind]} in *${escapeText(request.projectName)}* (ID \`${escapeText(request.projectId)}\`)\n${what}`;
  const reason = `>${reportText(request.reason, 500)}`;
  const requested = `Requested by <@${request.requestedBy}> · ${term(request)}`;
  const who = request.decidedBy ? ` by <@${request.decidedBy}>` : "";
  const when = request.decidedAt ? ` at ${slackDate(request.decidedAt)}` : "";
  const blocks: KnownBlock[] = [section(head), section(reason)];
  switch (request.status) {
    case "pending":
      blocks.push(
        context(
          `${requested} · needs an approver other than the requester · expires ${slackDate(request.expiresAt)}`,
        ),
        {
          type: "actions",
          elements: [
            button("Approve", DECISION_ACTIONS.approve, request.id, "primary"),
            button("Deny", DECISION_ACTIONS.deny, request.id, "danger", {
              title: `Deny this ${KIND_WORDS[request.kind]}?`,
              text: "The finding stays open.",
              confirm: "Deny",
            }),
          ],
        },
      );
      break;
    case "approved":
      blocks.push(context(`${requested} · :white_check_mark: Approved${who}${when}`));
      break;
    case "denied":
      blocks.push(context(`${requested} · :no_entry: Denied${who}${when}; the finding stays open`));
      break;
    case "withdrawn":
      blocks.push(context(`${requested} · :leftwards_arrow_with_hook: Withdrawn${who}${when}`));
      break;
    case "expired":
      blocks.push(
        context(
          request.ended
            ? `${requested} · :no_entry_sign: ended: ${escapeText(request.ended)}`
            : `${requested} · :hourglass: expired ${slackDate(request.expiresAt)} without a decision`,
        ),
      );
      break;
  }
  const text = `${KIND_WORDS[request.kind]} request in ${request.projectName}: ${request.status}`;
  return message(text, blocks);
}

/** The one line in the request's channel when a risk acceptance runs out. */
export function acceptanceExpiredMessage(request: DecisionRequest): SlackMessage {
  const what = subjectLine(request.finding, request.fingerprint);
  const approved = request.decidedBy ? ` (approved by <@${request.decidedBy}>)` : "";
  const line = `:hourglass: Risk acceptance by <@${request.requestedBy}>${approved} for ${what} in *${escapeText(request.projectName)}* expired; the finding counts as open again.`;
  return message(
    `Risk acceptance for a finding in ${request.projectName} expired; it counts as open again.`,
    [section(line)],
  );
}
