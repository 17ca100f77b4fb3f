import type { AuditTrail } from "../audit.js";
import type { Authorizer } from "../authz.js";
import { AppError, command, say } from "../errors.js";
import type { Clock } from "../ports.js";
import type { ProjectRegistry } from "../projects.js";
import type { SubscribeArgs } from "./arguments.js";
import {
  ALL_PROJECTS,
  type ChannelSettings,
  DEFAULT_EVENTS,
  type EventKind,
  type Subscription,
  type SubscriptionBook,
  subscriptionId,
} from "./records.js";

/**
 * What the subscription commands do: checked (role, allowed channel, a channel the bot can post to),
 * written through SubscriptionBook and audited. Operators (and approvers, admins) manage them.
 */

export interface SubscriptionServiceDeps {
  book: SubscriptionBook;
  authz: Authorizer;
  audit: AuditTrail;
  registry: Pick<ProjectRegistry, "resolve">;
  clock: Clock;
  /** Whether the bot can post in the channel (a private channel needs the bot as a member). */
  canPost(channel: string): Promise<boolean>;
  /** The time zone of a channel that set none (SUBSCRIPTIONS_TIMEZONE). */
  defaultTimezone: string;
}

export interface ChannelView {
  subscriptions: Subscription[];
  settings: ChannelSettings;
}

export class SubscriptionService {
  constructor(private readonly deps: SubscriptionServiceDeps) {}

  private async manageable(user: string, channel: string): Promise<void> {
    await this.deps.authz.require(user, "manage_subscriptions", channel);
    if (channel.startsWith("D") || channel.startsWith("U")) {
      throw new AppError(
        "validation",
        "Subscriptions are for channels. For your own scans, `/crashtest notify on|off` controls your DMs.",
      );
    }
    if (!(await this.deps.canPost(channel))) {
      throw new AppError(
        "permission",
        "The bot is not a member of this private channel, so it cannot post here. Invite it with `/invite @crashtest` (the bot's name in your workspace), then subscribe again.",
        { detail: `bot cannot post in ${channel}` },
      );
    }
  }

  async settings(channel: string): Promise<ChannelSettings> {
    return (
      (await this.deps.book.channel(channel)) ?? {
        channel,
        timezone: this.deps.defaultTimezone,
        updatedAt: 0,
      }
    );
  }

  /** Adds or changes the channel's subscription to a project (or `*`), and the channel's settings. */
  async subscribe(
    user: string,
    channel: string,
    args: SubscribeArgs,
  ): Promise<ChannelView & { subscription: Subscription; created: boolean }> {
    const { book, clock, audit } = this.deps;
    await this.manageable(user, channel);
    const project =
      args.project === ALL_PROJECTS
        ? { id: ALL_PROJECTS, name: ALL_PROJECTS }
        : await this.deps.registry.resolve(args.project);
    const id = subscriptionId(channel, project.id);
    const existing = await book.get(id);
    const now = clock.now();
    const subscription: Subscription = {
      id,
      channel,
      projectId: project.id,
      projectName: project.name,
      events: args.events ?? existing?.events ?? [...DEFAULT_EVENTS],
      createdBy: existing?.createdBy ?? user,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    const severity = args.minSeverity ?? existing?.minSeverity;
    if (severity && severity !== "any") subscription.minSeverity = severity;
    const digest = args.digest ?? existing?.digest;
    if (digest && digest !== "off") subscription.digest = digest;
    await book.save(subscription);
    const settings = await this.settings(channel);
    if (args.timezone || args.quiet || args.urgent) {
      if (args.timezone) settings.timezone = args.timezone;
      if (args.quiet === "off") delete settings.quiet;
      else if (args.quiet) settings.quiet = args.quiet;
      if (args.urgent) settings.urgent = args.urgent;
      settings.updatedAt = now;
      await book.saveChannel(settings);
    }
    await audit.record({
      user,
      action: existing ? "subscription.update" : "subscription.add",
      target: `${channel} ${project.name}`,
      outcome: "ok",
      detail: describe(subscription),
    });
    return { subscription, created: !existing, settings, subscriptions: await book.forChannel(channel) };
  }

  /** Removes events from a subscription, or the whole subscription when no events (or all) are named. */
  async unsubscribe(
    user: string,
    channel: string,
    project: string,
    events?: readonly EventKind[],
  ): Promise<{ removed: boolean; left?: Subscription }> {
    await this.manageable(user, channel);
    const subscriptions = await this.deps.book.forChannel(channel);
    const wanted = project.toLowerCase();
    const found = subscriptions.find(
      (s) => s.projectId === project || s.projectName.toLowerCase() === wanted,
    );
    if (!found) {
      throw new AppError(
        "not_found",
        say`This channel has no subscription to "${project}". ${command("subscriptions")} lists them.`,
      );
    }
    return this.drop(user, found, events);
  }

  /** The Remove button: the subscription's ID, re-checked against the clicking user's role now. */
  async remove(user: string, channel: string, id: string): Promise<Subscription> {
    await this.manageable(user, channel);
    const found = await this.deps.book.get(id);
    if (!found || found.channel !== channel) {
      throw new AppError("not_found", "This subscription no longer exists.");
    }
    await this.drop(user, found);
    return found;
  }

  private async drop(
    user: string,
    found: Subscription,
    events?: readonly EventKind[],
  ): Promise<{ removed: boolean; left?: Subscription }> {
    const { book, audit, clock } = this.deps;
    const remaining = events ? found.events.filter((e) => !events.includes(e)) : [];
    if (remaining.length > 0) {
      const left = { ...found, events: remaining, updatedAt: clock.now() };
      await book.save(left);
      await audit.record({
        user,
        action: "subscription.update",
        target: `${found.channel} ${found.projectName}`,
        outcome: "ok",
        detail: describe(left),
      });
      return { removed: false, left };
    }
    await book.remove(found.id);
    await audit.record({
      user,
      action: "subscription.remove",
      target: `${found.channel} ${found.projectName}`,
      outcome: "ok",
    });
    return { removed: true };
  }

  async list(user: string, channel: string): Promise<ChannelView> {
    await this.deps.authz.require(user, "view", channel);
    return {
      subscriptions: await this.deps.book.forChannel(channel),
      settings: await this.settings(channel),
    };
  }

  /** `notify on|off`: anyone may choose whether the bot DMs them about their own scans. */
  async notify(user: string, on: boolean): Promise<void> {
    await this.deps.book.savePreference({ user, dm: on, updatedAt: this.deps.clock.now() });
    await this.deps.audit.record({
      user,
      action: on ? "notify.on" : "notify.off",
      target: user,
      outcome: "ok",
    });
  }
}

/** One line for the audit trail: what the subscription now asks for. */
export function describe(s: Subscription): string {
  const parts = [`events=${s.events.join(",")}`];
  if (s.minSeverity) parts.push(`severity>=${s.minSeverity}`);
  if (s.digest) parts.push(`digest=${s.digest.every}`);
  return parts.join(" ");
}
