import { setTimeout as sleep } from "node:timers/promises";
import type { SlackEmulator, ViewInput } from "../slack-emulator/index.js";
import type {
  ChannelInfo,
  EmulatorChange,
  EphemeralMessage,
  JsonObject,
  StoredMessage,
  StoredView,
  UserSpec,
} from "../slack-emulator/types.js";
import { CONSOLE_HELP, type ConsoleCommand, parseCommand } from "./commands.js";
import {
  choiceKey,
  type Directory,
  type FileRef,
  type InteractiveElement,
  interactiveElements,
  renderMessage,
  renderView,
} from "./render.js";

export const SLASH_COMMAND = "/crashtest";

/** Where a numbered button lives. */
type Surface =
  | { kind: "message"; channel: string; ts: string }
  | { kind: "ephemeral"; user: string; channel: string; ts: string }
  | { kind: "view"; user: string; viewId: string };

interface ChoiceRef {
  surface: Surface;
  actionId: string;
  /** Tells apart elements with one action_id in different blocks (a Delete button per project). */
  value: string | undefined;
}

interface PendingConfirm {
  ref: ChoiceRef;
  element: InteractiveElement;
  value: string | undefined;
}

export interface SessionOptions {
  emulator: SlackEmulator;
  /** Writes text (already ending in newlines) where the user reads it. */
  write: (text: string) => void;
  /** Role names by user ID, for `as` and `users`. */
  roles: ReadonlyMap<string, readonly string[]>;
  user: string;
  channel: string;
  /** A command's effects are complete once the emulator has been quiet this long (ms). */
  quietMs: number;
  /** ...or after this long at most (ms); later changes are shown when they come. */
  settleMaxMs: number;
}

const INDENT = "   ";

function surfaceKey(surface: Surface): string {
  switch (surface.kind) {
    case "message":
      return `m:${surface.channel}/${surface.ts}`;
    case "ephemeral":
      return `e:${surface.user}/${surface.ts}`;
    case "view":
      return `v:${surface.viewId}`;
  }
}

function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^SlackEmulator: /, "");
}

