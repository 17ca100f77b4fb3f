import { AppError, isAppError } from "./errors.js";
import type { Report, ReportFile } from "./ports.js";

/**
 * Reads a report's stream into memory. The scanner adapter bounds the stream by REPORT_MAX_BYTES,
 * so this holds at most that much; its AppError (too large, connection lost) passes through.
 */
export async function readReport(report: Report): Promise<ReportFile> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of report.body) {
      chunks.push(chunk);
      size += chunk.byteLength;
    }
  } catch (error) {
    if (isAppError(error)) throw error;
    throw new AppError("unavailable", "The report download was interrupted; try again.", {
      cause: error,
      detail: `reading ${report.fileName} failed after ${size} bytes`,
      retryable: true,
    });
  }
  // One chunk (a report already in memory, a small download) is the file as it is: no copy.
  if (chunks.length === 1 && chunks[0]) {
    return {
      format: report.format,
      bytes: chunks[0],
      contentType: report.contentType,
      fileName: report.fileName,
    };
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { format: report.format, bytes, contentType: report.contentType, fileName: report.fileName };
}

/** A report held in memory, as a stream again (e.g. to upload what was already read for a summary). */
export function reportFromFile(file: ReportFile): Report {
  const { bytes } = file;
  return {
    format: file.format,
    body: new ReadableStream<Uint8Array>({
      start(controller) {
        if (bytes.byteLength > 0) controller.enqueue(bytes);
        controller.close();
      },
    }),
    size: bytes.byteLength,
    contentType: file.contentType,
    fileName: file.fileName,
  };
}
