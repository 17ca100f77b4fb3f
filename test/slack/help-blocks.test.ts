import assert from "node:assert/strict";
import { test } from "node:test";
import { helpOverview } from "../../src/slack/blocks/help.js";
import type { CommandSpec } from "../../src/slack/commands/table.js";

const noop = async () => {};

test("the help overview splits into sections that each stay under Slack's 3,000 characters", () => {
  const specs: CommandSpec<unknown>[] = Array.from({ length: 60 }, (_, i) => ({
    name: `group${i % 7} command${i}`,
    usage: "<project> [severity>=high] [page:2]",
    summary: `What command ${i} does, said in a sentence long enough to count. `.repeat(2),
    run: noop,
  }));
  const help = helpOverview(specs);
  const sections = (help.blocks ?? []).filter((b) => b.type === "section") as Array<{
    text: { text: string };
  }>;
  assert.ok(sections.length > 1, "more than one section was needed");
  for (const s of sections) assert.ok(s.text.text.length <= 3000, `section of ${s.text.text.length} chars`);
  const listed = sections.map((s) => s.text.text).join("\n");
  for (let i = 0; i < 60; i++) assert.match(listed, new RegExp(`command${i}\\b`), `command${i} listed`);
  assert.ok((help.blocks ?? []).length <= 50);
});
