import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import YAML from "yaml";
import { sharedFile } from "./support/shared.js";

const manifest = YAML.parse(readFileSync(new URL("../manifest.yml", import.meta.url), "utf8"));
// ajv-formats ships CommonJS; its default export is the function under ESM interop.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

test("manifest.yml validates against Slack's v1 manifest JSON schema", (t) => {
  const schemaFile = sharedFile(t, "specs/slack-manifest.schema.json");
  if (!schemaFile) return;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, "utf8")));
  const valid = validate(manifest);
  assert.equal(valid, true, JSON.stringify(validate.errors, null, 2));
});

test("the schema check can fail: a command without its leading slash is rejected", (t) => {
  const schemaFile = sharedFile(t, "specs/slack-manifest.schema.json");
  if (!schemaFile) return;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, "utf8")));
  const broken = structuredClone(manifest);
  broken.features.slash_commands[0].command = "crashtest";
  assert.equal(validate(broken), false);
});

test("manifest is consistent with what the bot uses (rules the schema does not check)", () => {
  const scopes: string[] = manifest.oauth_config.scopes.bot;
  for (const scope of ["commands", "chat:write", "files:write"]) assert.ok(scopes.includes(scope), scope);
  assert.equal(manifest.features.slash_commands[0].command, "/crashtest");
  assert.equal(manifest.settings.interactivity.is_enabled, true);
  assert.equal(manifest.settings.socket_mode_enabled, true);
  assert.equal(manifest.features.app_home.home_tab_enabled, true);
  // A Home tab is only refreshed when the app subscribes to app_home_opened.
  assert.ok(manifest.settings.event_subscriptions.bot_events.includes("app_home_opened"));
  if (scopes.includes("chat:write.public")) assert.ok(scopes.includes("chat:write"));
});
