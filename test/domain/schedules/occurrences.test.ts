import assert from "node:assert/strict";
import { test } from "node:test";
import {
  latestOccurrence,
  nextOccurrence,
  nextOccurrences,
} from "../../../src/domain/schedules/occurrences.js";
import { parseTiming, timingFields } from "../../../src/domain/schedules/timing.js";
import { instantOf } from "../../../src/domain/zoned-time.js";
import { nodeCronSyntax } from "../../../src/scheduler/schedule-job.js";

const fieldsOf = (...words: string[]) => timingFields(parseTiming(words, nodeCronSyntax), nodeCronSyntax);
const iso = (ms: number | undefined) => (ms === undefined ? "none" : new Date(ms).toISOString());
const at = (text: string) => Date.parse(text);

test("daily in two zones: the local time, in winter and in summer", () => {
  const berlin = fieldsOf("daily", "at", "02:00");
  const from = at("2026-12-01T12:00:00Z");
  assert.equal(iso(nextOccurrence(berlin, "Europe/Berlin", from)?.at), "2026-12-02T01:00:00.000Z");
  assert.equal(iso(nextOccurrence(berlin, "America/New_York", from)?.at), "2026-12-02T07:00:00.000Z");
  assert.equal(
    iso(nextOccurrence(berlin, "Europe/Berlin", at("2027-06-01T12:00:00Z"))?.at),
    "2027-06-02T00:00:00.000Z",
  );
  assert.equal(nextOccurrence(berlin, "Europe/Berlin", from)?.key, "2026-12-02T02:00");
});

test("weekly, monthly and cron occurrences", () => {
  const mondays = nextOccurrences(
    fieldsOf("weekly", "monday", "at", "02:00"),
    "Europe/Berlin",
    at("2026-12-01T00:00:00Z"),
    3,
  );
  assert.deepEqual(
    mondays.map((o) => o.key),
    ["2026-12-07T02:00", "2026-12-14T02:00", "2026-12-21T02:00"],
  );
  const monthly = nextOccurrences(
    fieldsOf("monthly", "15", "at", "06:30"),
    "America/New_York",
    at("2026-12-20T00:00:00Z"),
    2,
  );
  assert.deepEqual(
    monthly.map((o) => iso(o.at)),
    ["2027-01-15T11:30:00.000Z", "2027-02-15T11:30:00.000Z"],
  );
  const lastDay = nextOccurrences(fieldsOf("0 3 L * *"), "UTC", at("2027-01-31T04:00:00Z"), 2);
  assert.deepEqual(
    lastDay.map((o) => o.key),
    ["2027-02-28T03:00", "2027-03-31T03:00"],
  );
  const weekdays = nextOccurrences(fieldsOf("30 1 * * 1-5"), "UTC", at("2026-12-04T02:00:00Z"), 2);
  assert.deepEqual(
    weekdays.map((o) => o.key),
    ["2026-12-07T01:30", "2026-12-08T01:30"],
  );
});

test("spring forward: a skipped local time runs once, shifted by the gap", () => {
  // Europe/Berlin skips 02:00-03:00 on 2027-03-28; America/New_York on 2027-03-14.
  const berlin = nextOccurrences(
    fieldsOf("daily", "at", "02:30"),
    "Europe/Berlin",
    at("2027-03-26T12:00:00Z"),
    3,
  );
  assert.deepEqual(
    berlin.map((o) => [o.key, iso(o.at)]),
    [
      ["2027-03-27T02:30", "2027-03-27T01:30:00.000Z"],
      ["2027-03-28T02:30", "2027-03-28T01:30:00.000Z"], // 03:30 CEST
      ["2027-03-29T02:30", "2027-03-29T00:30:00.000Z"],
    ],
  );
  const york = nextOccurrences(
    fieldsOf("daily", "at", "02:30"),
    "America/New_York",
    at("2027-03-13T12:00:00Z"),
    2,
  );
  assert.deepEqual(
    york.map((o) => iso(o.at)),
    ["2027-03-14T07:30:00.000Z", "2027-03-15T06:30:00.000Z"],
  );
});

test("fall back: a repeated local time is one occurrence, at its first instant", () => {
  // Europe/Berlin has 02:00-03:00 twice on 2026-10-25.
  const fields = fieldsOf("daily", "at", "02:30");
  const first = nextOccurrence(fields, "Europe/Berlin", at("2026-10-24T12:00:00Z"));
  assert.equal(iso(first?.at), "2026-10-25T00:30:00.000Z");
  // Seen from the second 02:30 (01:30Z), the latest occurrence is still that one slot.
  const second = latestOccurrence(fields, "Europe/Berlin", at("2026-10-25T01:31:00Z"));
  assert.equal(second?.key, "2026-10-25T02:30");
  assert.equal(iso(second?.at), "2026-10-25T00:30:00.000Z");
  assert.equal(nextOccurrence(fields, "Europe/Berlin", at("2026-10-25T01:00:00Z"))?.key, "2026-10-26T02:30");
  assert.equal(
    instantOf({ year: 2026, month: 11, day: 1, hour: 1, minute: 30 }, "America/New_York"),
    at("2026-11-01T05:30:00Z"),
  );
});

test("latest occurrence at or before an instant", () => {
  const fields = fieldsOf("weekly", "monday", "at", "02:00");
  assert.equal(
    latestOccurrence(fields, "Europe/Berlin", at("2026-12-10T00:00:00Z"))?.key,
    "2026-12-07T02:00",
  );
  assert.equal(
    latestOccurrence(fields, "Europe/Berlin", at("2026-12-07T01:00:00Z"))?.key,
    "2026-12-07T02:00",
  );
  assert.equal(
    latestOccurrence(fields, "Europe/Berlin", at("2026-12-07T00:59:59Z"))?.key,
    "2026-11-30T02:00",
  );
});
