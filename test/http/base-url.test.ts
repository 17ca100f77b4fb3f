import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../../src/domain/errors.js";
import { apiBaseUrl } from "../../src/http/base-url.js";

test("an API base URL keeps its path without trailing slashes and names its setting when refused", () => {
  assert.equal(apiBaseUrl("https://api.example.test/dae/api//", "X_URL"), "https://api.example.test/dae/api");
  for (const raw of [
    "not a url",
    "ftp://api.example.test",
    "https://api.example.test/?q=1",
    "https://u:p@api.example.test",
  ]) {
    assert.throws(
      () => apiBaseUrl(raw, "X_URL"),
      (error: unknown) =>
        error instanceof AppError && error.kind === "config" && error.message.startsWith("X_URL "),
    );
  }
});
