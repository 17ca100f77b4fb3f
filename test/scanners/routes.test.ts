import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../../src/domain/errors.js";
import {
  DEFAULT_ROUTES,
  fillPath,
  OPERATIONS,
  PLACEHOLDERS,
  parseRouteOverrides,
  placeholdersOf,
  resolveRoutes,
} from "../../src/scanners/crashtest/routes.js";

test("the default table covers every operation and uses only its allowed placeholders", () => {
  for (const operation of OPERATIONS) {
    for (const name of placeholdersOf(DEFAULT_ROUTES[operation].path)) {
      assert.ok(PLACEHOLDERS[operation].includes(name), `${operation} {${name}}`);
    }
  }
});

test("parses overrides and merges them over the defaults", () => {
  const overrides = parseRouteOverrides(
    '{"startScan":"POST /teams/{teamId}/projects/{projectId}/scans/start","report":" GET /r/{scanId}.{format} "}',
  );
  assert.deepEqual(overrides, {
    startScan: { method: "POST", path: "/teams/{teamId}/projects/{projectId}/scans/start" },
    report: { method: "GET", path: "/r/{scanId}.{format}" },
  });
  const table = resolveRoutes(overrides);
  assert.equal(table.startScan.path, "/teams/{teamId}/projects/{projectId}/scans/start");
  assert.deepEqual(table.scanStatus, DEFAULT_ROUTES.scanStatus);
});

test("rejects unknown operations, placeholders and malformed routes with clear messages", () => {
  const cases: Array<[string, RegExp]> = [
    ['{"launchScan":"POST /x"}', /unknown operation "launchScan"; known operations: createProject, /],
    [
      '{"startScan":"POST /teams/{team}/x"}',
      /startScan: unknown placeholder \{team\}; allowed: \{teamId\}, \{projectId\}/,
    ],
    ['{"createProject":"POST /teams/{teamId}/{scanId}"}', /unknown placeholder \{scanId\}/],
    ['{"startScan":"PUT /x"}', /must look like "GET \/path\/\{placeholder\}"/],
    ['{"startScan":"POST x"}', /must look like/],
    ['{"startScan":"POST /x/{projectId"}', /unbalanced braces/],
    ['{"report":"GET /teams/{teamId}/report"}', /must contain the \{format\} placeholder/],
    ['{"startScan": 5}', /JSON object of operation name/],
    ["not json", /CRASHTEST_ROUTES is not valid JSON/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseRouteOverrides(text),
      (error: unknown) => error instanceof AppError && error.kind === "config" && message.test(error.message),
      text,
    );
  }
});

test("fills placeholders percent-encoded, so values cannot add path segments", () => {
  assert.equal(fillPath("/a/{x}/b", { x: "1/2 3?" }), "/a/1%2F2%203%3F/b");
});
