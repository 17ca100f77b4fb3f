/**
 * Block Kit and mrkdwn as readable terminal text. Pure functions: everything they need (names, choice
 * numbers, field errors) comes in through the options.
 */

type Json = Record<string, unknown>;

export interface Directory {
  /** User ID → name (without @). */
  users?: Readonly<Record<string, string>>;
  /** Channel ID → name (without #). */
  channels?: Readonly<Record<string, string>>;
  /** User group ID → handle (without @). */
  groups?: Readonly<Record<string, string>>;
}

export interface RenderOptions extends Directory {
  /** The number shown for each interactive element, by choiceKey(element): `[1] Approve`. */
  choices?: Readonly<Record<string, number>>;
  /** Field errors of a modal, by block_id (from `response_action: "errors"`). */
  errors?: Readonly<Record<string, string>>;
}

export interface ChoiceOption {
  value: string;
  label: string;
}

export interface ConfirmDialog {
  title: string;
  text: string;
  confirm: string;
  deny: string;
}

/** An element the user can press or pick from, in the order the renderer shows them. */
export interface InteractiveElement {
  actionId: string;
  blockId: string;
  type: string;
  label: string;
  value?: string;
  url?: string;
  options?: ChoiceOption[];
  confirm?: ConfirmDialog;
}

/** A file shared with a message. */
export interface FileRef {
  name: string;
  title?: string;
  size?: number;
}

export interface MessageContent {
  text?: string;
  blocks?: readonly unknown[];
  attachments?: readonly unknown[];
  files?: readonly FileRef[];
}

function isJson(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isJson) : [];
}

