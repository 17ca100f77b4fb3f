import { createHash } from "node:crypto";
import type { Finding, FindingLocation } from "../ports.js";
import type { Fingerprint } from "./types.js";

/**
 * A finding's identity across scans of one project (README "Findings history"): the scanner type,
 * the check (slug, else title), and the normalized location (URL path with the query's parameter
 * names but not their values, the parameter, the method). When the report names no path and no
 * parameter (TLS, headers, open ports), the scanner's sentence stands in for the location, with
 * volatile tokens (UUIDs, long hex or digit runs) removed: "TLS 1.0 is offered" and "TLS 1.1 is
 * offered" are two findings of one check. Hashed with SHA-256, 20 hex characters: short enough
 * for button values, 80 bits against accidental collisions within one project.
 */
export const FINGERPRINT_HEX_CHARS = 20;

const SEPARATOR = "\u001f";

/** Path plus sorted query parameter names: `/a/?id=7&x=1` and `/a/?x=2&id=9` are one place. */
export function normalizedPlace(location: FindingLocation | undefined): string {
  if (location === undefined) return "";
  let path = location.path ?? "";
  let query = "";
  if (location.url !== undefined) {
    try {
      const url = new URL(location.url);
      path = url.pathname;
      query = [...new Set([...url.searchParams.keys()])].sort().join("&");
    } catch {
      // A URL the parser refuses keeps the path the report gave.
    }
  }
  path = path.replace(/\/{2,}/g, "/");
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  return query === "" ? path : `${path}?${query}`;
}

/** The scanner's sentence without what changes from run to run of the same check. */
export function stableText(text: string): string {
  return text
    .slice(0, 500)
    .toLowerCase()
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>")
    .replace(/\b[0-9a-f]{16,}\b/g, "<hex>")
    .replace(/\d{5,}/g, "<n>")
    .replace(/\s+/g, " ")
    .trim();
}

export function fingerprint(scannerType: string, finding: Finding): Fingerprint {
  const place = normalizedPlace(finding.location);
  const parameter = finding.location?.parameter ?? "";
  const method = finding.location?.method?.toUpperCase() ?? "";
  const located = place !== "" || parameter !== "";
  const parts = [
    scannerType.toLowerCase(),
    (finding.slug ?? finding.title).toLowerCase(),
    place,
    parameter,
    method,
    located ? "" : stableText(finding.detail ?? ""),
  ];
  return createHash("sha256").update(parts.join(SEPARATOR)).digest("hex").slice(0, FINGERPRINT_HEX_CHARS);
}
