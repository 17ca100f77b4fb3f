import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../../src/domain/errors.js";
import { ProjectRegistry } from "../../src/domain/projects.js";
import { ManualClock, MemoryStore } from "./memory-store.js";

test("a name taken in another case names the project that holds it", async () => {
  const clock = new ManualClock(0);
  const registry = new ProjectRegistry(new MemoryStore(clock), clock);
  await registry.reserveName("Web-Shop");
  await registry.save(
    { id: "101", name: "Web-Shop", url: "https://shop.example.com" },
    { backend: "simulator", createdBy: "U0ALICE", linked: false, reserved: true },
  );
  await assert.rejects(
    registry.reserveName("web-shop"),
    (error: unknown) =>
      error instanceof AppError &&
      error.kind === "conflict" &&
      error.userMessage ===
        'A project named "Web-Shop" (ID `101`) already exists (names ignore case); pick another name.',
  );
  await registry.reserveName("blog");
  await assert.rejects(registry.reserveName("BLOG"), /is being created right now/);
});
