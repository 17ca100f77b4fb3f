import { AppError, channelNamed, person } from "./errors.js";

/**
 * Who may do what. Roles come from configuration as Slack user IDs (U…/W…) and user group IDs (S…);
 * they are checked on the server at the moment of each command or click, never taken from a payload.
 */
export type Role = "admin" | "approver" | "operator";

export type Capability =
  | "view" // list projects, scan status, credentials
  | "report" // download findings (they describe exploitable weaknesses)
  | "request_scan"
  | "stop_scan"
  | "create_project"
  | "approve_scan"
  | "decide_finding" // approve a risk acceptance or a false positive (four eyes)
  | "delete_project"
  | "link_project"
  | "audit"
  | "manage_subscriptions";

const GRANTS: Record<Role, ReadonlySet<Capability>> = {
  operator: new Set([
    "view",
    "report",
    "request_scan",
    "stop_scan",
    "create_project",
    "manage_subscriptions",
  ]),
  approver: new Set([
    "view",
    "report",
    "request_scan",
    "stop_scan",
    "create_project",
    "approve_scan",
    "decide_finding",
    "manage_subscriptions",
  ]),
  admin: new Set([
    "view",
    "report",
    "request_scan",
    "stop_scan",
    "create_project",
    "approve_scan",
    "decide_finding",
    "delete_project",
    "link_project",
    "audit",
    "manage_subscriptions",
  ]),
};

export interface RoleConfig {
  admins: string[];
  approvers: string[];
  operators: string[];
  /** Channel IDs where the bot acts; empty means every channel. */
  allowedChannels: string[];
}

/** Resolves a user group's members; the Slack adapter caches it. */
export type GroupMembers = (groupId: string) => Promise<readonly string[]>;

const isGroup = (id: string) => id.startsWith("S");

export class Authorizer {
  constructor(
    private readonly roles: RoleConfig,
    private readonly groupMembers: GroupMembers,
  ) {}

  private async holds(userId: string, entries: readonly string[]): Promise<boolean> {
    // A group ID names its members, never a user with that ID.
    if (!isGroup(userId) && entries.includes(userId)) return true;
    for (const entry of entries.filter(isGroup)) {
      if ((await this.groupMembers(entry)).includes(userId)) return true;
    }
    return false;
  }

  async rolesOf(userId: string): Promise<Role[]> {
    const out: Role[] = [];
    if (await this.holds(userId, this.roles.admins)) out.push("admin");
    if (await this.holds(userId, this.roles.approvers)) out.push("approver");
    if (await this.holds(userId, this.roles.operators)) out.push("operator");
    return out;
  }

  async can(userId: string, capability: Capability): Promise<boolean> {
    return (await this.rolesOf(userId)).some((role) => GRANTS[role].has(capability));
  }

  /** Who to ask for access: the configured admins (users and user groups). */
  adminContacts(): readonly string[] {
    return this.roles.admins;
  }

  channelAllowed(channelId: string): boolean {
    return this.roles.allowedChannels.length === 0 || this.roles.allowedChannels.includes(channelId);
  }

  /** Throws a permission error that says who can help. */
  async require(userId: string, capability: Capability, channelId?: string): Promise<void> {
    if (channelId !== undefined && !this.channelAllowed(channelId)) {
      throw new AppError(
        "permission",
        [
          "The bot is not enabled in this channel. Use it in ",
          ...this.roles.allowedChannels.flatMap((c, i) =>
            i === 0 ? [channelNamed(c)] : [", ", channelNamed(c)],
          ),
          ".",
        ],
        { detail: `channel ${channelId} is not in ALLOWED_CHANNELS` },
      );
    }
    if (await this.can(userId, capability)) return;
    const helpers = this.roles.admins.flatMap((id, i) => (i === 0 ? [person(id)] : [", ", person(id)]));
    const who =
      helpers.length > 0
        ? ["Ask ", ...helpers, " for access."]
        : ["No roles are configured yet: an operator of the bot must set ADMIN_USERS (see the README)."];
    throw new AppError("permission", [`You are not allowed to ${DESCRIPTIONS[capability]}. `, ...who], {
      detail: `user ${userId} lacks ${capability}`,
    });
  }
}

const DESCRIPTIONS: Record<Capability, string> = {
  view: "view projects and scans",
  report: "download scan reports",
  request_scan: "start scans",
  stop_scan: "stop scans",
  create_project: "create projects",
  approve_scan: "approve scans",
  decide_finding: "approve risk acceptances and false positives",
  delete_project: "delete projects",
  link_project: "link projects",
  audit: "read the audit trail",
  manage_subscriptions: "manage this channel's subscriptions",
};
