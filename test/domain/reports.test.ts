import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../../src/domain/errors.js";
import { REPORT_FORMATS, reportFormatNamed } from "../../src/domain/ports.js";
import { readReport, reportFromFile } from "../../src/domain/reports.js";

test("one name per report format: xml is the JUnit report, junit an accepted alias", () => {
  assert.deepEqual([...REPORT_FORMATS], ["pdf", "xml", "json", "csv"]);
  assert.equal(reportFormatNamed("junit"), "xml");
  assert.equal(reportFormatNamed(" JUnit "), "xml");
  assert.equal(reportFormatNamed("XML"), "xml");
  assert.equal(reportFormatNamed("pdf"), "pdf");
  assert.equal(reportFormatNamed("docx"), undefined);
  assert.equal(reportFormatNamed("constructor"), undefined);
});

test("readReport reads a stream whole; reportFromFile makes it a stream again", async () => {
  const file = {
    format: "json" as const,
    bytes: new TextEncoder().encode("{}"),
    contentType: "a",
    fileName: "b",
  };
  const report = reportFromFile(file);
  assert.equal(report.size, 2);
  assert.deepEqual(await readReport(report), file);
});

test("readReport passes the adapter's AppError through and types any other stream failure", async () => {
  const failing = (error: unknown) => ({
    format: "pdf" as const,
    body: new ReadableStream<Uint8Array>({
      pull: (controller) => controller.error(error),
    }),
    contentType: "x",
    fileName: "x.pdf",
  });
  const tooLarge = new AppError("unsupported", "too large");
  await assert.rejects(readReport(failing(tooLarge)), (error) => error === tooLarge);
  await assert.rejects(readReport(failing(new Error("socket hang up"))), (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.kind, "unavailable");
    assert.equal(error.retryable, true);
    return true;
  });
});

test("readReport keeps a one-chunk report as it is and joins several chunks in order", async () => {
  const bytes = new TextEncoder().encode("%PDF-1.7");
  const one = await readReport(
    reportFromFile({ format: "pdf", bytes, contentType: "application/pdf", fileName: "r.pdf" }),
  );
  // No copy of a report already in memory.
  assert.equal(one.bytes, bytes);
  const chunks = ["a", "bc", "def"].map((text) => new TextEncoder().encode(text));
  const several = await readReport({
    format: "json",
    body: new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    }),
    size: 6,
    contentType: "application/json",
    fileName: "r.json",
  });
  assert.equal(new TextDecoder().decode(several.bytes), "abcdef");
});
