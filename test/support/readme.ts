import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

/** README.md, read by the tests that check its instructions work as written. */
export const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** The console session the README shows: prompt and command of each line of its first `text` block. */
export function readmeSession(): Array<{ prompt: string; line: string }> {
  const block = /```text\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf("local console")))?.[1];
  assert.ok(block, "README.md has a console session block after 'local console'");
  return block
    .trim()
    .split("\n")
    .map((text) => {
      const match = /^(\w+@\S+> )(.*)$/.exec(text);
      assert.ok(match, `a session line with a prompt: ${text}`);
      return { prompt: match[1] as string, line: match[2] as string };
    });
}

/** The "whole scan in seconds" settings the README gives, as an environment. */
export function readmeFastSettings(): Record<string, string> {
  const found = /`((?:[A-Z_]+=\S+\s+)+)npm start`/.exec(readme.slice(readme.indexOf("whole")));
  assert.ok(found?.[1], "README.md gives settings for a whole scan in seconds");
  return Object.fromEntries(
    found[1]
      .trim()
      .split(/\s+/)
      .map((pair) => pair.split("=") as [string, string]),
  );
}
