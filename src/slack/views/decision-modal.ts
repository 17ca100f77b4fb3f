import type { types } from "@slack/bolt";
import * as z from "zod";
import {
  ACCEPTANCE_DAYS,
  type AcceptanceDays,
  type DecisionKind,
  type DecisionSubject,
  REASON_MAX,
  REASON_MIN,
} from "../../domain/findings/decision-record.js";
import { readOutside } from "../../domain/outside.js";
import { context, escapeText, section } from "../blocks/common.js";
import { findingRefSchema, subjectLine } from "../blocks/decisions.js";

export const DECISION_MODAL = "finding_decision";
const DEFAULT_DAYS: AcceptanceDays = 90;

export interface DecisionModalState {
  kind: DecisionKind;
  projectId: string;
  projectName: string;
  fingerprint: string;
  /** Where the button was pressed; the request is made there. */
  channel: string;
  finding?: DecisionSubject;
  /** The approval TTL, to say how long the request waits. */
  ttlHours: number;
}

/** "Accept risk" (reason and 30/90/180 days) or "False positive" (reason) for one finding. */
export function decisionModal(state: DecisionModalState): types.ModalView {
  const accepting = state.kind === "accepted";
  const days = (d: AcceptanceDays) => ({
    text: { type: "plain_text" as const, text: `${d} days` },
    value: String(d),
  });
  const blocks: types.ModalView["blocks"] = [
    section(
      `${subjectLine(state.finding, state.fingerprint)}\nin *${escapeText(state.projectName)}* (ID \`${escapeText(state.projectId)}\`)`,
    ),
    {
      type: "input",
      block_id: "reason",
      label: { type: "plain_text", text: "Reason" },
      hint: {
        type: "plain_text",
        text: accepting
          ? "Why the risk is acceptable for now (a compensating control, a planned fix)."
          : "Why the scanner is wrong here; the approver checks it.",
      },
      element: {
        type: "plain_text_input",
        action_id: "value",
        multiline: true,
        min_length: REASON_MIN,
        max_length: REASON_MAX,
      },
    },
  ];
  if (accepting) {
    blocks.push({
      type: "input",
      block_id: "expiry",
      label: { type: "plain_text", text: "Accepted for" },
      hint: { type: "plain_text", text: "Afterwards the finding counts as open again." },
      element: {
        type: "static_select",
        action_id: "value",
        options: ACCEPTANCE_DAYS.map(days),
        initial_option: days(DEFAULT_DAYS),
      },
    });
  }
  blocks.push(
    context(
      `An approver other than you decides on the request card; it expires after ${state.ttlHours} h without a decision.${accepting ? "" : " A false positive does not expire."}`,
    ),
  );
  return {
    type: "modal",
    callback_id: DECISION_MODAL,
    private_metadata: JSON.stringify({
      p: state.projectId,
      f: state.fingerprint,
      k: accepting ? "a" : "f",
      c: state.channel,
    }),
    title: { type: "plain_text", text: accepting ? "Accept risk" : "False positive" },
    submit: { type: "plain_text", text: "Ask for approval" },
    close: { type: "plain_text", text: "Cancel" },
    blocks,
  };
}

const metadataSchema = findingRefSchema.extend({
  k: z.enum(["a", "f"]),
  c: z.string().regex(/^[CGD][A-Z0-9]{2,20}$/),
});

export interface DecisionModalMetadata {
  projectId: string;
  fingerprint: string;
  kind: DecisionKind;
  channel: string;
}

/** What the bot put in private_metadata; anything else (edited, another view's) is refused. */
export function readDecisionModalMetadata(raw: unknown): DecisionModalMetadata | undefined {
  if (typeof raw !== "string" || raw.length > 3000) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const parsed = readOutside(metadataSchema, json);
  if (!parsed) return undefined;
  return {
    projectId: parsed.p,
    fingerprint: parsed.f,
    kind: parsed.k === "a" ? "accepted" : "false_positive",
    channel: parsed.c,
  };
}

const valuesSchema = z.looseObject({
  reason: z.object({ value: z.object({ value: z.string().max(3000).nullish() }).optional() }).optional(),
  expiry: z
    .object({
      value: z.object({ selected_option: z.object({ value: z.string().max(10) }).nullish() }).optional(),
    })
    .optional(),
});

/** The submitted reason and, for a risk acceptance, the days; a field of another shape reads as empty. */
export function readDecisionModal(values: unknown): { reason: string; days?: AcceptanceDays } {
  const parsed = readOutside(valuesSchema, values);
  const chosen = Number(parsed?.expiry?.value?.selected_option?.value);
  const days = ACCEPTANCE_DAYS.find((d) => d === chosen);
  return { reason: parsed?.reason?.value?.value ?? "", ...(days ? { days } : {}) };
}
