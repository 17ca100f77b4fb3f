import assert from "node:assert/strict";
import { test } from "node:test";
import type { ProjectRecord } from "../../src/domain/projects.js";
import { ACTIONS } from "../../src/slack/blocks/cards.js";
import { LIMITS } from "../../src/slack/blocks/common.js";
import { projectList } from "../../src/slack/blocks/projects.js";

function textOf(blocks: unknown): number {
  let n = 0;
  JSON.stringify(blocks, (key, value) => {
    if (key === "text" && typeof value === "string") n += value.length;
    return value;
  });
  return n;
}

const project = (i: number): ProjectRecord => ({
  id: `${100_000 + i}`,
  name: `project-${i}-${"n".repeat(40)}`,
  url: `https://x${i}.example.com/${"a&b/".repeat(500)}`,
  backend: "crashtest",
  createdBy: "U1",
  createdAt: 0,
  linked: i % 2 === 0,
});

test("every page of a long project list fits one Slack message, and the pages cover every project once", () => {
  const projects = Array.from({ length: 120 }, (_, i) => project(i));
  const seen: string[] = [];
  for (let page = 1; ; page++) {
    const list = projectList(projects, page);
    if (/There is no page/.test(JSON.stringify(list.blocks))) break;
    assert.ok(list.blocks.length <= LIMITS.blocksPerMessage, `page ${page}: ${list.blocks.length} blocks`);
    assert.ok(textOf(list.blocks) <= 12_000, `page ${page}: ${textOf(list.blocks)} characters`);
    for (const block of list.blocks) {
      const accessory = (block as { accessory?: { action_id: string; value: string } }).accessory;
      if (accessory?.action_id === ACTIONS.deleteProject) seen.push(accessory.value);
    }
    const last = JSON.stringify(list.blocks.at(-1));
    if (seen.length < projects.length) assert.match(last, new RegExp(`projects page:${page + 1}`));
    assert.ok(page < 100, "bounded");
  }
  assert.deepEqual(
    seen,
    projects.map((p) => p.id),
  );
});
