import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";
import { type AppError, isAppError } from "../domain/errors.js";

/** Reading response bodies under a size cap, buffered or as a web stream pulled by the consumer. */

export interface StreamLimit {
  maxBytes: number;
  /** The error for a body over maxBytes; `size` when the server announced it. */
  tooLarge: (size: number | undefined) => AppError;
}

/** Error bodies are read only to word the error. */
export const MAX_ERROR_BODY_BYTES = 256 * 1024;

export type ResponseBody = Dispatcher.ResponseData["body"];

/** How a body read fails: over the cap, or cut off by the network. */
export interface BodyFailures {
  tooLarge: (maxBytes: number) => AppError;
  network: (error: unknown) => AppError;
}

export function contentLength(headers: IncomingHttpHeaders): number | undefined {
  const value = headers["content-length"];
  return typeof value === "string" && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** Reads a whole body, failing once more than maxBytes arrive. */
export async function readBody(
  body: ResponseBody,
  maxBytes: number,
  fail: BodyFailures,
): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += (chunk as Buffer).byteLength;
      if (size > maxBytes) {
        discard(body);
        throw fail.tooLarge(maxBytes);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (isAppError(error)) throw error;
    throw fail.network(error);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** A web stream over the body that fails once more than limit.maxBytes arrive. */
export function capped(
  body: ResponseBody,
  limit: StreamLimit,
  fail: BodyFailures,
): ReadableStream<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]();
  let size = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        try {
          const next = await chunks.next();
          if (next.done) {
            controller.close();
            return;
          }
          const chunk = next.value as Buffer;
          size += chunk.byteLength;
          if (size > limit.maxBytes) {
            discard(body);
            controller.error(limit.tooLarge(undefined));
            return;
          }
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        } catch (error) {
          controller.error(isAppError(error) ? error : fail.network(error));
        }
      },
      cancel: () => discard(body),
    },
    // Pull one chunk at a time: nothing is read ahead of the consumer.
    { highWaterMark: 0 },
  );
}

/** Drops a body the bot will not read (and the connection with it); its abort error is expected. */
export function discard(body: Dispatcher.ResponseData["body"]): void {
  body.on("error", () => undefined);
  body.destroy();
}
