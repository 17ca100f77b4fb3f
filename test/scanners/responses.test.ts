import assert from "node:assert/strict";
import { test } from "node:test";
import { scanStateOf } from "../../src/scanners/crashtest/responses.js";

test("only 100 and 101 are live; other codes end the scan, classified by their text", () => {
  assert.equal(scanStateOf(100, undefined), "queued");
  assert.equal(scanStateOf(101, "Running"), "running");
  assert.equal(scanStateOf(102, "Finished"), "finished");
  assert.equal(scanStateOf(187, "Stopped (3/7)"), "stopped");
  assert.equal(scanStateOf(190, "Error Occurred (1/7)"), "failed");
  assert.equal(scanStateOf(105, "scan failed"), "failed");
  // Undocumented code without text: terminal, shown as finished; the caller keeps the raw code.
  assert.equal(scanStateOf(250, undefined), "finished");
  assert.equal(scanStateOf(99, undefined), "finished");
});
