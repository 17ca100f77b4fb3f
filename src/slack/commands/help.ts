import { helpFor, helpGroup, helpOverview, unknownCommand } from "../blocks/help.js";
import type { CommandSpec, CommandTable, Reply } from "./table.js";

export function helpCommand<Deps>(table: CommandTable<Deps>): CommandSpec<Deps> {
  // Help depends only on the command table, which is complete before the first command arrives; the
  // length guards against a row added later.
  let overview: { rows: number; reply: Reply } | undefined;
  const topics = new Map<CommandSpec<Deps>, Reply>();
  return {
    name: "help",
    usage: "[command]",
    summary: "List the commands, or explain one.",
    async run({ args, reply }) {
      if (args.length === 0) {
        const specs = table.list();
        if (overview?.rows !== specs.length) {
          overview = { rows: specs.length, reply: helpOverview(specs as readonly CommandSpec<unknown>[]) };
        }
        await reply(overview.reply);
        return;
      }
      const topic = args.join(" ");
      // `help project` / `help scan`: every command under that word.
      const word = topic.trim().toLowerCase().replace(/\s+/g, " ");
      const group = table.list().filter((spec) => spec.name.startsWith(`${word} `));
      if (group.length > 0) {
        await reply(helpGroup(word, group as readonly CommandSpec<unknown>[]));
        return;
      }
      const match = table.match(topic);
      if (match.kind === "command") {
        let cached = topics.get(match.spec);
        if (!cached) {
          cached = helpFor(match.spec as CommandSpec<unknown>);
          topics.set(match.spec, cached);
        }
        await reply(cached);
      } else {
        await reply(unknownCommand(topic, match.suggestions));
      }
    },
  };
}
