import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { startSimulator } from "../../src/scanners/simulator/server.js";
import {
  eventually,
  PEOPLE,
  SURFACE_EMULATOR,
  SURFACE_ENV,
  startTestBot,
  visibleText,
} from "../support/bot.js";

const CHANNEL = "C0SECURITY";
const SECRET = "0123456789abcdef0123456789abcdef";
const OTHER_SECRET = "fedcba9876543210fedcba9876543210";

test("CRASHTEST_WEBHOOKS projects are listed and scannable at once, without a link; removed ones are forgotten", async (t) => {
  const sim = await startSimulator();
  t.after(() => sim.close());
  sim.addProject({ name: "shop", url: "https://shop.example.com", webhookSecret: SECRET });
  sim.addProject({ name: "blog", url: "https://blog.example.com", webhookSecret: OTHER_SECRET });
  const dir = await mkdtemp(path.join(tmpdir(), "webhook-projects-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const env = (webhooks: Record<string, string>) => ({
    ...SURFACE_ENV,
    STORE_URL: `sqlite://${path.join(dir, "store.sqlite")}`,
    REQUIRE_APPROVAL: "false",
    CRASHTEST_API_URL: sim.url,
    CRASHTEST_WEBHOOKS: JSON.stringify(webhooks),
  });
  let bot = await startTestBot({ env: env({ shop: SECRET }), emulator: SURFACE_EMULATOR });
  const command = async (text: string) => {
    const seen = bot.emulator.ephemerals(PEOPLE.admin).length;
    const sent = await bot.emulator.slashCommand({ user: PEOPLE.admin, channel: CHANNEL, text });
    assert.equal(sent.status, 200);
    return visibleText(await eventually(() => bot.emulator.ephemerals(PEOPLE.admin)[seen]));
  };

  assert.match(await command("projects"), /\*shop\* · ID `webhook:shop`/);
  assert.match(await command("scan start shop"), /Scan 390 of \*shop\* started/);
  assert.ok(sim.requests.some((r) => r.operation === "webhookStart"));
  assert.match(await command("scan status 390 webhook:shop"), /390/, "the ID works too");
  await bot.close();

  bot = await startTestBot({ env: env({ blog: OTHER_SECRET }), emulator: SURFACE_EMULATOR });
  try {
    const listing = await command("projects");
    assert.match(listing, /\*blog\* · ID `webhook:blog`/);
    assert.doesNotMatch(listing, /webhook:shop/, "no longer configured, no longer listed");
  } finally {
    await bot.close();
  }
});
