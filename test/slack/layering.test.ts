import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

const root = new URL("../../src/", import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

// One record, one writer (docs/architecture.md): the scan record changes only through ScanBook's
// operations, called by the domain; the Slack layer renders effects and calls domain operations.
test("the Slack layer writes no scan, approval or finding decision record", () => {
  const offenders: string[] = [];
  for (const file of sources("slack")) {
    const text = readFileSync(join(root, file), "utf8");
    for (const pattern of [
      /scan-record\.js/,
      /\bsaveScan\b/,
      /\bsaveApproval\b/,
      /\.(started|observed|attached|stopRequested)\(/,
    ]) {
      if (pattern.test(text)) offenders.push(`${file}: ${pattern}`);
    }
    for (const match of text.matchAll(/store\.(set|add|delete)\(\s*"([^"]+)"/g)) {
      const records = ["scans", "approvals", "approval-decisions", "watches", "finding-decisions"];
      if ([...records, "finding-decision-votes", "finding-decision-notices"].includes(match[2] ?? "")) {
        offenders.push(`${file}: store.${match[1]}("${match[2]}")`);
      }
    }
  }
  assert.deepEqual(offenders, []);
});

test("the watcher reports observations; it does not write scan records itself", () => {
  const offenders = sources("domain/watch").filter((file) =>
    /\bsaveScan\b|store\.set\(\s*"scans"/.test(readFileSync(join(root, file), "utf8")),
  );
  assert.deepEqual(offenders, []);
});

// The watch record is the watcher's bookkeeping; where the card is and what the project is called
// are the scan's facts and are read from the scan record (domain/scan-record.ts).
test("the watch record holds no scan facts", () => {
  const text = readFileSync(join(root, "domain/watch/record.ts"), "utf8");
  const body = /export interface WatchRecord \{([\s\S]*?)\n\}/.exec(text)?.[1];
  assert.ok(body, "WatchRecord is declared in domain/watch/record.ts");
  const fields = [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]);
  const scanFacts = ["card", "projectName", "targetUrl", "backend", "requestedBy", "approvedBy", "channel"];
  assert.deepEqual(
    fields.filter((f) => scanFacts.includes(f ?? "")),
    [],
  );
  assert.ok(fields.includes("effects"), `fields read: ${fields.join(", ")}`);
});
