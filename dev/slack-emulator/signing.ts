import { createHmac } from "node:crypto";

/** Slack's v0 request signature: "v0=" + hex(HMAC-SHA256(secret, "v0:" + timestamp + ":" + raw body)). */
export function computeSlackSignature(signingSecret: string, timestampSec: number, rawBody: string): string {
  return `v0=${createHmac("sha256", signingSecret).update(`v0:${timestampSec}:${rawBody}`).digest("hex")}`;
}

/** The two headers Slack adds to every HTTP-mode request. */
export function slackSignatureHeaders(
  signingSecret: string,
  rawBody: string,
  timestampSec: number = Math.floor(Date.now() / 1000),
): { "x-slack-signature": string; "x-slack-request-timestamp": string } {
  return {
    "x-slack-signature": computeSlackSignature(signingSecret, timestampSec, rawBody),
    "x-slack-request-timestamp": String(timestampSec),
  };
}
