import type { types } from "@slack/bolt";
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

/** Reads the submitted fields back out of view.state.values. */
export function readProjectModal(values: Record<string, Record<string, { value?: string | null }>>): {
  name: string;
  url: string;
} {
  return { name: values.name?.value?.value ?? "", url: values.url?.value?.value ?? "" };
}
