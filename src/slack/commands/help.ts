import { helpFor, helpOverview, unknownCommand } from "../blocks/help.js";
import type { CommandSpec, CommandTable } from "./table.js";

export function helpCommand<Deps>(table: CommandTable<Deps>): CommandSpec<Deps> {
  return {
    name: "help",
    usage: "[command]",
    summary: "List the commands, or explain one.",
    async run({ args, reply }) {
      if (args.length === 0) {
        await reply(helpOverview(table.list() as readonly CommandSpec<unknown>[]));
        return;
      }
      const topic = args.join(" ");
      const match = table.match(topic);
      if (match.kind === "command") {
        await reply(helpFor(match.spec as CommandSpec<unknown>));
      } else {
        await reply(unknownCommand(topic, match.suggestions));
      }
    },
  };
}
