import type { App } from "@slack/bolt";
import { AppError } from "../../domain/errors.js";
import { projectName, targetUrl } from "../../domain/inputs.js";
import { projectCreatedMessage } from "../commands/project.js";
import type { SurfaceDeps } from "../deps.js";
import { errorReply } from "../errors.js";
import { auditFailure } from "../flows.js";
import { PROJECT_MODAL, readProjectModal, readProjectModalMetadata } from "./project-modal.js";

export function registerViews(app: App, deps: SurfaceDeps): void {
  app.view(PROJECT_MODAL, async ({ ack, body, view }) => {
    const user = body.user.id;
    const metadata = readProjectModalMetadata(view.private_metadata);
    if (!metadata) {
      // Not what the bot wrote: say so in the modal instead of acting on it.
      await ack({
        response_action: "errors",
        errors: { name: "This form is no longer valid. Close it and run /crashtest project create again." },
      });
      deps.logger.warn("project modal with invalid private_metadata refused", { user });
      return;
    }
    const { name, url } = readProjectModal(view.state.values);
    const parsedName = projectName.safeParse(name);
    const parsedUrl = targetUrl(deps.settings.allowPrivateTargets).safeParse(url);
    const errors: Record<string, string> = {};
    if (!parsedName.success) errors.name = parsedName.error.issues[0]?.message ?? "not valid";
    if (!parsedUrl.success) errors.url = parsedUrl.error.issues[0]?.message ?? "not valid";
    if (!parsedName.success || !parsedUrl.success) {
      // Field-level errors keep the modal open with the user's input.
      await ack({ response_action: "errors", errors });
      return;
    }
    await ack();
    const { channel } = metadata;
    const log = deps.logger.child({ view: PROJECT_MODAL, user, channel });
    deps.tasks.run("project modal", async () => {
      try {
        const created = await deps.projects.create(user, channel, {
          name: parsedName.data,
          url: parsedUrl.data,
        });
        await deps.slack.ephemeral(channel, user, projectCreatedMessage(created));
      } catch (error) {
        const kind = error instanceof AppError ? error.kind : "internal";
        await auditFailure(deps, { user, action: "project.create", target: parsedName.data, kind });
        await deps.slack.ephemeral(channel, user, errorReply(error, log, { view: PROJECT_MODAL }));
      }
    });
  });
}
