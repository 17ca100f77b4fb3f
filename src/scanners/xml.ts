/**
 * A small XML reader for scanner reports (JUnit). Report text is attacker-influenced (finding
 * messages quote payloads), so DTDs are refused outright: no DOCTYPE, no entity declarations, hence
 * no external entities and no entity expansion. Only the five predefined entities and numeric
 * character references are decoded. Namespaces are not interpreted (names are kept as written).
 */

export interface XmlElement {
  name: string;
  attributes: Readonly<Record<string, string>>;
  children: XmlElement[];
  /** Character data directly inside the element (text and CDATA), decoded. */
  text: string;
}

export class XmlError extends Error {
  constructor(message: string, offset: number) {
    super(`${message} (at character ${offset})`);
    this.name = "XmlError";
  }
}

const PREDEFINED: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
const NAMED = Object.entries(PREDEFINED).map(([name, value]) => [`&${name};`, value] as const);
const NAME = /[A-Za-z_:\u00C0-\uFFFF][\w.:\u00B7\u00C0-\uFFFF-]*/y;
const SPACE = /[ \t\r\n]*/y;
const REFERENCE = /&(#x[0-9A-Fa-f]+|#[0-9]+|[A-Za-z][\w.-]*);/y;

function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

/** Decodes references in text or an attribute value; a bare `&` or an unknown entity is an error. */
function decode(raw: string, offset: number): string {
  if (!raw.includes("&")) return raw;
  const parts: string[] = [];
  let last = 0;
  for (let at = raw.indexOf("&"); at !== -1; at = raw.indexOf("&", last)) {
    if (at > last) parts.push(raw.slice(last, at));
    // Reports escape heavily (a payload is mostly &lt; and &quot;): the common case skips the pattern.
    const named = NAMED.find(([reference]) => raw.startsWith(reference, at));
    if (named) {
      parts.push(named[1]);
      last = at + named[0].length;
      continue;
    }
    REFERENCE.lastIndex = at;
    const match = REFERENCE.exec(raw);
    if (!match) throw new XmlError("bare '&' (use &amp;)", offset + at);
    const ref = match[1] ?? "";
    if (ref.startsWith("#")) {
      const code = ref.startsWith("#x")
        ? Number.parseInt(ref.slice(2), 16)
        : Number.parseInt(ref.slice(1), 10);
      if (!isXmlChar(code)) {
        throw new XmlError(`character reference &${ref}; is not an XML character`, offset + at);
      }
      parts.push(String.fromCodePoint(code));
    } else {
      const value = Object.hasOwn(PREDEFINED, ref) ? PREDEFINED[ref] : undefined;
      if (value === undefined) {
        throw new XmlError(`unknown entity &${ref}; (DTDs are not supported)`, offset + at);
      }
      parts.push(value);
    }
    last = at + match[0].length;
  }
  parts.push(raw.slice(last));
  return parts.join("");
}

class Reader {
  private at = 0;
  constructor(private readonly src: string) {}

  parse(): XmlElement {
    if (this.src.charCodeAt(0) === 0xfeff) this.at = 1;
    const stack: XmlElement[] = [];
    let root: XmlElement | undefined;
    while (this.at < this.src.length) {
      const lt = this.src.indexOf("<", this.at);
      const textEnd = lt === -1 ? this.src.length : lt;
      if (textEnd > this.at) {
        const raw = this.src.slice(this.at, textEnd);
        const parent = stack.at(-1);
        if (parent) parent.text += decode(raw, this.at);
        else if (raw.trim() !== "") throw new XmlError("text outside the root element", this.at);
        this.at = textEnd;
        continue;
      }
      if (this.startsWith("<!--")) {
        this.at = this.after("-->", "unterminated comment");
      } else if (this.startsWith("<![CDATA[")) {
        const start = this.at + 9;
        this.at = this.after("]]>", "unterminated CDATA section");
        const parent = stack.at(-1);
        if (!parent) throw new XmlError("CDATA outside the root element", start);
        parent.text += this.src.slice(start, this.at - 3);
      } else if (this.startsWith("<!")) {
        // DOCTYPE, ENTITY, ELEMENT, ATTLIST: all DTD syntax, refused rather than half-supported.
        throw new XmlError("DTD and entity declarations are not allowed", this.at);
      } else if (this.startsWith("<?")) {
        this.at = this.after("?>", "unterminated processing instruction");
      } else if (this.startsWith("</")) {
        this.at += 2;
        const name = this.name();
        this.skipSpace();
        this.expect(">");
        const open = stack.pop();
        if (open?.name !== name) throw new XmlError(`unexpected </${name}>`, this.at);
      } else {
        const top = stack.length === 0;
        if (top && root) throw new XmlError("more than one root element", this.at);
        const element = this.startTag(stack);
        if (top) root = element;
      }
    }
    if (stack.length > 0) throw new XmlError(`<${stack.at(-1)?.name}> is never closed`, this.at);
    if (!root) throw new XmlError("no root element", this.at);
    return root;
  }

  private startTag(stack: XmlElement[]): XmlElement {
    this.at += 1;
    const element: XmlElement = { name: this.name(), attributes: {}, children: [], text: "" };
    const attributes: Record<string, string> = {};
    stack.at(-1)?.children.push(element);
    for (;;) {
      const before = this.at;
      this.skipSpace();
      if (this.startsWith("/>")) {
        this.at += 2;
        break;
      }
      if (this.startsWith(">")) {
        this.at += 1;
        stack.push(element);
        break;
      }
      if (this.at === before) throw new XmlError("expected whitespace before an attribute", this.at);
      const name = this.name();
      this.skipSpace();
      this.expect("=");
      this.skipSpace();
      const quote = this.src[this.at];
      if (quote !== '"' && quote !== "'") throw new XmlError("attribute value must be quoted", this.at);
      const end = this.src.indexOf(quote, this.at + 1);
      if (end === -1) throw new XmlError("unterminated attribute value", this.at);
      const raw = this.src.slice(this.at + 1, end);
      if (raw.includes("<")) throw new XmlError("'<' in an attribute value", this.at);
      if (Object.hasOwn(attributes, name)) throw new XmlError(`duplicate attribute ${name}`, this.at);
      // Attribute-value normalisation: literal whitespace becomes a space, references keep theirs.
      attributes[name] = decode(raw.replace(/[\t\n\r]/g, " "), this.at + 1);
      this.at = end + 1;
    }
    element.attributes = attributes;
    return element;
  }

  private name(): string {
    NAME.lastIndex = this.at;
    const match = NAME.exec(this.src);
    if (!match) throw new XmlError("expected a name", this.at);
    this.at += match[0].length;
    return match[0];
  }

  private skipSpace(): void {
    SPACE.lastIndex = this.at;
    SPACE.exec(this.src);
    this.at = SPACE.lastIndex;
  }

  private startsWith(token: string): boolean {
    return this.src.startsWith(token, this.at);
  }

  private expect(token: string): void {
    if (!this.startsWith(token)) throw new XmlError(`expected '${token}'`, this.at);
    this.at += token.length;
  }

  private after(token: string, problem: string): number {
    const end = this.src.indexOf(token, this.at);
    if (end === -1) throw new XmlError(problem, this.at);
    return end + token.length;
  }
}

export function parseXml(text: string): XmlElement {
  return new Reader(text).parse();
}

/** Every descendant element with the given name, in document order. */
export function descendants(root: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const element = pending.pop() as XmlElement;
    if (element.name === name) out.push(element);
    for (let i = element.children.length - 1; i >= 0; i -= 1) pending.push(element.children[i] as XmlElement);
  }
  return out;
}
