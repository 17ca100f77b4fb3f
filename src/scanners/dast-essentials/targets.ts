import { AppError } from "../../domain/errors.js";
import type { ProjectSpec } from "../../domain/ports.js";
import type { HttpResponse } from "../../http/transport.js";
import {
  isDastId,
  SCAN_TYPES,
  type ScanType,
  TARGET_TYPES,
  type TargetRequest,
  type TargetType,
} from "./api.js";

/**
 * Builds the TCS `TargetRequest` (https://docs.veracode.com/r/DAST_Essentials_REST_API) from the port's ProjectSpec. Everything the server would
 * refuse for a reason the bot can see is refused here first, with a message naming the fix.
 */

export interface TargetDefaults {
  /** DAST_TARGET_TYPE; default WEB_APP. */
  targetType: TargetType;
  /** DAST_SCAN_TYPE; default QUICK. */
  scanType: ScanType;
  /**
   * DAST_TEAM_ID: the team that sees new targets (is_sec_lead_only false). Unset: targets are
   * visible to Security Leads only (is_sec_lead_only true, teams null).
   */
  teamId?: string;
  /** Description of new targets; default says they were created from Slack. */
  description?: string;
}

export const DEFAULT_TARGET_DEFAULTS: TargetDefaults = {
  targetType: "WEB_APP",
  scanType: "QUICK",
  description: "Created from Slack by Crashtest ChatOps",
};

/**
 * Options a ProjectSpec may carry (keys as in the TCS API, plus short aliases). Values are
 * case-insensitive where they are enums.
 */
export const TARGET_OPTION_KEYS = {
  target_type: "target_type",
  type: "target_type",
  scan_type: "scan_type",
  api_specification_file_url: "api_specification_file_url",
  api_spec_url: "api_specification_file_url",
  description: "description",
  team: "team",
  team_id: "team",
} as const;
type OptionName = (typeof TARGET_OPTION_KEYS)[keyof typeof TARGET_OPTION_KEYS];

// Java's \p{Print} in the spec's pattern is printable ASCII; letters and digits of any script are
// allowed besides (^[\p{L}\p{Nl}\p{Nd}\p{Print}]*$).
const PRINTABLE = /^[\p{L}\p{Nl}\p{Nd}\x20-\x7E]*$/u;
const TEAM_ID = /^[\x21-\x7E]{1,128}$/;

function invalid(message: string): AppError {
  return new AppError("validation", message);
}

export function parseTargetType(value: string, source = "target_type"): TargetType {
  const upper = value
    .trim()
    .toUpperCase()
    .replace(/[\s-]+/g, "_");
  const normalised = upper === "WEB" || upper === "WEBAPP" ? "WEB_APP" : upper;
  if ((TARGET_TYPES as readonly string[]).includes(normalised)) return normalised as TargetType;
  throw invalid(`${source} must be one of ${TARGET_TYPES.join(", ")}.`);
}

export function parseScanType(value: string, source = "scan_type"): ScanType {
  const upper = value.trim().toUpperCase();
  if ((SCAN_TYPES as readonly string[]).includes(upper)) return upper as ScanType;
  throw invalid(`${source} must be one of ${SCAN_TYPES.join(", ")}.`);
}

export function checkTeamId(value: string, source = "team"): string {
  const team = value.trim();
  if (!TEAM_ID.test(team)) throw invalid(`${source} must be a Veracode team ID (no spaces).`);
  return team;
}

/** `https://Shop.example.com:8443/app?x=1` → protocol HTTPS, url `shop.example.com:8443/app?x=1`. */
export function splitTargetUrl(raw: string): { protocol: "HTTP" | "HTTPS"; url: string } {
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch {
    throw invalid("The target URL is not a valid URL; use e.g. https://shop.example.com.");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw invalid("Veracode DAST Essentials scans only http:// and https:// targets.");
  }
  if (parsed.username || parsed.password) {
    throw invalid("The target URL must not contain a user name or password.");
  }
  // host is lower-cased by the parser and keeps a non-default port; the fragment is never sent.
  const path = parsed.pathname === "/" ? "" : parsed.pathname;
  const url = `${parsed.host}${path}${parsed.search}`;
  if (url.length > 1000) throw invalid("The target URL is too long (at most 1000 characters).");
  return { protocol: parsed.protocol === "https:" ? "HTTPS" : "HTTP", url };
}

