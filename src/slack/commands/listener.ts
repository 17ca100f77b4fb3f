import type { App } from "@slack/bolt";
import type { Logger } from "../../domain/ports.js";
import type { BackgroundTasks } from "../../domain/tasks.js";
import { unknownCommand } from "../blocks/help.js";
import { errorReply } from "../errors.js";
import type { SlackGateway } from "../gateway.js";
import type { CommandTable, Reply } from "./table.js";

export const SLASH_COMMAND = "/crashtest";

/**
 * Acks at once (Slack's 3 s rule) and runs the command as background work that answers through
 * response_url; if that URL has expired, it falls back to an ephemeral chat message.
 */
export function registerCommands<Deps extends { slack: Pick<SlackGateway, "ephemeral"> }>(
  app: App,
  table: CommandTable<Deps>,
  deps: Deps,
  tasks: BackgroundTasks,
  logger: Logger,
  /** Called for every command that fails, for the audit trail. */
  onFailure: (failure: {
    user: string;
    command: string;
    args: string[];
    error: unknown;
  }) => Promise<void> = async () => {},
): void {
  app.command(SLASH_COMMAND, async ({ command, ack, respond }) => {
    await ack();
    const log = logger.child({ user: command.user_id, channel: command.channel_id });
    const reply = async (message: Reply) => {
      const { visibility = "ephemeral", ...content } = message;
      try {
        await respond({ response_type: visibility, ...content });
      } catch (error) {
        log.warn("response_url refused the reply; falling back to chat.postEphemeral", { error });
        await deps.slack.ephemeral(command.channel_id, command.user_id, {
          text: content.text,
          blocks: content.blocks ?? [],
        });
      }
    };
    tasks.run("slash command", async () => {
      const match = table.match(command.text);
      log.info("slash command", { command: match.kind === "command" ? match.spec.name : "unknown" });
      try {
        if (match.kind === "unknown") {
          await reply(unknownCommand(match.word, match.suggestions));
          return;
        }
        await match.spec.run(
          {
            userId: command.user_id,
            channelId: command.channel_id,
            teamId: command.team_id,
            args: match.args,
            text: command.text,
            triggerId: command.trigger_id,
            reply,
          },
          deps,
        );
      } catch (error) {
        const name = match.kind === "command" ? match.spec.name : "unknown";
        await onFailure({
          user: command.user_id,
          command: name,
          args: match.kind === "command" ? match.args : [],
          error,
        });
        await reply(errorReply(error, log, { command: name }));
      }
    });
  });
}