/** Slack's three HTML entities; `&amp;` last so `&amp;lt;` stays `&lt;`. */
export function unescapeMrkdwn(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function formatDate(epochSeconds: string): string {
  const ms = Number(epochSeconds) * 1000;
  if (!Number.isFinite(ms)) return epochSeconds;
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** One `<...>` token of mrkdwn: mentions, channel links, special mentions, dates and links. */
function token(inner: string, dir: Directory): string {
  const bar = inner.indexOf("|");
  const target = bar === -1 ? inner : inner.slice(0, bar);
  const label = bar === -1 ? undefined : inner.slice(bar + 1);
  if (target.startsWith("@")) {
    const id = target.slice(1);
    return `@${dir.users?.[id] ?? label?.replace(/^@/, "") ?? id}`;
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    return `#${dir.channels?.[id] ?? label?.replace(/^#/, "") ?? id}`;
  }
  if (target.startsWith("!")) {
    const [kind = "", ...rest] = target.slice(1).split("^");
    if (kind === "date") return label ?? formatDate(rest[0] ?? "");
    if (kind === "subteam") {
      const id = rest[0] ?? "";
      return `@${dir.groups?.[id] ?? label?.replace(/^@/, "") ?? id}`;
    }
    if (kind === "here" || kind === "channel" || kind === "everyone") return `@${kind}`;
    return label ?? `@${kind}`;
  }
  if (label === undefined || label === target) return target;
  if (target.startsWith("mailto:") && target.slice(7) === label) return label;
  return `${label} (${target})`;
}

/** Mrkdwn as plain text: names for mentions, fallbacks for dates, `label (url)` for links, entities undone. */
export function mrkdwnToText(text: string, dir: Directory = {}): string {
  return unescapeMrkdwn(text.replace(/<([^<>\n]+)>/g, (_match, inner: string) => token(inner, dir)));
}

/** A text object (plain_text or mrkdwn) as plain text. */
export function textOf(value: unknown, dir: Directory = {}): string {
  if (typeof value === "string") return value;
  if (!isJson(value)) return "";
  const text = str(value.text) ?? "";
  return value.type === "mrkdwn" ? mrkdwnToText(text, dir) : text;
}

function lines(text: string): string[] {
  return text === "" ? [] : text.split("\n");
}

function optionsOf(element: Json): ChoiceOption[] {
  const groups = list(element.option_groups).flatMap((g) => list(g.options));
  return [...list(element.options), ...groups].map((o) => {
    const label = textOf(o.text);
    return { value: str(o.value) ?? label, label };
  });
}

function confirmOf(element: Json): ConfirmDialog | undefined {
  const c = element.confirm;
  if (!isJson(c)) return undefined;
  return {
    title: textOf(c.title) || "Are you sure?",
    text: textOf(c.text),
    confirm: textOf(c.confirm) || "Yes",
    deny: textOf(c.deny) || "Cancel",
  };
}

const ELEMENT_LABELS: Record<string, string> = {
  overflow: "more",
  users_select: "pick a user",
  multi_users_select: "pick users",
  conversations_select: "pick a conversation",
  multi_conversations_select: "pick conversations",
  channels_select: "pick a channel",
  multi_channels_select: "pick channels",
  datepicker: "pick a date",
  timepicker: "pick a time",
  datetimepicker: "pick a date and time",
};

function elementLabel(element: Json): string {
  const type = str(element.type) ?? "element";
  if (type === "button") return textOf(element.text);
  const placeholder = textOf(element.placeholder);
  return placeholder || ELEMENT_LABELS[type] || type.replace(/_/g, " ");
}

function describeElement(element: Json): InteractiveElement {
  const options = optionsOf(element);
  const confirm = confirmOf(element);
  const value = str(element.value);
  const url = str(element.url);
  return {
    actionId: str(element.action_id) ?? "",
    blockId: "",
    type: str(element.type) ?? "element",
    label: elementLabel(element),
    ...(value !== undefined ? { value } : {}),
    ...(url !== undefined ? { url } : {}),
    ...(options.length > 0 ? { options } : {}),
    ...(confirm ? { confirm } : {}),
  };
}

/** Elements the user can act on, in display order: section accessories and actions blocks (not inputs). */
export function interactiveElements(blocks: readonly unknown[]): InteractiveElement[] {
  const found: InteractiveElement[] = [];
  for (const block of blocks) {
    if (!isJson(block)) continue;
    const blockId = str(block.block_id) ?? "";
    const candidates =
      block.type === "actions" || block.type === "context_actions"
        ? list(block.elements)
        : block.type === "section" && isJson(block.accessory)
          ? [block.accessory]
          : [];
    for (const element of candidates) {
      if (element.type === "image" || typeof element.action_id !== "string") continue;
      found.push({ ...describeElement(element), blockId });
    }
  }
  return found;
}

function optionList(options: readonly ChoiceOption[]): string {
  return options.map((o) => (o.value === o.label ? o.label : `${o.label} (${o.value})`)).join(" | ");
}

/**
 * An element's identity on a screen: action_id is only unique within its block (a project list has one
 * Delete button per project, told apart by their values), and block_ids are regenerated on every edit
 * of a message that sets none, so action_id and value identify it, and keep it across edits.
 */
export function choiceKey(element: { actionId: string; value?: string | undefined }): string {
  return element.value === undefined ? element.actionId : `${element.actionId}=${element.value}`;
}

function renderElement(element: Json, opts: RenderOptions): string {
  if (element.type === "image") return `[image: ${str(element.alt_text) ?? ""}]`;
  const described = describeElement(element);
  const n = opts.choices?.[choiceKey(described)];
  const tag = n === undefined ? "[-]" : `[${n}]`;
  const extra = described.url
    ? ` <${described.url}>`
    : described.options && element.type !== "button"
      ? ` (${optionList(described.options)})`
      : "";
  return `${tag} ${described.label}${extra}`;
}

/** "*Label*\nvalue" fields read best as "Label: value". */
function fieldLine(field: unknown, dir: Directory): string {
  const text = textOf(field, dir);
  const labelled = /^\*([^*\n]+)\*\n([\s\S]*)$/.exec(text);
  if (labelled) {
    const label = labelled[1] ?? "";
    return `${label}${label.endsWith(":") ? "" : ":"} ${(labelled[2] ?? "").replace(/\n/g, " ")}`;
  }
  return text.replace(/\n/g, " ");
}

function richText(element: Json, dir: Directory): string {
  switch (element.type) {
    case "text":
      return str(element.text) ?? "";
    case "link":
      return str(element.text) ? `${element.text} (${element.url})` : (str(element.url) ?? "");
    case "user":
      return `@${dir.users?.[String(element.user_id)] ?? String(element.user_id)}`;
    case "channel":
      return `#${dir.channels?.[String(element.channel_id)] ?? String(element.channel_id)}`;
    case "usergroup":
      return `@${dir.groups?.[String(element.usergroup_id)] ?? String(element.usergroup_id)}`;
    case "broadcast":
      return `@${String(element.range)}`;
    case "emoji":
      return `:${String(element.name)}:`;
    case "date":
      return str(element.fallback) ?? formatDate(String(element.timestamp));
    default:
      return list(element.elements)
        .map((e) => richText(e, dir))
        .join("");
  }
}

function renderRichText(block: Json, dir: Directory): string[] {
  const out: string[] = [];
  for (const part of list(block.elements)) {
    const inline = () =>
      list(part.elements)
        .map((e) => richText(e, dir))
        .join("");
    switch (part.type) {
      case "rich_text_list":
        list(part.elements).forEach((item, i) => {
          const bullet = part.style === "ordered" ? `${i + 1}.` : "-";
          out.push(`${bullet} ${richText(item, dir)}`);
        });
        break;
      case "rich_text_preformatted":
        out.push(...lines(inline()).map((l) => `    ${l}`));
        break;
      case "rich_text_quote":
        out.push(...lines(inline()).map((l) => `> ${l}`));
        break;
      default:
        out.push(...lines(inline()));
    }
  }
  return out;
}

function describeInput(element: Json, dir: Directory): string {
  const type = str(element.type) ?? "input";
  const options = optionsOf(element);
  const initialOption = isJson(element.initial_option) ? textOf(element.initial_option.text) : undefined;
  const initialOptions = list(element.initial_options).map((o) => textOf(o.text));
  const placeholder = textOf(element.placeholder);
  let what: string;
  let initial: string | undefined;
  switch (type) {
    case "plain_text_input":
      what = element.multiline === true ? "text (several lines)" : "text";
      initial = str(element.initial_value);
      break;
    case "static_select":
    case "radio_buttons":
      what = `one of: ${optionList(options)}`;
      initial = initialOption;
      break;
    case "multi_static_select":
    case "checkboxes":
      what = `any of (comma-separated): ${optionList(options)}`;
      initial = initialOptions.length > 0 ? initialOptions.join(", ") : undefined;
      break;
    case "users_select":
      what = "a user (@name)";
      initial =
        str(element.initial_user) && `@${dir.users?.[String(element.initial_user)] ?? element.initial_user}`;
      break;
    case "multi_users_select":
      what = "users (@a,@b)";
      break;
    case "conversations_select":
    case "channels_select":
      what = "a channel (#name)";
      break;
    case "datepicker":
      what = "a date (YYYY-MM-DD)";
      initial = str(element.initial_date);
      break;
    case "timepicker":
      what = "a time (HH:MM)";
      initial = str(element.initial_time);
      break;
    case "number_input":
      what = "a number";
      initial = str(element.initial_value);
      break;
    case "email_text_input":
      what = "an email address";
      initial = str(element.initial_value);
      break;
    case "url_text_input":
      what = "a URL";
      initial = str(element.initial_value);
      break;
    default:
      what = type.replace(/_/g, " ");
  }
  return [
    what,
    initial !== undefined && initial !== "" ? `now "${initial}"` : undefined,
    placeholder && initial === undefined ? `e.g. "${placeholder}"` : undefined,
  ]
    .filter((part) => part !== undefined)
    .join(", ");
}

function renderBlock(block: Json, opts: RenderOptions): string[] {
  switch (block.type) {
    case "header":
      return [`== ${textOf(block.text, opts)} ==`];
    case "section": {
      const out = [
        ...lines(textOf(block.text, opts)),
        ...list(block.fields).map((field) => fieldLine(field, opts)),
      ];
      if (isJson(block.accessory)) out.push(renderElement(block.accessory, opts));
      return out;
    }
    case "context": {
      const parts = list(block.elements)
        .map((e) => (e.type === "image" ? (str(e.alt_text) ? `[${e.alt_text}]` : "") : textOf(e, opts)))
        .filter((part) => part !== "");
      return parts.length > 0 ? lines(`› ${parts.join("  ")}`) : [];
    }
    case "actions":
    case "context_actions":
      return [
        list(block.elements)
          .map((e) => renderElement(e, opts))
          .join("  "),
      ];
    case "divider":
      return ["---"];
    case "image":
      return [`[image: ${str(block.alt_text) ?? textOf(block.title) ?? ""}]`];
    case "markdown":
      return lines(str(block.text) ?? "");
    case "rich_text":
      return renderRichText(block, opts);
    case "input": {
      const element = isJson(block.element) ? block.element : {};
      const key = str(block.block_id) ?? "";
      const optional = block.optional === true ? " (optional)" : "";
      const out = [`* ${textOf(block.label, opts)}${optional} [${key}]: ${describeInput(element, opts)}`];
      const hint = textOf(block.hint, opts);
      if (hint) out.push(`  › ${hint}`);
      const error = opts.errors?.[key];
      if (error) out.push(`  ! ${error}`);
      return out;
    }
    case "video":
      return [`[video: ${textOf(block.title, opts)}]`];
    case "file":
      return [`[file ${str(block.external_id) ?? ""}]`];
    default:
      return [`[${String(block.type)} block]`];
  }
}

export function renderBlocks(blocks: readonly unknown[], opts: RenderOptions = {}): string[] {
  return blocks.filter(isJson).flatMap((block) => renderBlock(block, opts));
}

function renderAttachment(attachment: Json, opts: RenderOptions): string[] {
  const body: string[] = [];
  const author = str(attachment.author_name);
  if (author) body.push(author);
  const title = str(attachment.title);
  if (title) body.push(attachment.title_link ? `${title} (${attachment.title_link})` : title);
  body.push(...lines(mrkdwnToText(str(attachment.text) ?? "", opts)));
  for (const field of list(attachment.fields)) {
    const name = str(field.title);
    const value = mrkdwnToText(str(field.value) ?? "", opts);
    body.push(name ? `${name}: ${value}` : value);
  }
  body.push(...renderBlocks(Array.isArray(attachment.blocks) ? attachment.blocks : [], opts));
  const footer = str(attachment.footer);
  if (footer) body.push(`› ${mrkdwnToText(footer, opts)}`);
  if (body.length === 0 && str(attachment.fallback)) body.push(String(attachment.fallback));
  const pretext = lines(mrkdwnToText(str(attachment.pretext) ?? "", opts));
  return [...pretext, ...body.map((line) => `| ${line}`)];
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** A message's visible content: its blocks (else its text), attachments, then shared files. */
export function renderMessage(message: MessageContent, opts: RenderOptions = {}): string[] {
  const blocks = message.blocks ?? [];
  const out = blocks.length > 0 ? renderBlocks(blocks, opts) : lines(mrkdwnToText(message.text ?? "", opts));
  for (const attachment of message.attachments ?? []) {
    if (isJson(attachment)) out.push(...renderAttachment(attachment, opts));
  }
  for (const file of message.files ?? []) {
    const title = file.title && file.title !== file.name ? ` "${file.title}"` : "";
    const size = file.size !== undefined ? ` (${formatSize(file.size)})` : "";
    out.push(`[file] ${file.name}${title}${size}`);
  }
  return out.length > 0 ? out : ["(empty message)"];
}

/** A modal or Home tab: title, blocks (inputs as fillable fields with their keys), submit/close labels. */
export function renderView(view: Readonly<Record<string, unknown>>, opts: RenderOptions = {}): string[] {
  const out: string[] = [];
  const title = textOf(view.title, opts);
  if (title) out.push(`"${title}"`);
  out.push(...renderBlocks(Array.isArray(view.blocks) ? view.blocks : [], opts));
  const buttons = [
    view.submit ? `submit: "${textOf(view.submit, opts)}"` : undefined,
    view.close ? `close: "${textOf(view.close, opts)}"` : undefined,
  ].filter((b) => b !== undefined);
  if (buttons.length > 0) out.push(`(${buttons.join(", ")})`);
  return out;
}
