import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../../../src/domain/errors.js";
import { FindingsHistory } from "../../../src/domain/findings/history.js";
import { INTERVAL, setup } from "./harness.js";

/** The summary effect and findings history: recorded once, carried in the notice, shown on the card. */

test("a finished scan is recorded once; the summary notice carries its result; the card is redrawn after it", async () => {
  const t = await setup();
  const history = new FindingsHistory({
    store: t.store,
    clock: t.clock,
    decisions: { inForce: async () => new Map() },
  });
  let records = 0;
  const counted = {
    record: (scan: Parameters<FindingsHistory["record"]>[0]) => {
      records++;
      return history.record(scan);
    },
  };
  const watcher = t.make({}, { history: counted });
  const scan = t.scan("running");
  await watcher.watch(scan);
  t.scanner.states.set(scan.scanId, "finished");
  // The final post's answer is lost (found in the thread later); then the summary post fails before
  // delivery: the summary effect is made again on a later tick.
  const error = new AppError("unavailable", "Slack did not accept it.", { retryable: true });
  t.output.failNext.push({ kind: "post", error, delivered: true }, { kind: "post", error, delivered: false });
  for (let i = 0; i < 4; i++) await t.tickAfter(INTERVAL, watcher);
  const summaries = t.output.notices(scan.scanId).filter((n) => n.kind === "summary");
  assert.equal(summaries.length, 1);
  const notice = summaries[0];
  assert.ok(notice?.kind === "summary");
  assert.equal(notice.result?.diff.first, true);
  assert.equal(notice.result?.total, 1);
  assert.equal(records, 2, "the failed post made the summary twice");
  const stored = await history.result(scan.scanId);
  assert.deepEqual(notice.result, stored, "every attempt answers the first record");
  assert.equal(stored?.endedAt, (await t.scans.getScan(scan.scanId))?.endedAt, "the scan record's end time");
  // The card is drawn again once the summary is out, so the final card reads the result.
  const cards = t.output.deliveries.filter((d) => d.kind === "card" && d.scanId === scan.scanId);
  const summaryAt = t.output.deliveries.findIndex((d) => d.effect === "summary");
  assert.ok(
    t.output.deliveries.findLastIndex((d) => d.kind === "card" && d.scanId === scan.scanId) > summaryAt,
  );
  assert.ok(cards.length >= 2);
});

test("a history that fails costs the diff, never the summary", async () => {
  const t = await setup();
  const watcher = t.make(
    {},
    {
      history: {
        record: async () => {
          throw new AppError("store", "The store is not answering.", { retryable: true });
        },
      },
    },
  );
  const scan = t.scan("finished");
  await watcher.watch(scan);
  await t.tickAfter(1000, watcher);
  const notice = t.output.notices(scan.scanId).find((n) => n.kind === "summary");
  assert.ok(notice?.kind === "summary");
  assert.equal(notice.result, undefined);
  assert.equal(notice.summary.total, 1);
  assert.ok(
    t.logs.records().some((r) => String(r.msg).includes("findings history could not record the scan")),
  );
});
