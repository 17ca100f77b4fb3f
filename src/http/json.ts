import type * as z from "zod";
import { parseOutside } from "../domain/outside.js";
import type { HttpResponse, HttpTransport } from "./transport.js";

/** Decodes a JSON body and validates it; every failure becomes AppError("unavailable"). */
export function readJson<T>(
  transport: HttpTransport,
  operation: string,
  response: HttpResponse,
  schema: z.ZodType<T>,
): T {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(response.bytes).toString("utf8"));
  } catch {
    // The parser's message quotes the body, so only its size is kept.
    throw transport.unreadable(operation, `invalid JSON (${response.bytes.byteLength} bytes)`);
  }
  return parseOutside(schema, json, (problem) => transport.unreadable(operation, problem));
}
