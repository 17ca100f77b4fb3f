import { type IncomingHttpHeaders, request } from "node:http";
import { isObject } from "./block-kit.js";
import { slackSignatureHeaders } from "./signing.js";
import type { JsonObject } from "./types.js";

/**
 * How a request to the bot is signed and marked, to prove the bot rejects what Slack would never send.
 * Over Socket Mode there is no signature: `signature`/`timestampSec` are ignored, `retryNum`/`retryReason`
 * become the envelope's `retry_attempt`/`retry_reason`, and `requestUrl` forces an HTTP delivery.
 */
export interface DeliveryOptions {
  /** "forged" signs with a wrong secret; "omitted" sends neither signature header. Default "valid". */
  signature?: "valid" | "forged" | "omitted";
  /** X-Slack-Request-Timestamp in seconds; default now. One over 5 minutes old makes a stale request. */
  timestampSec?: number;
  /** X-Slack-Retry-Num / X-Slack-Retry-Reason, as on Slack's redeliveries. */
  retryNum?: number;
  retryReason?: string;
  /** Overrides the emulator's request URL for this delivery. */
  requestUrl?: string;
}

export interface DeliveryResult {
  /** 0 when the bot did not answer in time. */
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON, when it is JSON. */
  json?: unknown;
  elapsedMs: number;
  /** Slack stops waiting for the ack after 3 s (ackTimeoutMs). */
  timedOut: boolean;
  /** For HTTP the signed request; for Socket Mode no headers and the envelope as sent over the socket. */
  sent: { headers: Record<string, string>; body: string };
  /** How the emulator delivered it: a signed HTTP POST to the request URL, or a Socket Mode envelope. */
  transport?: "http" | "socket";
  /** The Socket Mode envelope_id the ack answered. */
  envelopeId?: string;
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** POSTs one signed request to the bot exactly as Slack's HTTP delivery does, and waits for the ack. */
export function deliver(input: {
  url: string;
  contentType: string;
  body: string;
  signingSecret: string;
  options: DeliveryOptions;
  timeoutMs: number;
  signal: AbortSignal;
}): Promise<DeliveryResult> {
  const { options } = input;
  const headers: Record<string, string> = {
    "content-type": input.contentType,
    "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
  };
  const mode = options.signature ?? "valid";
  if (mode !== "omitted") {
    const secret = mode === "forged" ? `forged-${input.signingSecret}` : input.signingSecret;
    Object.assign(headers, slackSignatureHeaders(secret, input.body, options.timestampSec));
  }
  if (options.retryNum !== undefined) headers["x-slack-retry-num"] = String(options.retryNum);
  if (options.retryReason !== undefined) headers["x-slack-retry-reason"] = options.retryReason;
  const sent = { headers: { ...headers }, body: input.body };
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);

  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (result: DeliveryResult) => {
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = request(
      input.url,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(input.body)) },
        agent: false,
        signal: input.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          const json = parseJson(body);
          settle({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            ...(json !== undefined ? { json } : {}),
            elapsedMs: elapsed(),
            timedOut: false,
            sent,
          });
        });
      },
    );
    const timer = setTimeout(() => {
      settle({ status: 0, headers: {}, body: "", elapsedMs: elapsed(), timedOut: true, sent });
      req.destroy();
    }, input.timeoutMs);
    req.on("error", (error) => {
      clearTimeout(timer);
      if (!settled) reject(error);
    });
    req.end(input.body);
  });
}

/** The `actions[0]` entry of a block_actions payload for one element. */
export function actionPayload(
  element: JsonObject,
  blockId: string,
  value: string | undefined,
  actionTs: string,
): JsonObject {
  const base = { type: element.type, action_id: element.action_id, block_id: blockId, action_ts: actionTs };
  const options = Array.isArray(element.options) ? element.options.filter(isObject) : [];
  switch (element.type) {
    case "button": {
      const sent = value ?? element.value;
      return {
        ...base,
        text: element.text,
        ...(sent !== undefined ? { value: sent } : {}),
        ...(element.style !== undefined ? { style: element.style } : {}),
      };
    }
    case "static_select":
    case "overflow":
    case "radio_buttons": {
      const selected =
        value === undefined ? options[0] : (options.find((o) => o.value === value) ?? { value });
      return { ...base, selected_option: selected ?? null };
    }
    default:
      return { ...base, ...(value !== undefined ? { value } : {}) };
  }
}

/** What a test types or picks in one input: a string (or strings for multi-selects), or Slack's raw shape. */
export type ViewInput = string | string[] | JsonObject;

/** One entry of `view.state.values[block_id][action_id]`, shaped by the element type. */
export function stateValue(element: JsonObject, input: ViewInput | undefined): JsonObject {
  const type = String(element.type);
  if (isObject(input)) return { type, ...input };
  const options = Array.isArray(element.options) ? element.options.filter(isObject) : [];
  const option = (value: string) => options.find((o) => o.value === value) ?? { value };
  const single = Array.isArray(input) ? input[0] : input;
  switch (type) {
    case "static_select":
    case "radio_buttons":
      return { type, selected_option: single === undefined ? null : option(single) };
    case "multi_static_select":
    case "checkboxes":
      return { type, selected_options: (Array.isArray(input) ? input : single ? [single] : []).map(option) };
    case "users_select":
      return { type, selected_user: single ?? null };
    case "conversations_select":
      return { type, selected_conversation: single ?? null };
    case "channels_select":
      return { type, selected_channel: single ?? null };
    case "datepicker":
      return { type, selected_date: single ?? null };
    default:
      return { type, value: single ?? null };
  }
}
