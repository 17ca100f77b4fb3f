import assert from "node:assert/strict";
import { test } from "node:test";
import { DECISION_JOB_CRON, DECISION_JOB_NAME } from "../../src/scheduler/decision-job.js";
import { cronProblem } from "../../src/scheduler/index.js";

test("the decision expiry job runs every 5 minutes under its own name", () => {
  assert.equal(cronProblem(DECISION_JOB_CRON), undefined);
  assert.equal(DECISION_JOB_NAME, "finding-decision-expiry");
});
