import assert from "node:assert/strict";
import { test } from "node:test";
import { CommandTable, decodeEntities, splitArgs } from "../../src/slack/commands/table.js";

const noop = async () => {};
const table = new CommandTable<undefined>()
  .add({ name: "help", usage: "", summary: "", run: noop })
  .add({ name: "scan start", aliases: ["scan"], usage: "", summary: "", run: noop })
  .add({ name: "scan stop", usage: "", summary: "", run: noop })
  .add({ name: "projects", usage: "", summary: "", run: noop });

test("the longest command words win; aliases reach the same command", () => {
  const stop = table.match("scan stop 12");
  assert.ok(stop.kind === "command" && stop.spec.name === "scan stop");
  assert.deepEqual(stop.kind === "command" && stop.args, ["12"]);
  const alias = table.match("scan web-shop");
  assert.ok(alias.kind === "command" && alias.spec.name === "scan start");
  assert.deepEqual(alias.kind === "command" && alias.args, ["web-shop"]);
  const empty = table.match("   ");
  assert.ok(empty.kind === "command" && empty.spec.name === "help");
  assert.ok(table.match("SCAN STOP 1").kind === "command", "case-insensitive");
});

test("text without quotes splits on any whitespace, as the quoting parser would", () => {
  // The quote-free fast path against the general parser, over Unicode spaces, tabs and newlines too.
  const general = (text: string) => splitArgs(`${text} ""`).slice(0, -1);
  const samples = ["", "   ", "help", "  scan  start\tweb-shop\n", "a\u00A0b\u2003c\u3000d", "x\r\ny &amp;"];
  for (const text of samples) assert.deepEqual(splitArgs(text), general(text), JSON.stringify(text));
  assert.deepEqual(splitArgs("  scan  start\tweb-shop\n"), ["scan", "start", "web-shop"]);
});

test("unknown words get close suggestions", () => {
  const typo = table.match("projcts");
  assert.ok(typo.kind === "unknown");
  assert.deepEqual(typo.kind === "unknown" && typo.suggestions, ["projects"]);
  const far = table.match("zzzzzz");
  assert.deepEqual(far.kind === "unknown" && far.suggestions, []);
});

test("arguments split like a shell, including Slack's smart quotes and entities", () => {
  assert.deepEqual(splitArgs('create "My Shop" https://x.test'), ["create", "My Shop", "https://x.test"]);
  assert.deepEqual(splitArgs("a \u201Cb c\u201D 'd e'"), ["a", "b c", "d e"]);
  assert.equal(decodeEntities("https://x.test/?a=1&amp;b=&lt;2&gt;"), "https://x.test/?a=1&b=<2>");
  assert.throws(() => table.add({ name: "scan", usage: "", summary: "", run: noop }), /duplicate command/);
});
