import { AppError } from "../domain/errors.js";

/**
 * Veracode user IDs, apart from the identity client: the configuration reads them at start-up, and the
 * client's modules (its HTTP transport and response schemas) need not load for that.
 */

/** A Veracode user ID as the bot accepts one: letters, digits and hyphens, at most 64. */
export const USER_ID = /^[A-Za-z0-9-]{1,64}$/;

/** Comma list of Veracode user IDs whose credentials an admin account watches (VERACODE_WATCH_USER_IDS). */
export function parseWatchUserIds(list: string | undefined): string[] {
  const ids = (list ?? "")
    .split(",")
    .map((id) => id.trim())
    .filter(Boolean);
  const bad = ids.find((id) => !USER_ID.test(id));
  if (bad !== undefined) {
    throw new AppError("config", "VERACODE_WATCH_USER_IDS contains a malformed user ID.", {
      detail: `Malformed Veracode user ID ${JSON.stringify(bad.slice(0, 64))}`,
    });
  }
  return [...new Set(ids)];
}
