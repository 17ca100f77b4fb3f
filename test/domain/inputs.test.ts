import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../../src/domain/errors.js";
import { isPrivateHost, parseInput, projectName, targetUrl } from "../../src/domain/inputs.js";

const usage = "/crashtest project create <name> <url>";
const url = (value: string, allowPrivate = false) =>
  parseInput(targetUrl(allowPrivate), value, "target URL", usage);
const reason = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AppError && error.kind === "validation");
    return error.userMessage;
  }
  assert.fail("expected a validation error");
};

test("accepts public http(s) URLs, unwraps Slack's <url|label> and drops fragments", () => {
  assert.equal(url("https://shop.example.com"), "https://shop.example.com/");
  assert.equal(url("<https://shop.example.com/app#x|shop>"), "https://shop.example.com/app");
  assert.equal(url("http://203.0.113.9:8080/"), "http://203.0.113.9:8080/");
});

test("refuses dangerous or useless targets with an actionable reason and the usage", () => {
  assert.match(
    reason(() => url("javascript:alert(1)")),
    /only http:\/\/ and https:\/\//,
  );
  assert.match(
    reason(() => url("file:///etc/passwd")),
    /only http/,
  );
  assert.match(
    reason(() => url("https://admin:hunter2@shop.example.com")),
    /remove the user name and password/,
  );
  assert.match(
    reason(() => url("shop.example.com")),
    /not a URL/,
  );
  assert.match(
    reason(() => url("http://127.0.0.1/")),
    /private, loopback or internal/,
  );
  assert.match(
    reason(() => url("http://[::1]:3000/")),
    /private/,
  );
  assert.match(
    reason(() => url("http://10.1.2.3/")),
    /Usage: `\/crashtest project create/,
  );
  assert.equal(url("http://10.1.2.3/", true), "http://10.1.2.3/");
});

test("private host detection", () => {
  for (const host of [
    "localhost",
    "intranet",
    "db.internal",
    "192.168.1.1",
    "172.20.0.1",
    "169.254.169.254",
    "[fd00::1]",
    "::ffff:10.0.0.1",
    "100.64.0.1",
  ]) {
    assert.equal(isPrivateHost(host), true, host);
  }
  for (const host of ["example.com", "8.8.8.8", "172.32.0.1", "2001:db8::1"]) {
    assert.equal(isPrivateHost(host), false, host);
  }
});

test("project names: short, no spaces, no markup", () => {
  assert.equal(parseInput(projectName, " web-shop ", "name", usage), "web-shop");
  assert.match(
    reason(() => parseInput(projectName, "<!channel>", "name", usage)),
    /use letters, digits/,
  );
  assert.match(
    reason(() => parseInput(projectName, "x", "name", usage)),
    /at least 2/,
  );
  assert.match(
    reason(() => parseInput(projectName, "a".repeat(41), "name", usage)),
    /at most 40/,
  );
});
