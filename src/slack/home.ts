import type { App, BlockAction } from "@slack/bolt";
import { readCredentialStatuses } from "../domain/credential-guard.js";
import { TERMINAL_SCAN_STATES } from "../domain/ports.js";
import type { MessageRef, ScanRecord } from "../domain/scans.js";
import { ACTIONS } from "./blocks/cards.js";
import { escapeText } from "./blocks/common.js";
import {
  type Decidable,
  HOME_BLOCK_PREFIX,
  type HomeApproval,
  type HomeDecision,
  type HomeScan,
  homeView,
  noAccessView,
} from "./blocks/home.js";
import { upcomingSchedulesBlocks } from "./blocks/schedules.js";
import type { SurfaceDeps } from "./deps.js";
import { SlackError } from "./failures.js";

/** Channel members change rarely; a short cache keeps a busy Home off conversations.members' rate limit. */
const MEMBERS_TTL_MS = 60_000;
/** After a click on the Home's own buttons, how long to wait for the decision before redrawing. */
const REDRAW_WAIT_MS = 5_000;
/** Ended scans shown under "Recent results". */
const RECENT_SHOWN = 10;

/**
 * Who may see what came from a channel: its members (conversations.members, channels:read /
 * groups:read). A channel the bot cannot read counts as having no members: fail closed.
 */
function channelMembership(deps: SurfaceDeps) {
  const cache = new Map<string, { at: number; members: ReadonlySet<string> }>();
  return async (channel: string, user: string): Promise<boolean> => {
    const now = deps.clock.now();
    let hit = cache.get(channel);
    if (!hit || now - hit.at >= MEMBERS_TTL_MS) {
      let members: ReadonlySet<string>;
      try {
        members = new Set(await deps.slack.channelMembers(channel));
      } catch (error) {
        deps.logger.warn("channel members unreadable; its scans stay hidden from non-admins", {
          channel,
          error,
        });
        members = new Set();
      }
      hit = { at: now, members };
      cache.set(channel, hit);
    }
    return hit.members.has(user);
  };
}

/** A card Slack no longer has (deleted): its entry is stale. */
const GONE = Symbol("gone");
/**
 * `<permalink|card>` per card (chat.getPermalink, kept by the gateway once known), GONE for a deleted
 * one, undefined when Slack gives none.
 */
function cardLinks(deps: SurfaceDeps) {
  return {
    async of(card: MessageRef): Promise<string | typeof GONE | undefined> {
      try {
        return `<${await deps.slack.permalink(card)}|card>`;
      } catch (error) {
        if (error instanceof SlackError && error.code === "message_not_found") return GONE;
        deps.logger.warn("no permalink for a card; the Home shows it without a link", { error });
        return undefined;
      }
    },
  };
}

/**
 * Refreshes the App Home tab each time someone opens it, showing only what that person may see:
 * nothing but "ask an admin" without view rights; otherwise scans and approvals from channels they are
 * in (admins: all), live ones only (a scan with no card or no watch, a request with no card is stale).
 */
