import assert from "node:assert/strict";
import { test } from "node:test";
import { projectCreatedMessage } from "../../src/slack/commands/project.js";

const project = (backend: string) => ({
  id: "101",
  name: "web-shop",
  url: "https://shop.example.com/",
  backend,
  createdBy: "U0ALICE",
  createdAt: 0,
  linked: false,
});

test("a new project's reply explains target verification for real scanners, not for the simulator", () => {
  for (const backend of ["crashtest", "dast-essentials"]) {
    const reply = projectCreatedMessage(project(backend));
    assert.match(JSON.stringify(reply.blocks), /Verify the target before scanning/, backend);
    assert.match(reply.text, /verify the target/);
  }
  const simulated = projectCreatedMessage(project("simulator"));
  assert.doesNotMatch(JSON.stringify(simulated), /[Vv]erif/);
  assert.match(JSON.stringify(simulated.blocks), /Next: `\/crashtest scan start web-shop`/);
});
