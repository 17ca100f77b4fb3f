import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { isPrivateHost } from "../../src/domain/addresses.js";
import { AppError } from "../../src/domain/errors.js";
import { parseInput, projectName, targetUrl } from "../../src/domain/inputs.js";
import { scanCard } from "../../src/slack/blocks/cards.js";
import { escapeText, LIMITS, truncate } from "../../src/slack/blocks/common.js";
import { CommandTable, splitArgs } from "../../src/slack/commands/table.js";

/** 10,000 generated cases per property; a failure prints the shrunk counterexample. */
const RUNS = { numRuns: 10_000 };

const table = new CommandTable<undefined>();
for (const name of [
  "help",
  "projects",
  "project create",
  "project delete",
  "scan start",
  "scan stop",
  "scan status",
  "report",
  "link",
  "audit",
]) {
  table.add({ name, usage: "", summary: "", run: async () => {} });
}

/** Text a person (or attacker) might type: Slack markup, quotes, entities, unicode, control characters. */
const hostileText = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: "grapheme", maxLength: 100 }),
  fc
    .array(
      fc.constantFrom(
        "<!channel>",
        "<@U123>",
        "<https://evil.example|ok>",
        "&amp;",
        "&lt;",
        '"',
        "'",
        "\u201C",
        "scan",
        "start",
        " ",
        "\n",
        "\u0000",
        "https://",
        "javascript:",
      ),
      { maxLength: 30 },
    )
    .map((parts) => parts.join("")),
);

test("the command parser answers every input: a command or an unknown with suggestions, never a throw", () => {
  fc.assert(
    fc.property(hostileText, (text) => {
      const match = table.match(text);
      assert.ok(match.kind === "command" || match.kind === "unknown");
      if (match.kind === "unknown") assert.ok(match.suggestions.length <= 3);
      assert.ok(splitArgs(text).every((arg) => typeof arg === "string"));
    }),
    RUNS,
  );
});

test("target URLs: every input is accepted as a safe public http(s) URL or refused with a validation error", () => {
  const schema = targetUrl(false);
  fc.assert(
    fc.property(
      fc.oneof(hostileText, fc.webUrl({ withQueryParameters: true, withFragments: true })),
      (input) => {
        try {
          const url = new URL(parseInput(schema, input, "target URL", "usage"));
          assert.ok(url.protocol === "http:" || url.protocol === "https:");
          assert.equal(url.username + url.password, "");
          assert.equal(isPrivateHost(url.hostname), false);
          assert.equal(url.hash, "");
        } catch (error) {
          assert.ok(error instanceof AppError && error.kind === "validation", String(error));
          assert.match(error.userMessage, /Usage: `usage`/);
        }
      },
    ),
    RUNS,
  );
});

test("project names: accepted names carry no markup or spaces", () => {
  fc.assert(
    fc.property(hostileText, (input) => {
      const parsed = projectName.safeParse(input);
      if (parsed.success) assert.match(parsed.data, /^[A-Za-z0-9][A-Za-z0-9._-]{1,39}$/);
    }),
    RUNS,
  );
});

test("user text in cards is inert and within Slack's limits", () => {
  fc.assert(
    fc.property(hostileText, hostileText, (name, url) => {
      const card = scanCard({
        scanId: "1",
        projectId: "1",
        projectName: name,
        targetUrl: url,
        backend: "crashtest",
        requestedBy: "U1",
        channel: "C1",
        state: "running",
        startedAt: 0,
        updatedAt: 0,
      });
      const json = JSON.stringify(card.blocks);
      // Only the bot's own markup may contain '<': mentions of the requester and dates.
      const foreign = json.replace(/<@U1>|<!date\^[^>]+>/g, "");
      assert.ok(!foreign.includes("<"), json);
      for (const block of card.blocks as Array<{ text?: { text: string } }>) {
        if (block.text) assert.ok(block.text.text.length <= LIMITS.sectionText);
      }
    }),
    { numRuns: 2_000 },
  );
});

test("escape then truncate never leaves a broken entity", () => {
  fc.assert(
    fc.property(hostileText, fc.integer({ min: 1, max: 400 }), (input, max) => {
      const out = truncate(escapeText(input), max);
      assert.ok(out.length <= max);
      assert.doesNotMatch(out, /&[a-z]*…$/);
    }),
    RUNS,
  );
});
