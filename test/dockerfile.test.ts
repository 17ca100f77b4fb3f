import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const dockerfile = readFileSync(new URL("../Dockerfile", import.meta.url), "utf8");
const stages = dockerfile.split(/^FROM /m).slice(1);
const runtime = stages.at(-1) ?? "";

test("Dockerfile is multi-stage on Node 24 slim", () => {
  assert.ok(stages.length >= 2, "expected a build stage and a runtime stage");
  for (const stage of stages) assert.match(stage, /^node:24[-.\w]*slim/);
});

test("runtime stage ships production dependencies only, as the non-root node user", () => {
  assert.match(dockerfile, /npm prune --omit=dev|npm ci --omit=dev/);
  assert.match(runtime, /^USER node$/m);
  assert.doesNotMatch(runtime, /COPY[^\n]*\b(src|test)\b/);
  assert.match(runtime, /ENV NODE_ENV=production/);
});

test("CMD runs node directly (signals reach the process), with a health check and a data volume", () => {
  assert.match(runtime, /^CMD \["node", "--env-file-if-exists=\.env", "dist\/main\.js"\]$/m);
  assert.doesNotMatch(runtime, /^CMD \["npm"/m);
  assert.match(runtime, /^HEALTHCHECK [\s\S]*\/healthz/m);
  assert.match(runtime, /^VOLUME \["\/data"\]$/m);
  assert.match(runtime, /STORE_URL=sqlite:\/\/\/data\//);
});

test("the image carries node's compile cache, filled at build time by the node user for every dist module", () => {
  const dir = /^ENV NODE_COMPILE_CACHE=(\/app\/\S+)$/m.exec(runtime)?.[1];
  assert.ok(dir, "NODE_COMPILE_CACHE under /app");
  // node creates the directory quietly or not at all: /app is root's, so it must exist, owned by node.
  assert.match(
    runtime,
    new RegExp(`^RUN mkdir -p [^\\n]*${dir}[^\\n]*&& chown node:node [^\\n]*${dir}`, "m"),
  );
  const user = runtime.indexOf("USER node");
  const prime = runtime.search(/^RUN node [\s\S]*?readdirSync\('dist'/m);
  assert.ok(user >= 0 && prime > user, "primed after USER node, so the running bot may add to it");
  assert.match(runtime, /await import\('\.\/dist\/' \+ f\)/);
});
