import type { KeyValueStore, Severity } from "../ports.js";

/**
 * The subscription records: which channel hears which project's events, how (at once or as a digest),
 * and the channel's own settings (time zone, quiet hours); a person's choice about DMs. SubscriptionBook
 * is their only writer; the commands change them through SubscriptionService (service.ts).
 */

export const EVENT_KINDS = ["started", "finished", "failed", "new-findings", "approval"] as const;
export type EventKind = (typeof EVENT_KINDS)[number];
/** What `subscribe` without `events=` means. */
export const DEFAULT_EVENTS: readonly EventKind[] = ["finished", "failed"];

/** The severities a threshold can name (`severity>=high`); absent means any severity. */
export const THRESHOLDS = ["low", "medium", "high", "critical"] as const;
export type Threshold = (typeof THRESHOLDS)[number];

/** `daily@09:00` or `weekly@mon 09:00`, in the channel's time zone; `day` 0 is Sunday. */
export interface DigestSchedule {
  every: "daily" | "weekly";
  day?: number;
  hour: number;
  minute: number;
}

export const ALL_PROJECTS = "*";

export interface Subscription {
  /** `<channel>:<projectId or all>`: one subscription per channel and project. */
  id: string;
  channel: string;
  /** The project's ID, or `*` for every project. */
  projectId: string;
  /** The name as it was when subscribed, for the list. */
  projectName: string;
  minSeverity?: Threshold;
  events: EventKind[];
  digest?: DigestSchedule;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

/** Minutes after local midnight. A window with from > to wraps midnight (22:00-07:00). */
export interface QuietHours {
  from: number;
  to: number;
}

/** What still gets through quiet hours when the channel asks for it (`urgent=failed,critical`). */
export const URGENT_KINDS = ["failed", "critical"] as const;
export type UrgentKind = (typeof URGENT_KINDS)[number];

export interface ChannelSettings {
  channel: string;
  /** IANA time zone (Area/City) for digests and quiet hours. */
  timezone: string;
  quiet?: QuietHours;
  urgent?: UrgentKind[];
  updatedAt: number;
}

export interface NotifyPreference {
  user: string;
  dm: boolean;
  updatedAt: number;
}

const SUBSCRIPTIONS = "subscriptions";
const CHANNELS = "subscription-channels";
const PREFERENCES = "notify-prefs";

/** Also the Remove button's value: letters, digits, `:`, `_` and `-` only. */
export const subscriptionId = (channel: string, projectId: string) =>
  `${channel}:${projectId === ALL_PROJECTS ? "all" : projectId}`;

export class SubscriptionBook {
  constructor(private readonly store: KeyValueStore) {}

  get(id: string): Promise<Subscription | undefined> {
    return this.store.get<Subscription>(SUBSCRIPTIONS, id);
  }

  async list(): Promise<Subscription[]> {
    const all = (await this.store.entries<Subscription>(SUBSCRIPTIONS)).map(([, s]) => s);
    return all.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async forChannel(channel: string): Promise<Subscription[]> {
    return (await this.list()).filter((s) => s.channel === channel);
  }

  save(subscription: Subscription): Promise<void> {
    return this.store.set(SUBSCRIPTIONS, subscription.id, subscription);
  }

  remove(id: string): Promise<boolean> {
    return this.store.delete(SUBSCRIPTIONS, id);
  }

  channel(channel: string): Promise<ChannelSettings | undefined> {
    return this.store.get<ChannelSettings>(CHANNELS, channel);
  }

  saveChannel(settings: ChannelSettings): Promise<void> {
    return this.store.set(CHANNELS, settings.channel, settings);
  }

  async dmWanted(user: string): Promise<boolean> {
    return (await this.store.get<NotifyPreference>(PREFERENCES, user))?.dm ?? true;
  }

  savePreference(preference: NotifyPreference): Promise<void> {
    return this.store.set(PREFERENCES, preference.user, preference);
  }
}

/** Severity order, most severe first, as the findings summary counts them. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = {
  critical: 4,
  high: 3,
  medium: 2,
  low: 1,
  info: 0,
};
