import {
  parseNotifyArgs,
  parseSubscribeArgs,
  parseUnsubscribeArgs,
} from "../../domain/subscriptions/arguments.js";
import { clockText } from "../../domain/subscriptions/local-time.js";
import type { Subscription } from "../../domain/subscriptions/records.js";
import { context, escapeText, message, section } from "../blocks/common.js";
import { digestText, subscriptionList } from "../blocks/subscriptions.js";
import type { SurfaceDeps } from "../deps.js";
import type { CommandSpec } from "./table.js";

/** `subscribe`, `unsubscribe`, `subscriptions` and `notify`: who hears which scan events. */

function describe(s: Subscription): string {
  const project = s.projectId === "*" ? "every project" : `*${escapeText(s.projectName)}*`;
  const severity = s.minSeverity ? `severity ≥ ${s.minSeverity}` : "any severity";
  const how = s.digest ? `as a digest ${digestText(s.digest)}` : "one message per event";
  return `${project}: ${s.events.join(", ")} · ${severity} · ${how}`;
}

export const subscribe: CommandSpec<SurfaceDeps> = {
  name: "subscribe",
  usage:
    "<project|*> [severity>=high] [events=finished,failed] [digest=daily@09:00] [tz=Area/City] [quiet=22:00-07:00]",
  summary: "Send a project's scan events to this channel (operators).",
  details:
    "Events: `started`, `finished`, `failed`, `new-findings` (new findings at or above the severity), `approval` (requests to approve); default `finished,failed`. `severity>=high` also keeps `finished` to scans with findings at or above it. `digest=daily@09:00` or `digest=weekly@mon 09:00` (`off` to undo) sends one summary instead. Channel settings: `tz=Europe/Berlin` for digests and quiet hours; `quiet=22:00-07:00` holds events and sends them as one message when the window ends (`off` to undo); `urgent=failed,critical` lets failed scans and new critical findings through quiet hours. The bot must be a member of the channel: `/invite @crashtest`.",
  async run({ args, userId, channelId, reply }, deps) {
    const parsed = parseSubscribeArgs(args);
    const { subscription, created, settings } = await deps.subscriptions.subscribe(userId, channelId, parsed);
    const text = `${created ? "Subscribed" : "Updated the subscription of"} this channel: ${describe(subscription)}.`;
    const quiet = settings.quiet
      ? ` · quiet hours ${clockText(settings.quiet.from)}-${clockText(settings.quiet.to)}`
      : "";
    await reply(
      message(text, [
        section(text),
        context(
          `Time zone ${escapeText(settings.timezone)}${quiet} · \`/crashtest subscriptions\` lists this channel's subscriptions.`,
        ),
      ]),
    );
  },
};

export const unsubscribe: CommandSpec<SurfaceDeps> = {
  name: "unsubscribe",
  usage: "<project|*> [events=started,…]",
  summary: "Stop sending a project's events (or some of them) to this channel.",
  async run({ args, userId, channelId, reply }, deps) {
    const { project, events } = parseUnsubscribeArgs(args);
    const { removed, left } = await deps.subscriptions.unsubscribe(userId, channelId, project, events);
    const text = removed
      ? `Unsubscribed this channel from ${project === "*" ? "every project" : `*${escapeText(project)}*`}.`
      : `Still subscribed: ${describe(left as Subscription)}.`;
    await reply(message(text, [section(text)]));
  },
};

export const subscriptions: CommandSpec<SurfaceDeps> = {
  name: "subscriptions",
  usage: "",
  summary: "List this channel's subscriptions, with Remove buttons.",
  async run({ userId, channelId, reply }, deps) {
    const view = await deps.subscriptions.list(userId, channelId);
    await reply(subscriptionList(view.subscriptions, view.settings));
  },
};

export const notify: CommandSpec<SurfaceDeps> = {
  name: "notify",
  usage: "on|off",
  summary: "Turn your DMs about your own scans and requests on or off.",
  details:
    "When on (the default), the bot sends you a direct message when your scan finishes or fails and when your scan request is approved, denied or expires.",
  async run({ args, userId, reply }, deps) {
    const on = parseNotifyArgs(args);
    await deps.subscriptions.notify(userId, on);
    const text = on
      ? "You will get a DM when your scans finish or fail and when your requests are decided."
      : "No more DMs about your scans and requests. `/crashtest notify on` turns them back on.";
    await reply(message(text, [section(text)]));
  },
};