function readOptions(options: Record<string, string> | undefined): Partial<Record<OptionName, string>> {
  const out: Partial<Record<OptionName, string>> = {};
  for (const [key, value] of Object.entries(options ?? {})) {
    const name = (TARGET_OPTION_KEYS as Record<string, OptionName>)[key.trim().toLowerCase()];
    if (name === undefined) {
      throw invalid(
        `Unknown DAST Essentials target option "${key.slice(0, 40)}"; known options: ${Object.keys(TARGET_OPTION_KEYS).join(", ")}.`,
      );
    }
    if (out[name] !== undefined) throw invalid(`The target option ${name} is given twice.`);
    out[name] = value;
  }
  return out;
}

function checkApiSpecUrl(value: string): string {
  const url = value.trim();
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== "https:" && parsed.protocol !== "http:")) {
    throw invalid("api_spec_url must be the http(s) URL of the API's OpenAPI/Swagger file.");
  }
  if (url.length > 255) throw invalid("api_spec_url is too long (at most 255 characters).");
  return url;
}

/** The POST /targets body for a ProjectSpec; throws AppError("validation") for what cannot work. */
export function buildTargetRequest(spec: ProjectSpec, defaults: TargetDefaults): TargetRequest {
  const name = spec.name.trim();
  if (name.length < 1 || name.length > 255) {
    throw invalid("A DAST Essentials target name has 1 to 255 characters.");
  }
  if (!PRINTABLE.test(name)) {
    throw invalid(
      "A DAST Essentials target name may hold letters, digits, spaces and printable ASCII punctuation only.",
    );
  }
  const options = readOptions(spec.options);
  const targetType =
    options.target_type === undefined ? defaults.targetType : parseTargetType(options.target_type);
  const scanType = options.scan_type === undefined ? defaults.scanType : parseScanType(options.scan_type);
  const team = options.team === undefined ? defaults.teamId : checkTeamId(options.team);
  const description = options.description ?? defaults.description;
  if (description !== undefined && (!PRINTABLE.test(description) || description.length > 1000)) {
    throw invalid("The target description may hold letters, digits and printable ASCII only (1000 at most).");
  }
  const apiSpec =
    options.api_specification_file_url === undefined
      ? undefined
      : checkApiSpecUrl(options.api_specification_file_url);
  if (targetType === "API" && apiSpec === undefined) {
    throw invalid(
      "An API target needs the URL of its API specification: give the option api_spec_url=https://…/openapi.json.",
    );
  }
  const { protocol, url } = splitTargetUrl(spec.url);
  return {
    name,
    protocol,
    url,
    target_type: targetType,
    scan_type: scanType,
    is_sec_lead_only: team === undefined,
    teams: team === undefined ? null : [team],
    // The API requires this statement; the bot makes it on behalf of the Slack user who asked for
    // the target (README: the bot asserts authorization to scan).
    authorized_to_scan: true,
    ...(apiSpec === undefined ? {} : { api_specification_file_url: apiSpec }),
    ...(description === undefined || description === "" ? {} : { description }),
  };
}

/**
 * The target ID at the end of a `location` header, when the 201 body lacks it. Split, not
 * `/[?#].*$/` and `/\/+$/`: those backtrack quadratically on a header of many `?` or `/`.
 */
export function idFromLocation(response: Pick<HttpResponse, "headers">): string | undefined {
  const header = response.headers.location;
  const location = Array.isArray(header) ? header[0] : header;
  const last = location
    ?.split(/[?#]/, 1)[0]
    ?.split("/")
    .filter((segment: string) => segment !== "")
    .pop();
  return last !== undefined && isDastId(last) ? last : undefined;
}
