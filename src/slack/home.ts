import type { App } from "@slack/bolt";
import { readCredentialStatuses } from "../domain/credential-guard.js";
import { homeView } from "./blocks/home.js";
import type { SurfaceDeps } from "./deps.js";

/** Refreshes the App Home tab each time someone opens it. */
export function registerHome(app: App, deps: SurfaceDeps, credentialsConfigured: () => boolean): void {
  app.event("app_home_opened", async ({ event }) => {
    if (event.tab !== "home") return;
    const user = event.user;
    deps.tasks.run("app home", async () => {
      const now = deps.clock.now();
      const view = homeView({
        scans: await deps.scans.listScans(),
        approvals: await deps.scans.pendingApprovals(),
        credentials: credentialsConfigured() ? await readCredentialStatuses(deps.store, now) : undefined,
        now,
      });
      await deps.messenger.publishHome(user, view);
    });
  });
}
