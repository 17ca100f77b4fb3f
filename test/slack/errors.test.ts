import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../../src/domain/errors.js";
import { errorReply } from "../../src/slack/errors.js";
import { captureLogger } from "../support/logs.js";

test("a user's mistake logs at debug without a stack; outages warn without one; bugs log the stack", () => {
  const log = captureLogger();
  errorReply(new AppError("not_found", 'No project "shpo".'), log.logger, { command: "scan start" });
  errorReply(new AppError("validation", "Usage: scan stop <scan-id>"), log.logger);
  errorReply(new AppError("permission", "Only admins may delete projects."), log.logger);
  errorReply(new AppError("conflict", 'A project named "shop" exists.'), log.logger);
  errorReply(
    new AppError("unavailable", "The scanner does not answer.", { cause: new Error("connect ECONNREFUSED") }),
    log.logger,
  );
  errorReply(new TypeError("x is undefined"), log.logger);

  const records = log.records();
  assert.deepEqual(
    records.map((r) => [r.level, r.kind]),
    [
      ["debug", "not_found"],
      ["debug", "validation"],
      ["debug", "permission"],
      ["debug", "conflict"],
      ["warn", "unavailable"],
      ["error", "internal"],
    ],
  );
  assert.equal(records[0]?.command, "scan start");
  for (const record of records.slice(0, 5)) assert.doesNotMatch(JSON.stringify(record), /"stack"/);
  assert.deepEqual(records[4]?.error, {
    message: "The scanner does not answer.",
    cause: "connect ECONNREFUSED",
  });
  assert.match(JSON.stringify(records[5]), /"stack":"TypeError: x is undefined/);
});
