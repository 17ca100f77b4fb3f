import { closest } from "../../domain/suggest.js";
import type { KnownBlock } from "../blocks/common.js";

/**
 * One command table drives parsing, help and (with zod schemas in each handler) validation of
 * `/crashtest …`. Later features add rows; nothing else lists the commands.
 */

export interface CommandInvocation {
  userId: string;
  channelId: string;
  teamId: string | undefined;
  /** Arguments after the command words, shell-like split (quotes group words). */
  args: string[];
  text: string;
  /** Opens a modal within Slack's 3 s trigger window. */
  triggerId: string | undefined;
  /** Replies to the person who typed the command (ephemeral unless stated). */
  reply(message: Reply): Promise<void>;
}

export interface Reply {
  text: string;
  blocks?: KnownBlock[];
  visibility?: "ephemeral" | "in_channel";
}

export interface CommandSpec<Deps> {
  /** Command words, e.g. "help" or "project create". */
  name: string;
  /** Argument synopsis shown in help, e.g. "<name> <url>". */
  usage: string;
  summary: string;
  /** Longer explanation for `help <command>`. */
  details?: string;
  /** Alternative words that reach the same command, e.g. "scan" for "scan start". */
  aliases?: string[];
  run(invocation: CommandInvocation, deps: Deps): Promise<void>;
}

export type CommandMatch<Deps> =
  | { kind: "command"; spec: CommandSpec<Deps>; args: string[] }
  | { kind: "unknown"; word: string; suggestions: string[] };

/** Slack sends command text with &, < and > as entities; arguments are parsed from the real characters. */
export function decodeEntities(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

const QUOTES = /["'\u2018\u2019\u201C\u201D]/;

/** Splits like a shell: whitespace separates, "double" or 'single' quotes group, Slack's smart quotes too. */
export function splitArgs(text: string): string[] {
  // Most commands have no quotes at all: whitespace alone separates (\s is what trim() removes).
  if (!QUOTES.test(text)) {
    const trimmed = text.trim();
    return trimmed === "" ? [] : trimmed.split(/\s+/);
  }
  const normalised = text.replace(/[\u201C\u201D]/g, '"').replace(/[\u2018\u2019]/g, "'");
  const out: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const match of normalised.matchAll(pattern)) out.push(match[1] ?? match[2] ?? match[3] ?? "");
  return out;
}

export class CommandTable<Deps> {
  private readonly specs: CommandSpec<Deps>[] = [];
  /** Every command word and alias, to its command: one lookup per try in match(). */
  private readonly byName = new Map<string, CommandSpec<Deps>>();
  /** The same words as a set, for suggestions (closest() takes a set as it is; built once per change). */
  private names: ReadonlySet<string> | undefined;

  add(spec: CommandSpec<Deps>): this {
    const names = [spec.name, ...(spec.aliases ?? [])];
    for (const name of names) {
      if (this.lookup(name)) throw new Error(`duplicate command ${name}`);
    }
    this.specs.push(spec);
    for (const name of names) this.byName.set(name, spec);
    this.names = undefined;
    return this;
  }

  list(): readonly CommandSpec<Deps>[] {
    return this.specs;
  }

  lookup(name: string): CommandSpec<Deps> | undefined {
    return this.byName.get(name.trim().toLowerCase().replace(/\s+/g, " "));
  }

  /** Longest command words win, so "scan stop 12" is "scan stop", not "scan" with args. */
  match(text: string): CommandMatch<Deps> {
    const words = splitArgs(decodeEntities(text));
    if (words.length === 0) {
      const help = this.lookup("help");
      if (help) return { kind: "command", spec: help, args: [] };
    }
    for (let take = Math.min(words.length, 3); take >= 1; take--) {
      const spec = this.lookup(words.slice(0, take).join(" "));
      if (spec) return { kind: "command", spec, args: words.slice(take) };
    }
    const word = words.slice(0, 2).join(" ");
    this.names ??= new Set(this.byName.keys());
    const near = closest(word, this.names);
    const suggestions = near.length > 0 ? near : closest(words[0] ?? "", this.names);
    return { kind: "unknown", word: words[0] ?? "", suggestions };
  }
}
