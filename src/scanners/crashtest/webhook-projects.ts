import * as z from "zod";
import { AppError } from "../../domain/errors.js";

/**
 * CRASHTEST_WEBHOOKS, read by config.ts at start-up: the webhook projects (name and secret) the
 * webhook backend (webhook.ts) drives; apart from it, so that reading the configuration does not load
 * the adapter.
 */

export interface WebhookProject {
  /** Name shown in Slack; also the non-secret part of the project ID. */
  name: string;
  secret: string;
  /** Target URL for display; the webhook API never reports it. */
  url?: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// Webhook secrets are UUIDs (https://crashtest-security.com/using-webhooks/); allow any long path-safe token in case the format changes.
const SECRET = /^[A-Za-z0-9_-]{16,128}$/;

const Entry = z.union([z.string(), z.strictObject({ secret: z.string(), url: z.string().optional() })]);
const WebhookJson = z.record(z.string(), Entry);

/**
 * Parses CRASHTEST_WEBHOOKS: a JSON object of project name to webhook secret, or to
 * `{"secret": "...", "url": "https://..."}`. Messages name the project, never the secret, and carry no
 * cause (a JSON parser message would quote the input).
 */
export function parseWebhookProjects(text: string, source = "CRASHTEST_WEBHOOKS"): WebhookProject[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError(
      "config",
      `${source} is not valid JSON; expected {"project name":"<webhook secret>"}.`,
    );
  }
  const parsed = WebhookJson.safeParse(json);
  if (!parsed.success) {
    throw new AppError(
      "config",
      `${source} must map project names to a webhook secret or to {"secret": "...", "url": "..."}.`,
    );
  }
  return Object.entries(parsed.data).map(([name, entry]) => {
    const { secret, url } = typeof entry === "string" ? { secret: entry, url: undefined } : entry;
    if (!NAME.test(name)) {
      throw new AppError(
        "config",
        `${source}: project name "${name.slice(0, 64)}" must be 1-64 letters, digits, ".", "_" or "-".`,
      );
    }
    if (!SECRET.test(secret)) {
      throw new AppError(
        "config",
        `${source}.${name}: the webhook secret must be a UUID (16-128 letters, digits, "-").`,
      );
    }
    return url === undefined ? { name, secret } : { name, secret, url };
  });
}
