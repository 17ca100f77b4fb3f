import type { FindingLocation } from "../domain/ports.js";

/**
 * Where a finding was found, read from the scanner's own sentence about it: neither the Crashtest
 * JSON findings report nor the JUnit report has location fields, but their texts follow a few
 * patterns (DefectDojo's Crashtest importer keeps the same sentence as the finding's description,
 * https://github.com/DefectDojo/django-DefectDojo/blob/master/dojo/tools/crashtest_security/parser.py):
 *   Found command injection in parameter "ip" with method "post" for URL "https://host/exec/", with payload "…"
 *   Found boolean-based blind sqlinjection for parameter id (GET) on https://host/sqli/ with payload …
 *   Found possible XSS vulnerability on site host/xss_s/. The parameter 'txtName' seems vulnerable for payload '…'
 *   Retrieved https://host/about.php by using a GET request on the URL without prior knowledge.
 *   Found command injection in GET parameter 'BenchmarkTest00407' for URL 'https://host/cmdi-00/…', with payload '…'
 * Only the text before the word "payload" is read: what follows is attack input a scanned site can
 * shape. Every pattern is bounded and linear (no nested quantifiers over the same characters).
 */

export const LOCATION_MAX_CHARS = { url: 1000, parameter: 200 } as const;

const METHODS = "GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS";
const URL_PATTERN = /https?:\/\/[^\s"'<>`]{1,2000}/i;
const SITE_PATTERN = /\bon site ([^\s"'<>`/]{1,255})(\/[^\s"'<>`]{0,2000})/i;
const PARAMETER_PATTERN = /\bparameter\s{1,5}(?:"([^"]{1,200})"|'([^']{1,200})'|([\w.[\]-]{1,200}))/i;
const METHOD_PATTERNS = [
  new RegExp(`\\bmethod\\s{1,5}["']?(${METHODS})\\b`, "i"),
  new RegExp(`\\((${METHODS})\\)`, "i"),
  // Upper case only: "GET parameter", "a GET request".
  new RegExp(`\\b(${METHODS})\\s{1,5}(?:parameter|request)\\b`),
];

/** Sentence punctuation that follows a URL in the report's prose ("…found on URL https://host/."). */
function trimProse(text: string): string {
  let end = text.length;
  while (end > 0 && ".,;:)".includes(text.charAt(end - 1))) end -= 1;
  return text.slice(0, end);
}

function pathOf(url: string): string | undefined {
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}

export function locationFromText(text: string): FindingLocation | undefined {
  const payload = text.search(/payload/i);
  const head = payload === -1 ? text : text.slice(0, payload);
  const location: FindingLocation = {};

  const url = URL_PATTERN.exec(head)?.[0];
  if (url !== undefined) {
    const trimmed = trimProse(url).slice(0, LOCATION_MAX_CHARS.url);
    const path = pathOf(trimmed);
    if (path !== undefined) {
      location.url = trimmed;
      location.path = path;
    }
  } else {
    const site = SITE_PATTERN.exec(head);
    const path = site?.[2] === undefined ? undefined : pathOf(`https://${site[1]}${trimProse(site[2])}`);
    if (path !== undefined) location.path = path.slice(0, LOCATION_MAX_CHARS.url);
  }

  const parameter = PARAMETER_PATTERN.exec(head);
  const name = parameter?.[1] ?? parameter?.[2] ?? parameter?.[3];
  if (name !== undefined && name.trim() !== "") location.parameter = name.trim();

  for (const pattern of METHOD_PATTERNS) {
    const method = pattern.exec(head)?.[1];
    if (method !== undefined) {
      location.method = method.toUpperCase();
      break;
    }
  }
  return Object.keys(location).length === 0 ? undefined : location;
}
