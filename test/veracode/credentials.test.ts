import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { inspect } from "node:util";
import { ConfigError, loadConfig } from "../../src/config.js";
import { AppError } from "../../src/domain/errors.js";
import { parseCredentialsFile, VeracodeAccount } from "../../src/veracode/index.js";
import { captureLogger } from "../support/logs.js";
import { fakeKeyPair } from "./fake-veracode.js";

const global = fakeKeyPair();
const eu = fakeKeyPair("vera01e");

let home: string;

beforeEach(async () => {
  home = await mkdtemp(path.join(tmpdir(), "veracode-creds-"));
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

async function writeCredentials(
  text: string,
  mode = 0o600,
  file = path.join(home, ".veracode", "credentials"),
) {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  await chmod(file, mode);
  return file;
}

/** Accounts are loaded with the rest of the configuration; HOME locates ~/.veracode/credentials. */
const configWith = (env: Record<string, string | undefined>) =>
  loadConfig({ HOME: home, ALERT_CHANNEL: "C0ALERTS", ...env });
const load = async (env: Record<string, string | undefined>) => configWith(env).veracode.accounts;

function assertConfigError(pattern: RegExp) {
  return (error: unknown) => {
    if (error instanceof AppError) {
      assert.equal(error.kind, "config");
      assert.match(error.userMessage, pattern);
    } else {
      assert.ok(error instanceof ConfigError, String(error));
      assert.match(error.problems.join("\n"), pattern);
    }
    const text = `${error.message} ${error.stack}`;
    for (const secret of [global.secretHex, eu.secretHex]) assert.ok(!text.includes(secret), text);
    return true;
  };
}

describe("loadVeracodeAccounts", () => {
  test("nothing configured: no accounts (the guard is off)", async () => {
    assert.deepEqual(await load({}), []);
  });

  test("environment variables, region from the key prefix, VERACODE_API_URL override", async () => {
    const [account] = await load({
      VERACODE_API_KEY_ID: eu.apiKeyId,
      VERACODE_API_KEY_SECRET: eu.apiKeySecret,
    });
    assert.equal(account?.name, "default");
    assert.equal(account?.region, "eu");
    assert.equal(account?.baseUrl, "https://api.veracode.eu");
    assert.equal(account?.apiKeySecret, eu.apiKeySecret);
    const [proxied] = await load({
      VERACODE_API_KEY_ID: global.apiKeyId,
      VERACODE_API_KEY_SECRET: global.apiKeySecret,
      VERACODE_API_URL: "http://127.0.0.1:9999/veracode/",
    });
    assert.equal(proxied?.baseUrl, "http://127.0.0.1:9999/veracode");
    await assert.rejects(
      load({
        VERACODE_API_KEY_ID: global.apiKeyId,
        VERACODE_API_KEY_SECRET: global.apiKeySecret,
        VERACODE_API_URL: "nope",
      }),
      assertConfigError(/VERACODE_API_URL/),
    );
  });

  test("_FILE variants are read (trimmed) and the plain variable wins over its _FILE", async () => {
    const idFile = path.join(home, "id");
    const secretFile = path.join(home, "secret");
    await writeFile(idFile, `${eu.apiKeyId}\n`);
    await writeFile(secretFile, `${eu.apiKeySecret}\n`);
    const [fromFiles] = await load({
      VERACODE_API_KEY_ID_FILE: idFile,
      VERACODE_API_KEY_SECRET_FILE: secretFile,
    });
    assert.equal(fromFiles?.apiKeyId, eu.apiKeyId);
    assert.equal(fromFiles?.apiKeySecret, eu.apiKeySecret);

    await writeFile(idFile, global.apiKeyId);
    const [mixed] = await load({
      VERACODE_API_KEY_ID: eu.apiKeyId,
      VERACODE_API_KEY_ID_FILE: idFile,
      VERACODE_API_KEY_SECRET_FILE: secretFile,
    });
    assert.equal(mixed?.apiKeyId, eu.apiKeyId);

    await assert.rejects(
      load({ VERACODE_API_KEY_ID: eu.apiKeyId, VERACODE_API_KEY_SECRET_FILE: path.join(home, "missing") }),
      assertConfigError(/VERACODE_API_KEY_SECRET_FILE/),
    );
  });

  test("half a pair in the environment is a configuration error", async () => {
    await assert.rejects(
      load({ VERACODE_API_KEY_ID: global.apiKeyId }),
      assertConfigError(/VERACODE_API_KEY_SECRET/),
    );
    await assert.rejects(
      load({ VERACODE_API_KEY_SECRET: global.apiKeySecret }),
      assertConfigError(/VERACODE_API_KEY_ID/),
    );
  });

  test("credentials file: profiles, case-insensitive keys, = and :, comments, CRLF", async () => {
    await writeCredentials(
      [
        "# Veracode API credentials",
        "[default]",
        `VERACODE_API_KEY_ID = ${global.apiKeyId}`,
        `veracode_api_key_secret=${global.apiKeySecret}`,
        "",
        "; EU service account",
        "[ dast ]",
        `Veracode_Api_Key_Id: ${eu.apiKeyId}`,
        `veracode_api_key_secret : ${eu.apiKeySecret}`,
        "other_tool_setting = ignored",
      ].join("\r\n"),
    );
    const inUse = await load({});
    assert.deepEqual(
      inUse.map((account) => [account.name, account.baseUrl]),
      [["default", "https://api.veracode.com"]],
    );
    const watched = await load({ VERACODE_ACCOUNTS: "dast, default" });
    assert.deepEqual(
      watched.map((account) => [account.name, account.region, account.apiKeySecret]),
      [
        ["dast", "eu", eu.apiKeySecret],
        ["default", "global", global.apiKeySecret],
      ],
    );
    const profile = await load({ VERACODE_API_PROFILE: "dast" });
    assert.deepEqual(
      profile.map((account) => account.name),
      ["dast"],
    );
    assert.deepEqual(
      configWith({}).warnings.filter((w) => /Veracode/.test(w)),
      [],
    );
  });

  test("environment credentials replace the profile in use; other watched profiles come from the file", async () => {
    await writeCredentials(
      `[dast]\nveracode_api_key_id=${eu.apiKeyId}\nveracode_api_key_secret=${eu.apiKeySecret}\n`,
    );
    const accounts = await load({
      VERACODE_API_KEY_ID: global.apiKeyId,
      VERACODE_API_KEY_SECRET: global.apiKeySecret,
      VERACODE_ACCOUNTS: "default,dast",
    });
    assert.deepEqual(
      accounts.map((account) => [account.name, account.apiKeyId]),
      [
        ["default", global.apiKeyId],
        ["dast", eu.apiKeyId],
      ],
    );
  });

  test("VERACODE_CREDENTIALS_FILE overrides the path and must exist", async () => {
    const file = await writeCredentials(
      `[default]\nveracode_api_key_id=${global.apiKeyId}\nveracode_api_key_secret=${global.apiKeySecret}\n`,
      0o600,
      path.join(home, "elsewhere", "creds.ini"),
    );
    assert.equal((await load({ VERACODE_CREDENTIALS_FILE: file }))[0]?.apiKeyId, global.apiKeyId);
    await assert.rejects(
      load({ VERACODE_CREDENTIALS_FILE: path.join(home, "nope.ini") }),
      assertConfigError(/nope\.ini cannot be read \(ENOENT\)/),
    );
  });

  test("loose file permissions produce a warning; mode 600 does not", async () => {
    const file = await writeCredentials(
      `[default]\nveracode_api_key_id=${global.apiKeyId}\nveracode_api_key_secret=${global.apiKeySecret}\n`,
      0o644,
    );
    const warnings = configWith({}).warnings.filter((w) => /Veracode/.test(w));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? "", /mode 0644/);
    assert.ok(warnings[0]?.includes(file));
    await chmod(file, 0o600);
    assert.deepEqual(
      configWith({}).warnings.filter((w) => /Veracode/.test(w)),
      [],
    );
  });

  test("a malformed file names the line and never echoes its content", async () => {
    const cases: Array<[string, RegExp]> = [
      [
        `[default]\nveracode_api_key_id=${global.apiKeyId}\n\n${global.apiKeySecret}\n`,
        /line 4: expected `key = value`/,
      ],
      [`veracode_api_key_secret=${global.apiKeySecret}\n[default]\n`, /line 1: key outside of a \[section\]/],
      [
        `[default]\n[default\nveracode_api_key_secret=${global.apiKeySecret}`,
        /line 2: expected a section header/,
      ],
      [`[default]\n[default]\n`, /line 2: duplicate section/],
      [
        `[a]\nveracode_api_key_secret=${global.apiKeySecret}\nVERACODE_API_KEY_SECRET=${eu.apiKeySecret}\n`,
        /line 3: duplicate key/,
      ],
    ];
    for (const [text, pattern] of cases) {
      await writeCredentials(text);
      await assert.rejects(load({}), assertConfigError(pattern));
    }
    assert.throws(() => parseCredentialsFile("= value"), assertConfigError(/line 1/));
  });

  test("named profiles must exist and be complete; invalid keys are rejected", async () => {
    await writeCredentials(`[default]\nveracode_api_key_id=${global.apiKeyId}\n`);
    await assert.rejects(load({}), assertConfigError(/needs both/));
    await assert.rejects(
      load({ VERACODE_ACCOUNTS: "prod" }),
      assertConfigError(/names the profile \[prod\], which .* does not have/),
    );
    await assert.rejects(
      load({ VERACODE_API_PROFILE: "prod" }),
      assertConfigError(/names the profile \[prod\], which .* does not have/),
    );
    await writeCredentials(
      `[default]\nveracode_api_key_id=${global.apiKeyId}\nveracode_api_key_secret=not-hex\n`,
    );
    await assert.rejects(load({}), assertConfigError(/malformed/));
    await writeCredentials(
      `[default]\nveracode_api_key_id=${eu.apiKeyId}\nveracode_api_key_secret=vera01fs-${eu.secretHex}\n`,
    );
    await assert.rejects(load({}), assertConfigError(/different region prefixes/));
  });

  test("a file without the implicit [default] profile configures nothing", async () => {
    await writeCredentials(
      `[other]\nveracode_api_key_id=${global.apiKeyId}\nveracode_api_key_secret=${global.apiKeySecret}\n`,
    );
    assert.deepEqual(await load({}), []);
  });
});

describe("VeracodeAccount", () => {
  test("is safe to log: JSON, inspect, spread and the redacting logger show only the last 4 of the key ID", () => {
    const account = new VeracodeAccount({
      name: "dast",
      apiKeyId: eu.apiKeyId,
      apiKeySecret: eu.apiKeySecret,
    });
    const real = captureLogger();
    real.logger.info("account", { account, nested: { ...account } });
    const renderings = [
      JSON.stringify(account),
      inspect(account),
      inspect({ ...account }),
      JSON.stringify({ ...account }),
      real.text(),
    ];
    for (const text of renderings) {
      assert.ok(!text.includes(eu.secretHex), text);
      assert.ok(!text.includes(eu.apiId), text);
    }
    assert.match(JSON.stringify(account), new RegExp(`…${eu.apiId.slice(-4)}`));
    assert.match(inspect(account), /dast/);
    assert.equal(account.keyIdHint, eu.apiId.slice(-4));
  });
});