export function registerHome(app: App, deps: SurfaceDeps, credentialsConfigured: () => boolean): void {
  const isMember = channelMembership(deps);
  const links = cardLinks(deps);

  const render = async (user: string, notice?: string) => {
    const now = deps.clock.now();
    if (!(await deps.authz.can(user, "view"))) {
      return noAccessView(deps.authz.adminContacts(), now);
    }
    const roles = await deps.authz.rolesOf(user);
    const admin = roles.includes("admin");
    const canApprove = await deps.authz.can(user, "approve_scan");
    const visible = async (channel: string) =>
      deps.authz.channelAllowed(channel) && (admin || (await isMember(channel, user)));

    const live = [];
    for (const scan of await deps.scans.listScans()) {
      if (!scan.card) continue;
      if (!TERMINAL_SCAN_STATES.has(scan.state) && !(await deps.watcher.isWatched(scan.scanId))) continue;
      if (await visible(scan.channel)) live.push(scan as ScanRecord & { card: MessageRef });
    }
    // The running ones and the latest ended ones are shown, each with its card's link.
    const ended = live
      .filter((s) => TERMINAL_SCAN_STATES.has(s.state))
      .sort((a, b) => (b.endedAt ?? b.updatedAt) - (a.endedAt ?? a.updatedAt))
      .slice(0, RECENT_SHOWN);
    const scans: HomeScan[] = [];
    for (const scan of [...live.filter((s) => !TERMINAL_SCAN_STATES.has(s.state)), ...ended]) {
      const link = await links.of(scan.card);
      if (link === GONE) continue;
      const findings = TERMINAL_SCAN_STATES.has(scan.state)
        ? (await deps.cardFacts?.view(scan))?.findings
        : undefined;
      scans.push({ scan, ...(link ? { link } : {}), ...(findings ? { findings } : {}) });
    }
    const approvals: HomeApproval[] = [];
    for (const request of await deps.scans.pendingApprovals()) {
      if (!request.card || !(await visible(request.channel))) continue;
      const decidable: Decidable = request.requestedBy === user ? "withdraw" : canApprove ? "decide" : "none";
      if (decidable === "none" || (await links.of(request.card)) === GONE) continue;
      approvals.push({ request, decidable });
    }
    // Pending finding decisions: the viewer's own, and those they may decide.
    const canDecide = await deps.authz.can(user, "decide_finding");
    const decisions: HomeDecision[] = [];
    for (const request of await deps.decisions.list()) {
      if (request.status !== "pending" || request.expiresAt <= now || !request.card) continue;
      const mine = request.requestedBy === user;
      if ((!mine && !canDecide) || !(await visible(request.channel))) continue;
      const link = await links.of(request.card);
      if (link === GONE) continue;
      decisions.push({ request, mine, ...(link ? { link } : {}) });
    }
    // The next scheduled scans, of channels this viewer sees.
    const upcoming = [];
    for (const view of await deps.schedules.upcoming(50)) {
      if (await visible(view.schedule.channel)) upcoming.push(view);
    }
    return homeView({
      scans,
      approvals,
      decisions,
      upcoming: upcomingSchedulesBlocks(upcoming),
      credentials: credentialsConfigured() ? await readCredentialStatuses(deps.store, now) : undefined,
      now,
      ...(notice ? { notice } : {}),
    });
  };

  const publish = (user: string) =>
    deps.tasks.run("app home", async () => {
      await deps.slack.publishHome(user, await render(user));
    });

  app.event("app_home_opened", async ({ event }) => {
    if (event.tab !== "home") return;
    publish(event.user);
  });

  // The Home's Approve/Deny buttons reuse the cards' action IDs, so the card listener (registerActions)
  // acks, authorizes and decides exactly as for a card click. This listener only redraws the clicker's
  // Home once the request is no longer pending (or after a bounded wait), so the buttons do not linger.
  for (const actionId of [ACTIONS.approve, ACTIONS.deny]) {
    app.action<BlockAction>(
      { action_id: actionId, block_id: new RegExp(`^${HOME_BLOCK_PREFIX}`) },
      async ({ body, action }) => {
        const requestId = "value" in action && typeof action.value === "string" ? action.value : "";
        const user = body.user.id;
        deps.tasks.run("app home redraw", async () => {
          const valid = /^[A-Za-z0-9:_-]{1,100}$/.test(requestId);
          let request = valid ? await deps.scans.getApproval(requestId) : undefined;
          const started = Date.now();
          while (request?.status === "pending" && Date.now() - started < REDRAW_WAIT_MS) {
            await new Promise((resolve) => setTimeout(resolve, 100));
            request = await deps.scans.getApproval(requestId);
          }
          // A Home click has no response_url and no channel for the card listener's answer: when the
          // request is still pending, the click was refused, so the Home says where to see why.
          const notice =
            request?.status === "pending"
              ? `:warning: Your click did not decide the scan request for *${escapeText(request.projectName)}*. Press the button on its card in <#${request.channel}> to see why.`
              : undefined;
          await deps.slack.publishHome(user, await render(user, notice));
        });
      },
    );
  }
}
