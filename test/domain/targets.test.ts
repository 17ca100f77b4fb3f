import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../../src/domain/errors.js";
import { TargetGuard } from "../../src/domain/targets.js";
import { FakeResolver, PUBLIC_ADDRESS } from "../support/dns.js";

const guard = (resolver: FakeResolver, allowPrivate = false) => new TargetGuard({ resolver, allowPrivate });

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, String(error));
    return error;
  }
  assert.fail("expected a refusal");
}

test("a host name is looked up, and any private A or AAAA answer refuses it", async () => {
  for (const answer of [
    ["10.0.0.5"],
    ["169.254.169.254"],
    [PUBLIC_ADDRESS, "127.0.0.1"],
    ["fd00::5"],
    [PUBLIC_ADDRESS, "::ffff:192.168.0.1"],
    ["64:ff9b::a00:5"],
    ["198.18.0.9"],
  ]) {
    const dns = new FakeResolver().set("shop.example.com", answer);
    const error = await refusal(guard(dns).check("https://shop.example.com/"));
    assert.equal(error.kind, "validation");
    const inside = answer.find((a) => a !== PUBLIC_ADDRESS);
    assert.match(
      error.userMessage,
      /shop\.example\.com points to .+, which is a private, loopback or internal address/,
    );
    assert.ok(error.userMessage.includes(`${inside},`), error.userMessage);
    assert.match(error.userMessage, /ALLOW_PRIVATE_TARGETS=true/);
    assert.deepEqual(dns.lookups, ["shop.example.com"]);
  }
});

test("public answers pass; the final dot of a name is not part of the lookup", async () => {
  const dns = new FakeResolver().set("shop.example.com", [
    PUBLIC_ADDRESS,
    "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
  ]);
  await guard(dns).check("https://shop.example.com/");
  await guard(dns).check("https://SHOP.example.com./x");
  assert.deepEqual(dns.lookups, ["shop.example.com", "shop.example.com"]);
});

test("a name without addresses, or a failed lookup, refuses with what to do", async () => {
  const none = await refusal(guard(new FakeResolver([])).check("https://typo.example.com/"));
  assert.equal(none.kind, "validation");
  assert.match(
    none.userMessage,
    /typo\.example\.com has no address in DNS \(no A or AAAA record\); check the host name/,
  );
  const down = new AppError("unavailable", "Could not look up shop.example.com in DNS (ETIMEOUT)", {
    retryable: true,
  });
  const failed = await refusal(
    guard(new FakeResolver().set("shop.example.com", down)).check("https://shop.example.com/"),
  );
  assert.equal(failed, down);
});

test("address literals and internal names are refused without a lookup; ALLOW_PRIVATE_TARGETS skips it all", async () => {
  const dns = new FakeResolver().set("shop.example.com", ["10.0.0.5"]);
  for (const url of ["http://[::ffff:7f00:1]/", "http://metadata.google.internal./", "http://intranet/"]) {
    assert.match((await refusal(guard(dns).check(url))).userMessage, /private, loopback or internal/, url);
  }
  await guard(dns).check("http://8.8.8.8/");
  assert.deepEqual(dns.lookups, []);
  await guard(dns, true).check("https://shop.example.com/");
  await guard(dns, true).check("http://127.0.0.1/");
  assert.deepEqual(dns.lookups, []);
});

test("a new project's URL options (api_spec_url, …) get the same check; other options pass untouched", async () => {
  const dns = new FakeResolver().set("specs.example.com", ["192.168.1.10"]);
  const spec = { name: "api", url: "https://api.example.com/" };
  const literal = await refusal(
    guard(dns).checkProject({
      ...spec,
      options: { api_spec_url: "http://[::ffff:169.254.169.254]/openapi.json" },
    }),
  );
  assert.match(literal.userMessage, /^The option api_spec_url is not valid: .*private, loopback or internal/);
  const resolved = await refusal(
    guard(dns).checkProject({ ...spec, options: { api_spec_url: "https://specs.example.com/openapi.json" } }),
  );
  assert.match(resolved.userMessage, /option api_spec_url .*specs\.example\.com points to 192\.168\.1\.10/);
  // Recognised by its value too, whatever the option is called.
  const byValue = await refusal(
    guard(dns).checkProject({ ...spec, options: { spec: "http://localhost:8080/x" } }),
  );
  assert.match(byValue.userMessage, /option spec/);
  const schemeless = await refusal(
    guard(dns).checkProject({ ...spec, options: { api_spec_url: "specs.example.org/openapi.json" } }),
  );
  assert.match(schemeless.userMessage, /did you mean https:\/\/specs\.example\.org\/openapi\.json\?/);

  const checked = await guard(dns).checkProject({
    ...spec,
    options: {
      api_spec_url: "<https://api.example.com/openapi.json#top>",
      scan_type: "QUICK",
      description: "x y",
    },
  });
  assert.deepEqual(checked.options, {
    api_spec_url: "https://api.example.com/openapi.json",
    scan_type: "QUICK",
    description: "x y",
  });
  const target = await refusal(
    guard(new FakeResolver().set("api.example.com", ["10.9.9.9"])).checkProject(spec),
  );
  assert.match(target.userMessage, /^The target URL is not valid: api\.example\.com points to 10\.9\.9\.9/);
});

test("a target stored without its scheme (DAST Essentials keeps host and path) is checked by its host", async () => {
  const dns = new FakeResolver().set("shop.example.com", ["10.1.1.1"]);
  const error = await refusal(guard(dns).check("shop.example.com/app"));
  assert.match(error.userMessage, /shop\.example\.com points to 10\.1\.1\.1/);
  await guard(new FakeResolver()).check("shop.example.com/app");
  assert.match((await refusal(guard(dns).check("::::"))).userMessage, /not a URL/);
});
