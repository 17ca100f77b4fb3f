import assert from "node:assert/strict";
import { Readable, Writable } from "node:stream";
import { test } from "node:test";
import { parseCommand } from "../../dev/console/commands.js";
import { runConsole } from "../../dev/console/index.js";
import { readmeFastSettings, readmeSession } from "../support/readme.js";

test("the README's console session works as written: same prompts, every command understood, a whole scan", async () => {
  const session = readmeSession();
  assert.ok(session.length >= 5);
  for (const { line } of session) assert.notEqual(parseCommand(line).kind, "invalid", line);
  let text = "";
  const code = await runConsole({
    env: { CONSOLE_STORE_URL: "memory://", ...readmeFastSettings() },
    input: Readable.from(session.map(({ line }) => `${line}\n`)),
    output: new Writable({
      write(chunk, _encoding, done) {
        text += String(chunk);
        done();
      },
    }),
  });
  assert.equal(code, 0, text);
  // Piped, the console echoes each line after the prompt it had: the README's prompts are the real ones.
  for (const { prompt, line } of session)
    assert.ok(text.includes(`\n${prompt}${line}\n`), `${prompt}${line}`);
  assert.match(text, /Project \*web-shop\* created/);
  assert.match(text, /\*Scan request\* for \*web-shop\*.*\n(?:.*\n){2} {3}\[1\] Approve {2}\[2\] Deny/);
  assert.match(text, /\(@bob pressed "Approve"\)/);
  const thread = text.slice(text.lastIndexOf("> thread 2"));
  assert.match(thread, /\*Scan 390\* · \*web-shop\*/, "message 2 is the scan card");
  assert.match(thread, /scan 390 of \*web-shop\* finished/);
  assert.match(thread, /\*Findings\* · scan 390/);
  assert.match(thread, /\[file\] crashtest-scan-390\.pdf/);
  assert.doesNotMatch(
    text,
    /There is no|Cannot press|Unknown|not a valid command|\[bot (warn|error)\] request failed/,
  );
});
