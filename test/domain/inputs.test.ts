import assert from "node:assert/strict";
import { test } from "node:test";
import { isPrivateAddress, isPrivateHost } from "../../src/domain/addresses.js";
import { AppError } from "../../src/domain/errors.js";
import { parseInput, projectName, targetUrl } from "../../src/domain/inputs.js";

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
  assert.equal(url("http://8.8.8.8:8080/"), "http://8.8.8.8:8080/");
  assert.equal(url("https://shop.example.com./"), "https://shop.example.com./");
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
    reason(() => url("shop")),
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

test("a URL typed without its scheme gets the https one suggested", () => {
  for (const [typed, suggested] of [
    ["shop.example.com", "https://shop.example.com"],
    ["shop.example.com/app?x=1", "https://shop.example.com/app?x=1"],
    ["Shop.Example.com:8443", "https://Shop.Example.com:8443"],
    ["<shop.example.com|shop.example.com>", "https://shop.example.com"],
  ] as const) {
    const problem = reason(() => url(typed));
    assert.match(problem, /the URL needs its scheme/, typed);
    assert.ok(problem.includes(`did you mean ${suggested}?`), problem);
  }
  // Not a host name: no guess, and nothing that could be markup is echoed.
  assert.doesNotMatch(
    reason(() => url("shop")),
    /did you mean/,
  );
  assert.doesNotMatch(
    reason(() => url("mailto:x@example.com")),
    /did you mean/,
  );
  assert.doesNotMatch(
    reason(() => url("shop.example.com/<!channel>")),
    /did you mean/,
  );
});

/**
 * Every way to write an address the scanner must not be sent to: the URL parser's own normal form
 * (0x7f.1 is 127.0.0.1, [::ffff:127.0.0.1] is [::ffff:7f00:1]) is what gets checked.
 */
const REFUSED_TARGETS = [
  // IPv4 loopback, spelled every way the URL parser accepts
  "http://127.0.0.1/",
  "http://127.1/",
  "http://0x7f.1/",
  "http://2130706433/",
  "http://017700000001/",
  "http://%31%32%37.0.0.1/",
  // unspecified, "this network", broadcast, reserved
  "http://0.0.0.0/",
  "http://0/",
  "http://255.255.255.255/",
  "http://240.0.0.1/",
  // RFC 1918, CGNAT, link-local (cloud metadata)
  "http://10.1.2.3/",
  "http://172.16.0.1/",
  "http://172.31.255.255/",
  "http://192.168.1.1/",
  "http://100.64.0.1/",
  "http://169.254.169.254/latest/meta-data/",
  // benchmarking, IETF, documentation, multicast
  "http://198.18.0.1/",
  "http://198.19.255.254/",
  "http://192.0.0.8/",
  "http://192.0.2.1/",
  "http://198.51.100.7/",
  "http://203.0.113.9/",
  "http://224.0.0.1/",
  "http://239.255.255.250:1900/",
  // IPv6 loopback, unspecified, IPv4-mapped, -compatible and translated
  "http://[::1]:3000/",
  "http://[::]/",
  "http://[::ffff:127.0.0.1]/",
  "http://[::ffff:7f00:1]/",
  "http://[::ffff:10.0.0.1]/",
  "http://[::ffff:8.8.8.8]/",
  "http://[::127.0.0.1]/",
  "http://[::ffff:0:127.0.0.1]/",
  // NAT64 (well-known and local-use prefixes), 6to4, Teredo, discard
  "http://[64:ff9b::127.0.0.1]/",
  "http://[64:ff9b::a9fe:a9fe]/",
  "http://[64:ff9b:1::1]/",
  "http://[2002:7f00:1::1]/",
  "http://[2001::1]/",
  "http://[100::1]/",
  // unique-local, link-local, site-local, multicast, documentation
  "http://[fd00::1]/",
  "http://[fc00::1]/",
  "http://[fe80::1]/",
  "http://[fec0::1]/",
  "http://[feff::1]/",
  "http://[ff02::1]/",
  "http://[2001:db8::1]/",
  "http://[3fff::1]/",
  // names that only mean something inside, with and without the final dot
  "http://localhost/",
  "http://LOCALHOST./",
  "http://api.localhost/",
  "http://metadata.google.internal/",
  "http://metadata.google.internal./computeMetadata/v1/",
  "http://db.internal/",
  "http://printer.local/",
  "http://printer.local./",
  "http://nas.lan/",
  "http://router.home.arpa/",
  "http://intranet/",
  "http://intranet./",
  "http://metadata/",
  "http://shop.example.com../",
];

test("refuses every private, loopback, reserved and internal address form", () => {
  for (const target of REFUSED_TARGETS) {
    assert.match(
      reason(() => url(target)),
      /private, loopback or internal/,
      target,
    );
    assert.equal(isPrivateHost(new URL(target).hostname), true, target);
    // ALLOW_PRIVATE_TARGETS=true lifts exactly this check.
    assert.ok(url(target, true).startsWith("http://"), target);
  }
});

test("accepts public addresses and names", () => {
  for (const target of [
    "https://shop.example.com/",
    "https://shop.example.com./",
    "https://xn--bcher-kva.example/",
    "http://8.8.8.8/",
    "http://172.32.0.1/",
    "http://198.20.0.1/",
    "http://100.128.0.1/",
    "http://223.255.255.1/",
    "http://[2606:4700:4700::1111]/",
    "http://[2a00:1450:4001:80b::200e]/",
  ]) {
    assert.equal(isPrivateHost(new URL(target).hostname), false, target);
    assert.equal(url(target), target);
  }
});

test("DNS answers are judged as addresses; anything else counts as private", () => {
  for (const address of [
    "10.0.0.5",
    "::ffff:10.0.0.5",
    "fd12::1",
    "64:ff9b::a00:5",
    "127.0.0.53",
    "::1",
    "",
  ]) {
    assert.equal(isPrivateAddress(address), true, address);
  }
  for (const address of ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]) {
    assert.equal(isPrivateAddress(address), false, address);
  }
  // A resolver answers plain addresses, not names or URL spellings.
  assert.equal(isPrivateAddress("localhost"), true);
  assert.equal(isPrivateAddress("0x7f.1"), true);
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
