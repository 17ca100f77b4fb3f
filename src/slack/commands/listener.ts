import type { App } from "@slack/bolt";
import type { Logger } from "../../domain/ports.js";
import type { BackgroundTasks } from "../../domain/tasks.js";
import { unknownCommand } from "../blocks/help.js";
import { errorReply } from "../errors.js";
import type { SlackGateway } from "../gateway.js";
import type { CommandTable, Reply } from "./table.js";

export const SLASH_COMMAND = "/crashtest";

/**
 * How long a command may take to answer in the ack body. Slack waits 3 s for the ack
 * (https://api.slack.com/interactivity/slash-commands); anything slower acks empty at this point and
 * answers through response_url instead.
 */
export const ACK_BUDGET_MS = 250;

/**
 * Runs each command at once and answers in the ack (`ack({ response_type, text, blocks })`) when the
 * reply is ready within ACK_BUDGET_MS: no second HTTP round trip. Slow work (scanner calls, uploads)
 * is acked empty when the budget runs out and answers through response_url; if that URL has expired,
 * it falls back to an ephemeral chat message.
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
  ackBudgetMs: number = ACK_BUDGET_MS,
): void {
  app.command(SLASH_COMMAND, async ({ command, ack, respond }) => {
    const log = logger.child({ user: command.user_id, channel: command.channel_id });
    let acked = false;
    let budget: NodeJS.Timeout | undefined;
    const ackEmpty = async () => {
      clearTimeout(budget);
      if (acked) return;
      acked = true;
      await ack();
    };
    const reply = async (message: Reply) => {
      const { visibility = "ephemeral", ...content } = message;
      if (!acked) {
        clearTimeout(budget);
        acked = true;
        try {
          await ack({ response_type: visibility, ...content });
          return;
        } catch (error) {
          log.warn("the ack could not carry the reply; answering through response_url", { error });
        }
      }
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
    budget = setTimeout(() => {
      ackEmpty().catch((error: unknown) => log.warn("ack failed", { error }));
    }, ackBudgetMs);
    const started = tasks.run("slash command", async () => {
      const match = table.match(command.text);
      log.debug("slash command", { command: match.kind === "command" ? match.spec.name : "unknown" });
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
        // The answer first; the audit entry is queued, never awaited in front of the reply.
        await reply(errorReply(error, log, { command: name }));
        await onFailure({
          user: command.user_id,
          command: name,
          args: match.kind === "command" ? match.args : [],
          error,
        });
      } finally {
        // A command that answered nothing (it opened a modal) still acks, at once.
        await ackEmpty();
      }
    });
    if (!started) await ackEmpty();
  });
}
