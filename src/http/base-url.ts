import { AppError } from "../domain/errors.js";

/**
 * An API base URL from configuration: plain http(s), no query, fragment or credentials (the path is
 * kept, without trailing slashes). `variable` names the setting in the error.
 */
export function apiBaseUrl(raw: string, variable: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (error) {
    throw new AppError("config", `${variable} is not a valid URL.`, { cause: error });
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.search || url.hash || url.username) {
    throw new AppError("config", `${variable} must be a plain http(s) URL without query or credentials.`);
  }
  return url.href.replace(/\/+$/, "");
}
