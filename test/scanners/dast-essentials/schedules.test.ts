import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { AppError } from "../../../src/domain/errors.js";
import { createDastEssentialsScanner } from "../../../src/scanners/dast-essentials/scanner.js";
import { VeracodeAccount } from "../../../src/veracode/index.js";
import { fakeKeyPair, rawCaptureLogger } from "../../veracode/fake-veracode.js";
import { FakeTcs } from "./fake-tcs.js";

/** DAST Essentials' own schedules, read-only, through the one transport against the fake TCS API. */
async function setup(t: TestContext) {
  const keys = fakeKeyPair();
  const fake = await FakeTcs.start({ [keys.apiId]: keys.secretHex });
  const account = new VeracodeAccount({
    name: "dast",
    apiKeyId: keys.apiKeyId,
    apiKeySecret: keys.apiKeySecret,
    baseUrl: fake.url,
  });
  const scanner = createDastEssentialsScanner({
    logger: rawCaptureLogger().logger,
    account,
    timeouts: { headersMs: 2_000 },
    retry: { sleep: async () => {}, random: () => 0.5 },
  });
  t.after(async () => {
    await scanner.close();
    await fake.close();
  });
  return { fake, scanner };
}

test("a target's platform schedules: each profile's schedule, 204 for none, signed requests", async (t) => {
  const { fake, scanner } = await setup(t);
  const project = await scanner.createProject({ name: "shop", url: "https://shop.example.test" });
  fake.profiles.set("prof-1", {
    analysis_profile_id: "prof-1",
    target_id: project.id,
    name: "weekly",
    schedule: {
      frequency: "WEEKLY",
      interval: 2,
      weekday: "MONDAY",
      timezone: "America/New_York",
      time: "13:50",
      status: "ACTIVE",
      active_from: "2026-01-01",
      created_at: "2026-01-01T00:00:00Z",
      first_run_at: "2026-01-05T18:50:00Z",
      next_run_at: "2026-12-07T18:50:00Z",
      max_duration: 4320,
    },
  });
  fake.profiles.set("prof-2", { analysis_profile_id: "prof-2", target_id: project.id, name: "manual" });
  fake.profiles.set("prof-3", {
    analysis_profile_id: "prof-3",
    target_id: "other",
    name: "elsewhere",
    schedule: { frequency: "DAILY", timezone: "UTC", time: "01:00", status: "ACTIVE" },
  });
  assert.ok(scanner.platformSchedules);
  const schedules = await scanner.platformSchedules(project.id);
  assert.deepEqual(schedules, [
    {
      frequency: "WEEKLY",
      interval: 2,
      time: "13:50",
      timezone: "America/New_York",
      weekday: "MONDAY",
      status: "ACTIVE",
      nextRunAt: Date.parse("2026-12-07T18:50:00Z"),
    },
  ]);
  assert.deepEqual(
    fake.calls.filter((c) => c.includes("analysis_profiles")),
    [
      "GET /analysis_profiles",
      "GET /analysis_profiles/prof-1/schedule",
      "GET /analysis_profiles/prof-2/schedule",
    ],
  );
  assert.deepEqual(fake.rejections, []);
});

test("a schedule the API answers in an unexpected shape is refused, not guessed", async (t) => {
  const { fake, scanner } = await setup(t);
  const project = await scanner.createProject({ name: "shop", url: "https://shop.example.test" });
  fake.profiles.set("prof-1", {
    analysis_profile_id: "prof-1",
    target_id: project.id,
    name: "x",
    schedule: { frequency: 7 },
  });
  await assert.rejects(
    scanner.platformSchedules?.(project.id) ?? Promise.resolve(),
    (error: unknown) => error instanceof AppError,
  );
  await assert.rejects(
    scanner.platformSchedules?.("not/an id") ?? Promise.resolve(),
    (error: unknown) => error instanceof AppError && error.kind === "validation",
  );
});
