import type { types } from "@slack/bolt";
import * as z from "zod";
import { readOutside } from "../../domain/outside.js";
import { truncate } from "../blocks/common.js";

export const PROJECT_MODAL = "project_create";

export interface ProjectModalState {
  name?: string;
  url?: string;
  channel: string;
}

/** The "new project" modal, opened when `project create` lacks or has invalid arguments. */
export function projectModal(state: ProjectModalState): types.ModalView {
  const input = (blockId: string, label: string, placeholder: string, hint: string, initial?: string) => ({
    type: "input" as const,
    block_id: blockId,
    label: { type: "plain_text" as const, text: label },
    hint: { type: "plain_text" as const, text: hint },
    element: {
      type: "plain_text_input" as const,
      action_id: "value",
      placeholder: { type: "plain_text" as const, text: placeholder },
      ...(initial ? { initial_value: truncate(initial, 1000) } : {}),
    },
  });
  return {
    type: "modal",
    callback_id: PROJECT_MODAL,
    private_metadata: JSON.stringify({ channel: state.channel }),
    title: { type: "plain_text", text: "New scan target" },
    submit: { type: "plain_text", text: "Create" },
    close: { type: "plain_text", text: "Cancel" },
    blocks: [
      input("name", "Name", "web-shop", "Letters, digits, '.', '_' and '-'; used in commands.", state.name),
      input("url", "URL", "https://shop.example.com", "The public http(s) address to scan.", state.url),
    ],
  };
}

/** What the bot put in private_metadata; anything else (edited, truncated, another view's) is refused. */
const metadataSchema = z.strictObject({ channel: z.string().regex(/^[CGD][A-Z0-9]{2,20}$/) });

export function readProjectModalMetadata(raw: unknown): { channel: string } | undefined {
  if (typeof raw !== "string" || raw.length > 3000) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  return readOutside(metadataSchema, json);
}

/** One plain_text_input as Slack echoes it; a field of another shape reads as empty. */
const textInput = z
  .object({ value: z.object({ value: z.string().max(3000).nullish() }).optional() })
  .optional();
const valuesSchema = z.looseObject({ name: textInput, url: textInput });

/** Reads the submitted fields back out of view.state.values. */
export function readProjectModal(values: unknown): { name: string; url: string } {
  const parsed = readOutside(valuesSchema, values);
  return { name: parsed?.name?.value?.value ?? "", url: parsed?.url?.value?.value ?? "" };
}
