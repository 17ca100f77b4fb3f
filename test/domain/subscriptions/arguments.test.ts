import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../../../src/domain/errors.js";
import {
  parseNotifyArgs,
  parseSubscribeArgs,
  parseUnsubscribeArgs,
} from "../../../src/domain/subscriptions/arguments.js";
import { inQuietHours, lastDigestSlot } from "../../../src/domain/subscriptions/local-time.js";
import { instantOf, localTime } from "../../../src/domain/zoned-time.js";

function refusal(run: () => unknown, pattern: RegExp) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.kind, "validation");
    assert.match(error.userMessage, pattern);
    assert.match(error.userMessage, /Usage: `\/crashtest/);
    return true;
  });
}

test("subscribe: defaults and every option", () => {
  assert.deepEqual(parseSubscribeArgs(["web-shop"]), { project: "web-shop" });
  assert.deepEqual(
    parseSubscribeArgs([
      "*",
      "severity>=HIGH",
      "events=finished,new-findings,finished",
      "digest=weekly@mon",
      "09:30",
      "tz=Europe/Berlin",
      "quiet=22:00-07:00",
      "urgent=failed,critical",
    ]),
    {
      project: "*",
      minSeverity: "high",
      events: ["finished", "new-findings"],
      digest: { every: "weekly", day: 1, hour: 9, minute: 30 },
      timezone: "Europe/Berlin",
      quiet: { from: 22 * 60, to: 7 * 60 },
      urgent: ["failed", "critical"],
    },
  );
  assert.deepEqual(parseSubscribeArgs(["a1", "digest=daily@9:05"]).digest, {
    every: "daily",
    hour: 9,
    minute: 5,
  });
  assert.equal(parseSubscribeArgs(["a1", "digest=off", "quiet=off"]).digest, "off");
  assert.deepEqual(parseSubscribeArgs(["a1", "urgent=none"]).urgent, []);
});

test("subscribe: each mistake says what is wrong and shows the usage", () => {
  refusal(() => parseSubscribeArgs([]), /Name a project/);
  refusal(
    () => parseSubscribeArgs(["web-shop", "severity>=urgent"]),
    /Severity "urgent".*low, medium, high, critical/,
  );
  refusal(() => parseSubscribeArgs(["web-shop", "events=finished,done"]), /Events "finished,done".*started/);
  refusal(() => parseSubscribeArgs(["web-shop", "events="]), /name at least one/);
  refusal(() => parseSubscribeArgs(["web-shop", "digest=hourly"]), /daily@HH:MM or weekly@mon HH:MM/);
  refusal(() => parseSubscribeArgs(["web-shop", "digest=weekly@xyz 09:00"]), /weekly@mon/);
  refusal(() => parseSubscribeArgs(["web-shop", "digest=daily@25:00"]), /daily@HH:MM/);
  refusal(() => parseSubscribeArgs(["web-shop", "tz=Mars/Olympus"]), /Area\/City/);
  refusal(() => parseSubscribeArgs(["web-shop", "quiet=22-07"]), /HH:MM-HH:MM/);
  refusal(() => parseSubscribeArgs(["web-shop", "quiet=07:00-07:00"]), /differ/);
  refusal(() => parseSubscribeArgs(["web-shop", "colour=red"]), /"colour=red" is not a subscription option/);
  refusal(() => parseSubscribeArgs(["<script>"]), /Project/);
});

test("unsubscribe and notify", () => {
  assert.deepEqual(parseUnsubscribeArgs(["web-shop", "events=started"]), {
    project: "web-shop",
    events: ["started"],
  });
  refusal(() => parseUnsubscribeArgs([]), /Name the project/);
  refusal(() => parseUnsubscribeArgs(["web-shop", "severity>=high"]), /not an unsubscribe option/);
  assert.equal(parseNotifyArgs(["OFF"]), false);
  assert.equal(parseNotifyArgs(["on"]), true);
  refusal(() => parseNotifyArgs(["maybe"]), /on or off/);
  refusal(() => parseNotifyArgs([]), /on or off/);
});

test("local time: digest slots and quiet hours follow the zone, across daylight saving", () => {
  const berlin = "Europe/Berlin";
  // 2026-03-29 is the spring change in Berlin (02:00 -> 03:00).
  const nine = instantOf({ year: 2026, month: 3, day: 29, hour: 9, minute: 0 }, berlin);
  assert.equal(new Date(nine).toISOString(), "2026-03-29T07:00:00.000Z");
  const before = instantOf({ year: 2026, month: 3, day: 28, hour: 9, minute: 0 }, berlin);
  assert.equal(new Date(before).toISOString(), "2026-03-28T08:00:00.000Z");
  const daily = { every: "daily" as const, hour: 9, minute: 0 };
  assert.equal(lastDigestSlot(daily, berlin, nine), nine);
  assert.equal(lastDigestSlot(daily, berlin, nine - 1), before);
  // Weekly on Monday: 2026-03-30 is a Monday; on Sunday the last one is the Monday before.
  const weekly = { every: "weekly" as const, day: 1, hour: 9, minute: 0 };
  const slot = lastDigestSlot(weekly, berlin, nine);
  assert.equal(localTime(slot, berlin).weekday, 1);
  assert.equal(new Date(slot).toISOString(), "2026-03-23T08:00:00.000Z");
  const quiet = { from: 22 * 60, to: 7 * 60 };
  assert.equal(inQuietHours(quiet, berlin, Date.UTC(2026, 0, 5, 21, 30)), true); // 22:30 local
  assert.equal(inQuietHours(quiet, berlin, Date.UTC(2026, 0, 5, 5, 59)), true); // 06:59
  assert.equal(inQuietHours(quiet, berlin, Date.UTC(2026, 0, 5, 6, 0)), false); // 07:00
  assert.equal(inQuietHours({ from: 60, to: 120 }, "UTC", Date.UTC(2026, 0, 5, 1, 30)), true);
  assert.equal(inQuietHours({ from: 60, to: 120 }, "UTC", Date.UTC(2026, 0, 5, 2, 0)), false);
});
