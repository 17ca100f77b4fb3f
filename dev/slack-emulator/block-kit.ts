import { randomBytes } from "node:crypto";
import type { JsonObject } from "./types.js";

/** Limits from Slack's Block Kit reference, https://docs.slack.dev/reference/block-kit/blocks. */
export const MESSAGE_MAX_BLOCKS = 50;
export const VIEW_MAX_BLOCKS = 100;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Collects errors in Slack's own wording, e.g. "must be less than 3001 characters [json-pointer:/blocks/0/text/text]". */
class Checker {
  readonly errors: string[] = [];

  fail(message: string, pointer: string): void {
    this.errors.push(`${message} [json-pointer:${pointer}]`);
  }

  length(value: unknown, min: number, max: number, pointer: string): void {
    if (typeof value !== "string") {
      this.fail("must be a string", pointer);
      return;
    }
    if (value.length < min) this.fail(`must be more than ${min - 1} characters`, pointer);
    if (value.length > max) this.fail(`must be less than ${max + 1} characters`, pointer);
  }

  text(obj: unknown, min: number, max: number, pointer: string): void {
    if (!isObject(obj) || typeof obj.text !== "string") {
      this.fail("must provide a text object", pointer);
      return;
    }
    this.length(obj.text, min, max, `${pointer}/text`);
  }

  items(value: unknown, min: number, max: number, pointer: string): unknown[] {
    if (!Array.isArray(value)) {
      this.fail("must provide an array", pointer);
      return [];
    }
    if (value.length < min) this.fail(`must provide at least ${min} items`, pointer);
    if (value.length > max) this.fail(`no more than ${max} items allowed`, pointer);
    return value;
  }

  confirm(obj: unknown, pointer: string): void {
    if (!isObject(obj)) {
      this.fail("must provide an object", pointer);
      return;
    }
    this.text(obj.title, 1, 100, `${pointer}/title`);
    this.text(obj.text, 1, 300, `${pointer}/text`);
    this.text(obj.confirm, 1, 30, `${pointer}/confirm`);
    this.text(obj.deny, 1, 30, `${pointer}/deny`);
    if (obj.style !== undefined && obj.style !== "primary" && obj.style !== "danger") {
      this.fail("must be one of primary, danger", `${pointer}/style`);
    }
  }

  element(el: unknown, pointer: string): void {
    if (!isObject(el) || typeof el.type !== "string") {
      this.fail("must provide an element with a type", pointer);
      return;
    }
    if (el.action_id !== undefined) this.length(el.action_id, 1, 255, `${pointer}/action_id`);
    if (el.confirm !== undefined) this.confirm(el.confirm, `${pointer}/confirm`);
    if (el.type === "button") {
      this.text(el.text, 1, 75, `${pointer}/text`);
      if (el.value !== undefined) this.length(el.value, 1, 2000, `${pointer}/value`);
      if (el.url !== undefined) this.length(el.url, 1, 3000, `${pointer}/url`);
      if (el.style !== undefined && el.style !== "primary" && el.style !== "danger") {
        this.fail("must be one of primary, danger", `${pointer}/style`);
      }
    } else if (el.type === "static_select" && el.options !== undefined) {
      this.items(el.options, 1, 100, `${pointer}/options`);
    } else if (el.type === "overflow") {
      this.items(el.options, 1, 5, `${pointer}/options`);
    }
  }

  block(block: unknown, pointer: string, seenIds: Set<string>): void {
    if (!isObject(block) || typeof block.type !== "string") {
      this.fail("must provide a block with a type", pointer);
      return;
    }
    if (block.block_id !== undefined) {
      this.length(block.block_id, 1, 255, `${pointer}/block_id`);
      if (typeof block.block_id === "string") {
        if (seenIds.has(block.block_id)) this.fail("duplicate block_id", `${pointer}/block_id`);
        seenIds.add(block.block_id);
      }
    }
    switch (block.type) {
      case "section":
        if (block.text === undefined && block.fields === undefined) {
          this.fail("must provide either text or fields", pointer);
        }
        if (block.text !== undefined) this.text(block.text, 1, 3000, `${pointer}/text`);
        if (block.fields !== undefined) {
          this.items(block.fields, 1, 10, `${pointer}/fields`).forEach((field, i) => {
            this.text(field, 1, 2000, `${pointer}/fields/${i}`);
          });
        }
        if (block.accessory !== undefined) this.element(block.accessory, `${pointer}/accessory`);
        return;
      case "header":
        this.text(block.text, 1, 150, `${pointer}/text`);
        return;
      case "actions":
        this.items(block.elements, 1, 25, `${pointer}/elements`).forEach((el, i) => {
          this.element(el, `${pointer}/elements/${i}`);
        });
        return;
      case "context":
        this.items(block.elements, 1, 10, `${pointer}/elements`);
        return;
      case "markdown":
        this.length(block.text, 1, 12000, `${pointer}/text`);
        return;
      case "input":
        this.text(block.label, 1, 2000, `${pointer}/label`);
        this.element(block.element, `${pointer}/element`);
        return;
      case "divider":
      case "image":
      case "rich_text":
      case "file":
      case "video":
      case "context_actions":
        return;
      default:
        this.fail(`unsupported block type: ${block.type}`, `${pointer}/type`);
    }
  }
}

