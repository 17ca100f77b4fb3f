import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../../../src/domain/errors.js";
import { parseTiming, timingCron, timingFields } from "../../../src/domain/schedules/timing.js";
import { timingInWords } from "../../../src/domain/schedules/words.js";
import { nodeCronSyntax } from "../../../src/scheduler/schedule-job.js";

const words = (text: string[]) => {
  const timing = parseTiming(text, nodeCronSyntax);
  return timingInWords(timing, timingFields(timing, nodeCronSyntax));
};

function refused(text: string[], pattern: RegExp) {
  assert.throws(
    () => parseTiming(text, nodeCronSyntax),
    (error: unknown) =>
      error instanceof AppError && error.kind === "validation" && pattern.test(error.userMessage),
  );
}

test("daily, weekly, monthly and cron read back in words, zone last", () => {
  assert.equal(words(["daily"]), "every day at 02:00 UTC");
  assert.equal(
    words(["weekly", "monday", "at", "2:00", "tz=Europe/Berlin"]),
    "every Monday at 02:00 Europe/Berlin",
  );
  assert.equal(words(["weekly", "Fri", "at", "23:15"]), "every Friday at 23:15 UTC");
  assert.equal(words(["daily", "tz=europe/berlin"]), "every day at 02:00 Europe/Berlin");
  assert.equal(
    words(["monthly", "15", "at", "06:30", "tz=America/New_York"]),
    "on the 15th of every month at 06:30 America/New_York",
  );
  assert.equal(words(["0 2 * * 1", "tz=Europe/Berlin"]), "every Monday at 02:00 Europe/Berlin");
  assert.equal(words(["30 1 * * 1-5"]), "every weekday at 01:30 UTC");
  assert.equal(words(["0 3 L * *"]), "on the last day of the month at 03:00 UTC");
  assert.equal(words(["0 4 * * 5L"]), "every last Friday of the month at 04:00 UTC");
  assert.equal(words(["0 */6 * * *"]), "every day at 00:00, 06:00, 12:00 and 18:00 UTC");
  assert.equal(words(["15 * * * *"]), "every hour at :15 UTC");
});

test("each timing compiles to the cron expression node-cron runs", () => {
  const cronOf = (text: string[]) => timingCron(parseTiming(text, nodeCronSyntax));
  assert.equal(cronOf(["daily", "at", "07:05"]), "5 7 * * *");
  assert.equal(cronOf(["weekly", "sunday"]), "0 2 * * 0");
  assert.equal(cronOf(["monthly", "1", "at", "00:00"]), "0 0 1 * *");
  assert.equal(cronOf(["0   2 * *   1"]), "0 2 * * 1");
  assert.deepEqual(
    timingFields(parseTiming(["weekly", "tue"], nodeCronSyntax), nodeCronSyntax).dayOfWeek,
    [2],
  );
});

test("bad input is refused with what to type instead", () => {
  refused([], /needs a cadence[\s\S]*Usage/);
  refused(["hourly"], /not a cadence.*daily, weekly <day>/);
  refused(["weekly"], /needs a day/);
  refused(["weekly", "funday"], /not a day of the week/);
  refused(["monthly", "31"], /1 to 28.*L \* \*/);
  refused(["monthly", "x"], /"x"/);
  refused(["daily", "at", "25:00"], /HH:MM/);
  refused(["daily", "at"], /needs a time/);
  refused(["daily", "tz=Mars/Olympus"], /IANA time zone/);
  refused(["daily", "extra"], /more than a schedule takes/);
  // Cron: node-cron's own validation, and the right syntax in the reply.
  refused(["0 25 * * *"], /not valid cron \(hour: 25[\s\S]*five fields in quotes/);
  refused(["0 0 2 * * *"], /has 6 fields, a schedule takes five[\s\S]*minute hour day-of-month/);
  refused(["*/10 * * * *"], /more than once an hour/);
  refused(["0 2 * * 1", "at", "03:00"], /does not go with a cron expression/);
});
