import { AppError } from "../domain/errors.js";
import type { ReportFormat } from "../domain/ports.js";

/** REPORT_MAX_BYTES default: 100 MB, far above the scanners' usual reports, far below what hurts. */
export const DEFAULT_REPORT_MAX_BYTES = 100 * 1024 * 1024;

const mb = (bytes: number) => `${Math.ceil(bytes / (1024 * 1024))} MB`;

/**
 * The refusal of a report over REPORT_MAX_BYTES: not retryable (it will not shrink), and it says
 * where the report can be downloaded instead.
 */
export function reportTooLarge(options: {
  service: string;
  format: ReportFormat;
  subject: string;
  maxBytes: number;
  size: number | undefined;
  /** The scanner's page for the scan or project, when known. */
  uiUrl: string | undefined;
}): AppError {
  const { service, format, subject, maxBytes, size, uiUrl } = options;
  const howBig = size === undefined ? `larger than ${mb(maxBytes)}` : `${mb(size)}`;
  const where = uiUrl === undefined ? `in ${service}` : `from ${service}: ${uiUrl}`;
  return new AppError(
    "unsupported",
    `The ${format.toUpperCase()} report of ${subject} is ${howBig}, more than the bot handles (REPORT_MAX_BYTES, ${mb(maxBytes)}). Download it ${where}.`,
    {
      detail: `report over REPORT_MAX_BYTES (${maxBytes} bytes)${size === undefined ? "" : `: ${size} bytes announced`}`,
    },
  );
}

/**
 * The body unchanged when it has at least one byte, undefined when it is empty. Reads the first
 * chunk to find out (a chunked answer does not say its length), then hands it on.
 */
export async function unlessEmpty(
  body: ReadableStream<Uint8Array>,
): Promise<ReadableStream<Uint8Array> | undefined> {
  const reader = body.getReader();
  let head: Uint8Array | undefined;
  while (head === undefined) {
    const next = await reader.read();
    if (next.done) return undefined;
    if (next.value.byteLength > 0) head = next.value;
  }
  const first = head;
  let sentHead = false;
  return new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        if (!sentHead) {
          sentHead = true;
          controller.enqueue(first);
          return;
        }
        try {
          const next = await reader.read();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        } catch (error) {
          controller.error(error);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