/** Basic Block Kit limit checks; returns Slack-style error strings, empty when the blocks pass. */
export function validateBlocks(blocks: unknown[], maxBlocks: number, pointer = "/blocks"): string[] {
  const checker = new Checker();
  if (blocks.length > maxBlocks) checker.fail(`no more than ${maxBlocks} items allowed`, pointer);
  const seenIds = new Set<string>();
  blocks.forEach((block, i) => {
    checker.block(block, `${pointer}/${i}`, seenIds);
  });
  return checker.errors;
}

/** Modal and Home tab checks (views are answered with `invalid_arguments` rather than `invalid_blocks`). */
export function validateView(view: JsonObject): string[] {
  const checker = new Checker();
  if (view.type === "modal") {
    checker.text(view.title, 1, 24, "/view/title");
    if (view.submit !== undefined) checker.text(view.submit, 1, 24, "/view/submit");
    if (view.close !== undefined) checker.text(view.close, 1, 24, "/view/close");
  }
  if (view.callback_id !== undefined) checker.length(view.callback_id, 0, 255, "/view/callback_id");
  if (view.private_metadata !== undefined)
    checker.length(view.private_metadata, 0, 3000, "/view/private_metadata");
  if (!Array.isArray(view.blocks)) {
    checker.fail("must provide an array", "/view/blocks");
    return checker.errors;
  }
  return [...checker.errors, ...validateBlocks(view.blocks, VIEW_MAX_BLOCKS, "/view/blocks")];
}

function shortId(taken: Set<string>): string {
  for (;;) {
    const id = randomBytes(4).toString("base64url").slice(0, 5);
    if (!taken.has(id)) {
      taken.add(id);
      return id;
    }
  }
}

interface ElementSlot {
  blockId: string;
  element: JsonObject;
}

/** Interactive elements in the places Slack allows them: actions, section accessories and input blocks. */
function elementSlots(blocks: readonly JsonObject[]): ElementSlot[] {
  const slots: ElementSlot[] = [];
  for (const block of blocks) {
    const blockId = String(block.block_id ?? "");
    const candidates = [
      ...(Array.isArray(block.elements) && (block.type === "actions" || block.type === "context_actions")
        ? block.elements
        : []),
      block.type === "section" ? block.accessory : undefined,
      block.type === "input" ? block.element : undefined,
    ];
    for (const element of candidates) if (isObject(element)) slots.push({ blockId, element });
  }
  return slots;
}

/**
 * Copies the blocks and fills in missing `block_id`s and `action_id`s, as Slack does when it stores a message
 * or view: interaction payloads carry the generated IDs.
 */
export function withGeneratedIds(blocks: readonly JsonObject[]): JsonObject[] {
  const copy = structuredClone(blocks) as JsonObject[];
  const taken = new Set(copy.map((b) => b.block_id).filter((id): id is string => typeof id === "string"));
  for (const block of copy) block.block_id ??= shortId(taken);
  for (const { element } of elementSlots(copy)) element.action_id ??= shortId(taken);
  return copy;
}

/**
 * The interactive element with this action_id, and the block_id holding it. action_id is unique only
 * within a block, so a given block_id picks among equal action_ids (else the first one is taken).
 */
export function findElement(
  blocks: readonly JsonObject[],
  actionId: string,
  blockId?: string,
): ElementSlot | undefined {
  const slots = elementSlots(blocks).filter((slot) => slot.element.action_id === actionId);
  return slots.find((slot) => slot.blockId === blockId) ?? slots[0];
}

export function actionIds(blocks: readonly JsonObject[]): string[] {
  return elementSlots(blocks).map((slot) => String(slot.element.action_id));
}

/** Input blocks of a view, which make up `view.state.values` on submission. */
export function inputSlots(blocks: readonly JsonObject[]): ElementSlot[] {
  return elementSlots(blocks.filter((b) => b.type === "input"));
}
