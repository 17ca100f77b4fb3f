/**
 * A message's blocks as lines of text, the way a reader scans them: section text and fields, context
 * elements, then the buttons and menus in brackets. Tests pin cards with it; the README's pictures
 * come from it.
 */
interface Element {
  type: string;
  text?: { text: string } | string;
  url?: string;
  placeholder?: { text: string };
  options?: Array<{ value: string }>;
}
interface Block {
  type: string;
  text?: { text: string };
  fields?: Array<{ text: string }>;
  accessory?: Element;
  elements?: Element[];
}

export function picture(blocks: readonly unknown[]): string[] {
  const lines: string[] = [];
  for (const block of blocks as Block[]) {
    if (block.type === "section") {
      if (block.text) lines.push(...block.text.text.split("\n"));
      for (const field of block.fields ?? []) lines.push(field.text.replace("\n", " "));
      if (block.accessory) lines.push(control(block.accessory));
    } else if (block.type === "context") {
      lines.push((block.elements ?? []).map((e) => (typeof e.text === "string" ? e.text : "")).join(" | "));
    } else if (block.type === "actions") {
      lines.push((block.elements ?? []).map(control).join(" "));
    } else if (block.type === "header") {
      lines.push(`# ${block.text?.text ?? ""}`);
    } else if (block.type === "divider") {
      lines.push("---");
    }
  }
  return lines;
}

function control(element: Element): string {
  if (element.type === "static_select") {
    const options = (element.options ?? []).map((o) => o.value).join(", ");
    return `[${element.placeholder?.text ?? ""} ▾ ${options}]`;
  }
  const label = typeof element.text === "object" ? element.text.text : "";
  return `[${label}${element.url ? ` → ${element.url}` : ""}]`;
}