/** Slack escapes command text (should_escape: true): @name and #channel become links, & < > entities. */
export function escapeCommandText(text: string, dir: Directory): string {
  const byName = (map: Readonly<Record<string, string>> | undefined, name: string) =>
    Object.entries(map ?? {}).find(([, n]) => n.toLowerCase() === name.toLowerCase())?.[0];
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/(^|[\s(])([@#])([\w.-]+)/g, (match, lead: string, sigil: string, name: string) => {
      if (sigil === "@") {
        const user = byName(dir.users, name);
        if (user) return `${lead}<@${user}|${dir.users?.[user]}>`;
        const group = byName(dir.groups, name);
        return group ? `${lead}<!subteam^${group}|@${dir.groups?.[group]}>` : match;
      }
      const channel = byName(dir.channels, name);
      return channel ? `${lead}<#${channel}|${dir.channels?.[channel]}>` : match;
    });
}

/**
 * One person at a Slack client, in a terminal: runs console commands against the emulator and prints
 * what changes in the workspace as readable text, with numbered buttons.
 */
export class ConsoleSession {
  user: string;
  channel: string;
  private readonly emulator: SlackEmulator;
  private readonly write: (text: string) => void;
  private readonly roles: ReadonlyMap<string, readonly string[]>;
  private readonly quietMs: number;
  private readonly settleMaxMs: number;

  private readonly messageNumbers = new Map<string, number>();
  private readonly messagesByNumber = new Map<number, { channel: string; ts: string }>();
  private readonly choiceNumbers = new Map<string, number>();
  private readonly choicesByNumber = new Map<number, ChoiceRef>();
  private pending: EmulatorChange[] = [];
  private lastActivity = 0;
  private changedSinceTouch = false;
  private confirm: PendingConfirm | undefined;
  private homeRequested = false;
  private homeShown = false;
  private readonly unsubscribe: () => void;

  constructor(options: SessionOptions) {
    this.emulator = options.emulator;
    this.write = options.write;
    this.roles = options.roles;
    this.user = options.user;
    this.channel = options.channel;
    this.quietMs = options.quietMs;
    this.settleMaxMs = options.settleMaxMs;
    this.unsubscribe = this.emulator.onChange((change) => {
      this.lastActivity = Date.now();
      // Deliveries, sockets and the bot's successful reads (users.info, ...) are not an answer to see.
      const unseen =
        change.kind === "delivery" ||
        change.kind.startsWith("socket_") ||
        (change.kind === "api_call" && change.ok);
      if (!unseen) this.changedSinceTouch = true;
      this.pending.push(change);
      this.onActivity?.();
    });
  }

  /** Called on every emulator change (the terminal front end schedules a background flush). */
  onActivity: (() => void) | undefined;

  close(): void {
    this.unsubscribe();
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  get awaitingConfirmation(): boolean {
    return this.confirm !== undefined;
  }

  get quietFor(): number {
    return Date.now() - this.lastActivity;
  }

  prompt(): string {
    if (this.confirm) return `${this.confirm.element.confirm?.confirm ?? "Confirm"}? [y/N] `;
    return `${this.userName(this.user)}@${this.channelLabel(this.channel)}> `;
  }

  // ---- names ----

  private users(): UserSpec[] {
    return this.emulator.users();
  }

  directory(): Directory {
    return {
      users: Object.fromEntries(this.users().map((u) => [u.id, u.name])),
      channels: Object.fromEntries(
        this.emulator
          .channels()
          .filter((c) => !c.isIm)
          .map((c) => [c.id, c.name]),
      ),
      groups: Object.fromEntries(this.emulator.userGroups().map((g) => [g.id, g.handle])),
    };
  }

  private userName(id: string): string {
    return this.users().find((u) => u.id === id)?.name ?? id;
  }

  channelLabel(id: string): string {
    const channel = this.emulator.channels().find((c) => c.id === id);
    if (!channel) return id;
    if (channel.isIm)
      return channel.imUser === this.user ? "dm" : `dm-${this.userName(channel.imUser ?? "")}`;
    if (channel.isMpim) return "group-dm";
    return `#${channel.name}`;
  }

  private author(message: { user: string; fromBot?: boolean }): string {
    return `@${this.userName(message.user)}${message.fromBot ? " (app)" : ""}`;
  }

  private rolesOf(id: string): string {
    const roles = this.roles.get(id) ?? [];
    return roles.length > 0 ? roles.join(", ") : "no role";
  }

  // ---- output ----

  private print(...lines: string[]): void {
    if (lines.length > 0) this.write(`${lines.join("\n")}\n`);
  }

  private block(header: string, body: readonly string[]): void {
    this.print(`── ${header}`, ...body.map((line) => (line === "" ? "" : `${INDENT}${line}`)));
  }

  private note(text: string): void {
    this.print(`(${text})`);
  }

  // ---- numbering ----

  private messageNumber(channel: string, ts: string): number {
    const key = `${channel}/${ts}`;
    let n = this.messageNumbers.get(key);
    if (n === undefined) {
      n = this.messageNumbers.size + 1;
      this.messageNumbers.set(key, n);
      this.messagesByNumber.set(n, { channel, ts });
    }
    return n;
  }

  /**
   * Every element on a screen gets its own number, kept for as long as its message (or view) has an
   * element with that action_id and value.
   */
  private choices(surface: Surface, blocks: readonly unknown[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const element of interactiveElements(blocks)) {
      const id = choiceKey(element);
      const key = `${surfaceKey(surface)}#${id}`;
      let n = this.choiceNumbers.get(key);
      if (n === undefined) {
        n = this.choiceNumbers.size + 1;
        this.choiceNumbers.set(key, n);
        this.choicesByNumber.set(n, { surface, actionId: element.actionId, value: element.value });
      }
      out[id] = n;
    }
    return out;
  }

  private files(message: StoredMessage): FileRef[] {
    if (message.fileIds.length === 0) return [];
    const stored = this.emulator.filesIn(message.channel);
    return message.fileIds.flatMap((id) => {
      const file = stored.find((f) => f.id === id);
      return file
        ? [{ name: file.name, title: file.title, size: file.receivedSize ?? file.declaredLength }]
        : [];
    });
  }

  private messageBody(message: StoredMessage): string[] {
    const surface: Surface = { kind: "message", channel: message.channel, ts: message.ts };
    const choices = this.choices(surface, message.blocks ?? []);
    return renderMessage({ ...message, files: this.files(message) }, { ...this.directory(), choices });
  }

  private ephemeralBody(message: EphemeralMessage): string[] {
    const surface: Surface = {
      kind: "ephemeral",
      user: message.user,
      channel: message.channel,
      ts: message.ts,
    };
    const choices = this.choices(surface, message.blocks ?? []);
    return renderMessage(message, { ...this.directory(), choices });
  }

  private viewBody(view: StoredView): string[] {
    const surface: Surface = { kind: "view", user: view.user, viewId: view.id };
    const blocks = Array.isArray(view.view.blocks) ? view.view.blocks : [];
    const choices = this.choices(surface, blocks);
    return renderView(view.view, {
      ...this.directory(),
      choices,
      ...(view.errors ? { errors: view.errors } : {}),
    });
  }

  private showMessage(message: StoredMessage, what: string): void {
    const where = this.channelLabel(message.channel);
    if (message.threadTs !== undefined) {
      const parent = this.messageNumber(message.channel, message.threadTs);
      this.block(
        `${where} · reply in thread ${parent} ${what} ${this.author(message)}`,
        this.messageBody(message),
      );
      return;
    }
    const n = this.messageNumber(message.channel, message.ts);
    const replies =
      message.replyCount > 0
        ? ` · ${message.replyCount} ${message.replyCount === 1 ? "reply" : "replies"} (thread ${n})`
        : "";
    this.block(
      `${where} · message ${n} ${what} ${this.author(message)}${replies}`,
      this.messageBody(message),
    );
  }

  private showEphemeral(message: EphemeralMessage, edited: boolean): void {
    const who = message.user === this.user ? "you" : `@${this.userName(message.user)}`;
    const thread =
      message.threadTs !== undefined
        ? ` · in thread ${this.messageNumber(message.channel, message.threadTs)}`
        : "";
    this.block(
      `${this.channelLabel(message.channel)}${thread} · only visible to ${who}${edited ? " (edited)" : ""}`,
      this.ephemeralBody(message),
    );
  }

  private showModal(view: StoredView, what: string): void {
    const mine = view.user === this.user;
    const how = mine
      ? "fill in with: submit key=value ..., or cancel"
      : `for @${this.userName(view.user)}; \`as @${this.userName(view.user)}\` to fill it in`;
    this.block(`modal ${what} (${how})`, this.viewBody(view));
  }

  private showHome(view: StoredView): void {
    this.block(`Home tab of @${this.userName(view.user)}`, this.viewBody(view));
  }

  // ---- changes ----

  /**
   * Waits until the emulator has been quiet for quietMs (at most settleMaxMs), then prints the changes.
   * With `answered`, quiet only counts once something changed since the last touch(): a command is always
   * answered, and a slow answer (a busy machine) must not fall behind the next line of a script.
   */
  async settle(options: { answered?: boolean } = {}): Promise<void> {
    const started = Date.now();
    for (;;) {
      const idle = this.quietFor;
      const left = this.settleMaxMs - (Date.now() - started);
      if (left <= 0) break;
      if (options.answered && !this.changedSinceTouch) {
        await sleep(Math.min(this.quietMs, left) + 1);
        continue;
      }
      if (idle >= this.quietMs) break;
      await sleep(Math.min(this.quietMs - idle, left) + 1);
    }
    this.flush();
  }

  /** Lets time pass, printing changes as they come (the watcher posts on its own ticks), in a pipe or not. */
  private async wait(ms: number): Promise<void> {
    const until = Date.now() + ms;
    for (let left = ms; left > 0; left = until - Date.now()) {
      await sleep(Math.min(this.quietMs, left));
      if (this.hasPending && this.quietFor >= this.quietMs) this.flush();
    }
    this.flush();
  }

  /** Marks the start of an action, so settle() waits a full quiet period after it. */
  private touch(): void {
    this.lastActivity = Date.now();
    this.changedSinceTouch = false;
  }

  /** Prints every change since the last flush; several edits of one message show once, as it is now. */
  flush(): void {
    const changes = this.pending;
    this.pending = [];
    const items = new Map<
      string,
      { change: EmulatorChange; posted: boolean; updated: boolean; deleted: boolean }
    >();
    let calls = 0;
    for (const change of changes) {
      let key: string;
      switch (change.kind) {
        case "message_posted":
        case "message_updated":
        case "message_deleted":
          key = `m:${change.channel}/${change.ts}`;
          break;
        case "files_shared":
          key = `m:${change.channel}/${change.messageTs}`;
          break;
        case "ephemeral_posted":
        case "ephemeral_updated":
        case "ephemeral_deleted":
          key = `e:${change.user}/${change.ts}`;
          break;
        case "view_opened":
        case "view_updated":
        case "view_closed":
          key = `v:${change.viewId}`;
          break;
        case "api_call":
          if (change.ok) continue;
          calls += 1;
          key = `c:${calls}`;
          break;
        default:
          continue;
      }
      const item = items.get(key) ?? { change, posted: false, updated: false, deleted: false };
      if (/_posted$|_opened$/.test(change.kind)) item.posted = true;
      else if (/_deleted$|_closed$/.test(change.kind)) item.deleted = true;
      else item.updated = true;
      items.set(key, item);
    }
    for (const item of items.values()) this.showChange(item);
  }

  private showChange(item: {
    change: EmulatorChange;
    posted: boolean;
    updated: boolean;
    deleted: boolean;
  }): void {
    const { change } = item;
    switch (change.kind) {
      case "message_posted":
      case "message_updated":
      case "message_deleted":
      case "files_shared": {
        const channel = change.channel;
        const ts = change.kind === "files_shared" ? change.messageTs : change.ts;
        if (item.deleted) {
          if (item.posted) return;
          const known = this.messageNumbers.get(`${channel}/${ts}`);
          const threadTs = change.kind === "files_shared" ? undefined : change.threadTs;
          const what =
            threadTs !== undefined
              ? `a reply in thread ${this.messageNumber(channel, threadTs)} was deleted`
              : known !== undefined
                ? `message ${known} was deleted`
                : "a message was deleted";
          this.print(`── ${this.channelLabel(channel)} · ${what}`);
          return;
        }
        const message = this.emulator.message(channel, ts);
        if (message) this.showMessage(message, item.posted ? "from" : "edited by");
        return;
      }
      case "ephemeral_posted":
      case "ephemeral_updated":
      case "ephemeral_deleted": {
        if (item.deleted) {
          if (!item.posted) {
            const who = change.user === this.user ? "your" : `@${this.userName(change.user)}'s`;
            this.print(`── ${this.channelLabel(change.channel)} · ${who} ephemeral message was removed`);
          }
          return;
        }
        const message = this.emulator.ephemerals(change.user).find((e) => e.ts === change.ts);
        if (message) this.showEphemeral(message, !item.posted);
        return;
      }
      case "view_opened":
      case "view_updated":
      case "view_closed": {
        const view = this.emulator.views(change.user).find((v) => v.id === change.viewId);
        if (!view) return;
        if (view.type === "home") {
          if (view.user === this.user) {
            this.showHome(view);
            if (this.homeRequested) this.homeShown = true;
          } else {
            this.note(`the app updated @${this.userName(view.user)}'s Home tab`);
          }
          return;
        }
        if (!view.open) {
          if (!item.posted) this.print(`── modal "${this.viewTitle(view)}" closed`);
          return;
        }
        this.showModal(view, item.posted ? "opened" : "updated");
        return;
      }
      case "api_call":
        this.print(`── ! the app's ${change.method} call failed: ${change.error ?? "error"}`);
        return;
      default:
        return;
    }
  }

  private viewTitle(view: StoredView): string {
    const title = view.view.title;
    return typeof title === "object" && title !== null && "text" in title ? String(title.text) : view.id;
  }

  // ---- commands ----

  /** Runs one input line; resolves to true when the session should end. */
  async handle(line: string): Promise<boolean> {
    if (this.confirm) {
      const pending = this.confirm;
      this.confirm = undefined;
      if (/^\s*y(es)?\s*$/i.test(line)) await this.press(pending.ref, pending.element, pending.value);
      else this.note(`cancelled: "${pending.element.confirm?.deny ?? "Cancel"}"`);
      return false;
    }
    const command = parseCommand(line);
    try {
      return await this.run(command);
    } catch (error) {
      this.print(`! ${errorText(error)}`);
      return false;
    }
  }

  private async run(command: ConsoleCommand): Promise<boolean> {
    switch (command.kind) {
      case "empty":
        return false;
      case "quit":
        return true;
      case "help":
        this.print(CONSOLE_HELP);
        return false;
      case "invalid":
        this.print(command.message);
        return false;
      case "slash":
        await this.slash(command.command, command.text);
        return false;
      case "as":
        this.switchUser(command.who);
        return false;
      case "users":
        this.switchUser(undefined);
        return false;
      case "channel":
        this.switchChannel(command.name);
        return false;
      case "press":
        await this.pressChoice(command.choice, command.option);
        return false;
      case "thread":
      case "show":
        this.showNumbered(command.message, command.kind === "thread");
        return false;
      case "history":
        this.history(command.count ?? 10);
        return false;
      case "wait":
        await this.wait(command.seconds * 1000);
        return false;
      case "home":
        await this.home();
        return false;
      case "modal": {
        const modal = this.openModal();
        if (modal) this.showModal(modal, "open");
        else this.note("no modal is open");
        return false;
      }
      case "submit":
        await this.submit(command.fields);
        return false;
      case "cancel":
        await this.cancel();
        return false;
      case "say":
        this.touch();
        this.emulator.postAsUser({
          user: this.user,
          channel: this.channel,
          text: escapeCommandText(command.text, this.directory()),
        });
        await this.settle();
        return false;
    }
  }

  private async slash(command: string, text: string): Promise<void> {
    if (command !== SLASH_COMMAND) {
      this.print(`Slack would say: ${command} is not a valid command. This workspace has ${SLASH_COMMAND}.`);
      return;
    }
    this.touch();
    const result = await this.emulator.slashCommand({
      user: this.user,
      channel: this.channel,
      command,
      text: escapeCommandText(text, this.directory()),
    });
    if (result.timedOut) {
      this.print(
        `Slack would show: ${command} failed with the error "operation_timeout" (no ack within 3 s)`,
      );
    } else if (result.status !== 200) {
      this.print(
        `Slack would show: ${command} failed with the error "dispatch_failed" (HTTP ${result.status})`,
      );
    } else if (result.ackError) {
      this.print(`Slack refused the app's immediate answer (${result.ackError})`);
    }
    await this.settle({ answered: !result.timedOut && result.status === 200 && !result.ackError });
  }

  private switchUser(who: string | undefined): void {
    const people = this.users().filter((u) => !u.isBot && !u.deleted);
    if (who === undefined) {
      for (const u of people) {
        const mark = u.id === this.user ? "*" : " ";
        this.print(`${mark} @${u.name} (${u.id}, ${u.realName ?? u.name}): ${this.rolesOf(u.id)}`);
      }
      return;
    }
    const wanted = who.replace(/^@/, "").toLowerCase();
    const match = people.find((u) => u.name.toLowerCase() === wanted || u.id.toLowerCase() === wanted);
    if (!match) {
      this.print(`No user ${who}. Users: ${people.map((u) => `@${u.name}`).join(", ")}`);
      return;
    }
    this.user = match.id;
    this.print(`You are now @${match.name} (${this.rolesOf(match.id)}).`);
  }

  private switchChannel(name: string | undefined): void {
    const visible = (c: ChannelInfo) => !c.members || c.members.includes(this.user);
    if (name === undefined) {
      for (const c of this.emulator.channels().filter((c) => !c.isIm && !c.isMpim)) {
        const mark = c.id === this.channel ? "*" : " ";
        const note = visible(c) ? (c.isPrivate ? " (private)" : "") : " (you are not a member)";
        this.print(`${mark} #${c.name}${note}`);
      }
      this.print("  dm (your direct messages with the app)");
      return;
    }
    const ref = name.trim();
    const channel =
      ref === "dm" || ref === "@crashtest" ? this.emulator.channel(this.user) : this.emulator.channel(ref);
    if (!channel || (channel.isIm && channel.imUser !== this.user)) {
      this.print(`No channel ${ref}. \`channel\` lists them.`);
      return;
    }
    if (!visible(channel)) {
      this.print(`@${this.userName(this.user)} is not a member of ${this.channelLabel(channel.id)}.`);
      return;
    }
    this.channel = channel.id;
    this.print(`Now in ${this.channelLabel(channel.id)}. \`history\` shows its recent messages.`);
  }

  private showNumbered(n: number, withThread: boolean): void {
    const ref = this.messagesByNumber.get(n);
    const message = ref ? this.emulator.message(ref.channel, ref.ts) : undefined;
    if (!ref || !message) {
      this.print(ref ? `Message ${n} was deleted.` : `There is no message ${n}.`);
      return;
    }
    this.showMessage(message, "from");
    if (!withThread) return;
    const replies = this.emulator.thread(ref.channel, ref.ts);
    for (const reply of replies) this.showMessage(reply, "from");
    const ephemerals = this.emulator
      .ephemerals(this.user)
      .filter((e) => e.channel === ref.channel && e.threadTs === ref.ts);
    for (const e of ephemerals) this.showEphemeral(e, false);
    if (replies.length === 0 && ephemerals.length === 0) this.note(`thread ${n} has no replies yet`);
  }

  private history(count: number): void {
    const messages: Array<{ ts: string; show: () => void }> = [
      ...this.emulator
        .channelMessages(this.channel)
        .map((m) => ({ ts: m.ts, show: () => this.showMessage(m, "from") })),
      ...this.emulator
        .ephemerals(this.user)
        .filter((e) => e.channel === this.channel && e.threadTs === undefined)
        .map((e) => ({ ts: e.ts, show: () => this.showEphemeral(e, false) })),
    ];
    messages.sort((a, b) => Number(a.ts) - Number(b.ts));
    const shown = messages.slice(-count);
    if (shown.length === 0) this.note(`no messages in ${this.channelLabel(this.channel)} yet`);
    for (const m of shown) m.show();
  }

  private async home(): Promise<void> {
    this.touch();
    this.homeRequested = true;
    this.homeShown = false;
    try {
      const result = await this.emulator.homeOpened(this.user);
      if (result.status !== 200)
        this.print(`The app did not accept app_home_opened (HTTP ${result.status}).`);
      await this.settle();
      if (!this.homeShown) {
        const home = this.emulator.views(this.user).find((v) => v.type === "home");
        if (home) this.showHome(home);
        else this.note("the app has not published a Home tab for you");
      }
    } finally {
      this.homeRequested = false;
    }
  }

  private openModal(): StoredView | undefined {
    return this.emulator
      .views(this.user)
      .filter((v) => v.type === "modal" && v.open)
      .at(-1);
  }

  // ---- pressing ----

  /** The element behind a choice number as it is now, or why it cannot be pressed. */
  private resolveChoice(ref: ChoiceRef): InteractiveElement | string {
    const { surface } = ref;
    let blocks: readonly unknown[];
    if (surface.kind === "message") {
      const message = this.emulator.message(surface.channel, surface.ts);
      if (!message) return "that message was deleted";
      blocks = message.blocks ?? [];
    } else if (surface.kind === "ephemeral") {
      if (surface.user !== this.user) {
        const name = this.userName(surface.user);
        return `only @${name} sees that message; \`as @${name}\` to press it`;
      }
      const message = this.emulator.ephemerals(surface.user).find((e) => e.ts === surface.ts);
      if (!message) return "that ephemeral message is gone";
      blocks = message.blocks ?? [];
    } else {
      if (surface.user !== this.user) {
        const name = this.userName(surface.user);
        return `that is on @${name}'s screen; \`as @${name}\` to press it`;
      }
      const view = this.emulator.views(surface.user).find((v) => v.id === surface.viewId);
      if (!view || (view.type === "modal" && !view.open)) return "that modal is closed";
      blocks = Array.isArray(view.view.blocks) ? view.view.blocks : [];
    }
    const element = interactiveElements(blocks).find(
      (e) => e.actionId === ref.actionId && e.value === ref.value,
    );
    return element ?? "that button is no longer there (the message changed); press one of its latest version";
  }

  private pickOption(element: InteractiveElement, option: string | undefined): string | undefined | Error {
    const options = element.options ?? [];
    if (element.type === "button") return undefined;
    if (options.length > 0) {
      if (option === undefined) {
        return new Error(
          `pick an option: ${options.map((o, i) => `${i + 1}=${o.value}`).join(", ")} (e.g. press N ${options[0]?.value})`,
        );
      }
      const lower = option.toLowerCase();
      const match =
        options.find((o) => o.value === option) ??
        options.find((o) => o.label.toLowerCase() === lower) ??
        (/^\d+$/.test(option) ? options[Number(option) - 1] : undefined);
      if (!match)
        return new Error(`"${option}" is not an option (${options.map((o) => o.value).join(", ")})`);
      return match.value;
    }
    if (option === undefined) return new Error(`${element.type} needs a value: press N <value>`);
    return this.resolveName(element.type, option);
  }

  /** @name → user ID and #name → channel ID for the select types that carry IDs. */
  private resolveName(type: string, value: string): string {
    const dir = this.directory();
    const find = (map: Readonly<Record<string, string>> | undefined, name: string) =>
      Object.entries(map ?? {}).find(([, n]) => n.toLowerCase() === name.toLowerCase())?.[0];
    if (/users_select/.test(type)) return find(dir.users, value.replace(/^@/, "")) ?? value;
    if (/conversations_select|channels_select/.test(type))
      return find(dir.channels, value.replace(/^#/, "")) ?? value;
    return value;
  }

  private async pressChoice(n: number, option: string | undefined): Promise<void> {
    const ref = this.choicesByNumber.get(n);
    if (!ref) {
      this.print(`There is no button [${n}]. Buttons show as [n] next to their label.`);
      return;
    }
    const element = this.resolveChoice(ref);
    if (typeof element === "string") {
      this.print(`Cannot press [${n}]: ${element}.`);
      return;
    }
    const value = this.pickOption(element, option);
    if (value instanceof Error) {
      this.print(`[${n}] ${element.label}: ${value.message}`);
      return;
    }
    if (element.confirm) {
      const c = element.confirm;
      this.block(`${c.title}`, [...c.text.split("\n"), `[y] ${c.confirm}  [N] ${c.deny}`]);
      this.confirm = { ref, element, value };
      return;
    }
    await this.press(ref, element, value);
  }

  private async press(ref: ChoiceRef, element: InteractiveElement, value: string | undefined): Promise<void> {
    const shown = value !== undefined ? `${element.label} → ${value}` : element.label;
    this.note(
      `@${this.userName(this.user)} pressed "${shown}"${element.url ? `; the browser would open ${element.url}` : ""}`,
    );
    this.touch();
    const { surface } = ref;
    const result =
      surface.kind === "view"
        ? await this.emulator.clickInView({
            user: this.user,
            viewId: surface.viewId,
            blockId: element.blockId,
            actionId: ref.actionId,
            ...(value !== undefined ? { value } : {}),
          })
        : await this.emulator.click({
            user: this.user,
            channel: surface.channel,
            messageTs: surface.ts,
            blockId: element.blockId,
            actionId: ref.actionId,
            ...(value !== undefined ? { value } : {}),
          });
    if (result.timedOut) this.print("Slack would show a warning: the app did not respond within 3 s.");
    else if (result.status !== 200)
      this.print(`Slack would show a warning: the app answered HTTP ${result.status}.`);
    await this.settle({ answered: !result.timedOut && result.status === 200 });
  }

  // ---- modals ----

  private async submit(fields: Array<[string, string]>): Promise<void> {
    const modal = this.openModal();
    if (!modal) {
      this.print("No modal is open for you. Buttons and commands that open one show it here.");
      return;
    }
    const values = this.modalValues(modal, fields);
    if (typeof values === "string") {
      this.print(values);
      return;
    }
    this.touch();
    const result = await this.emulator.submitView({ user: this.user, viewId: modal.id, values });
    if (result.timedOut) this.print("Slack would show: the app did not respond; the modal stays open.");
    else if (result.status !== 200)
      this.print(`Slack would show an error (HTTP ${result.status}); the modal stays open.`);
    else if (result.ackError)
      this.print(`Slack refused the app's answer (${result.ackError}); the modal stays open.`);
    await this.settle();
  }

  /** `values[block_id][action_id]` from key=value pairs (key: block_id or action_id), else initial values. */
  private modalValues(
    view: StoredView,
    fields: Array<[string, string]>,
  ): Record<string, Record<string, ViewInput>> | string {
    const inputs = (Array.isArray(view.view.blocks) ? view.view.blocks : []).filter(
      (b): b is JsonObject & { element: JsonObject } =>
        typeof b === "object" && b !== null && b.type === "input" && typeof b.element === "object",
    );
    const given = new Map(fields);
    const used = new Set<string>();
    const values: Record<string, Record<string, ViewInput>> = {};
    for (const block of inputs) {
      const blockId = String(block.block_id);
      const actionId = String(block.element.action_id);
      const key = given.has(blockId) ? blockId : given.has(actionId) ? actionId : undefined;
      let input: ViewInput | undefined;
      if (key !== undefined) {
        used.add(key);
        const converted = this.inputValue(block.element, given.get(key) ?? "", blockId);
        if (converted instanceof Error) return converted.message;
        input = converted;
      } else {
        input = initialValue(block.element);
      }
      if (input !== undefined) values[blockId] = { [actionId]: input };
    }
    const unknown = [...given.keys()].filter((k) => !used.has(k));
    if (unknown.length > 0) {
      const keys = inputs.map((b) => String(b.block_id)).join(", ");
      return `The modal has no field ${unknown.join(", ")} (fields: ${keys || "none"}).`;
    }
    return values;
  }

  private inputValue(element: JsonObject, raw: string, key: string): ViewInput | Error {
    const type = String(element.type);
    const options = interactiveOptions(element);
    const pick = (value: string): string | Error => {
      if (options.length === 0) return this.resolveName(type, value);
      const lower = value.toLowerCase();
      const match =
        options.find((o) => o.value === value) ??
        options.find((o) => o.label.toLowerCase() === lower) ??
        (/^\d+$/.test(value) ? options[Number(value) - 1] : undefined);
      return match
        ? match.value
        : new Error(`"${value}" is not an option of ${key} (${options.map((o) => o.value).join(", ")})`);
    };
    if (/^multi_|^checkboxes$/.test(type)) {
      const picked = raw
        .split(",")
        .map((v) => v.trim())
        .filter(Boolean)
        .map(pick);
      const error = picked.find((p) => p instanceof Error);
      return error instanceof Error ? error : (picked as string[]);
    }
    if (/select$|^radio_buttons$/.test(type)) return pick(raw);
    return raw;
  }

  private async cancel(): Promise<void> {
    const modal = this.openModal();
    if (!modal) {
      this.note("no modal is open");
      return;
    }
    this.touch();
    const result = await this.emulator.closeView({ user: this.user, viewId: modal.id });
    if (result && result.status !== 200)
      this.print(`The app did not accept view_closed (HTTP ${result.status}).`);
    await this.settle();
  }
}

function interactiveOptions(element: JsonObject): Array<{ value: string; label: string }> {
  return (
    interactiveElements([{ type: "actions", elements: [{ ...element, action_id: "x" }] }])[0]?.options ?? []
  );
}

/** What Slack submits for an input the user did not touch: its initial value. */
function initialValue(element: JsonObject): ViewInput | undefined {
  const option = (o: unknown) =>
    typeof o === "object" && o !== null && "value" in o ? String((o as JsonObject).value) : undefined;
  for (const key of [
    "initial_value",
    "initial_date",
    "initial_time",
    "initial_user",
    "initial_conversation",
    "initial_channel",
  ]) {
    if (typeof element[key] === "string") return element[key] as string;
  }
  if (element.initial_option !== undefined) return option(element.initial_option);
  for (const key of ["initial_options", "initial_users", "initial_conversations", "initial_channels"]) {
    const list = element[key];
    if (Array.isArray(list))
      return list.map((o) => (typeof o === "string" ? o : (option(o) ?? ""))).filter(Boolean);
  }
  return undefined;
}
