import assert from "node:assert/strict";
import { test } from "node:test";
import { bagDistance, closest, distance } from "../../src/domain/suggest.js";

/** Every candidate measured, then filtered: what `closest` must answer, however it skips work. */
function everyCandidate(word: string, candidates: string[], max = 3): string[] {
  const limit = Math.max(2, Math.floor(word.length / 3));
  return [...new Set(candidates)]
    .map((candidate) => ({ candidate, d: distance(word.toLowerCase(), candidate.toLowerCase()) }))
    .filter(({ d, candidate }) => d <= limit || candidate.startsWith(word.toLowerCase()))
    .sort((x, y) => x.d - y.d || x.candidate.localeCompare(y.candidate))
    .slice(0, max)
    .map(({ candidate }) => candidate);
}

test("suggestions skip far-off candidates without changing the answer", () => {
  const names = [
    "help",
    "projects",
    "project create",
    "project delete",
    "scan start",
    "scan status",
    "scan",
    "report",
    "findings",
    "Audit",
  ];
  const words = [
    "",
    "h",
    "hlep",
    "sacn strat",
    "sacn",
    "scan stat",
    "PROJ",
    "project",
    "reprot",
    "x".repeat(300),
    "audit",
    "scan status 12",
  ];
  // A deterministic spread of mangled names too: dropped, doubled and swapped letters.
  for (const name of names) {
    words.push(name.slice(1), `${name}${name.at(-1)}`, name.slice(0, 2) + name.slice(3), name.toUpperCase());
  }
  for (const word of words)
    assert.deepEqual(closest(word, names), everyCandidate(word, names), JSON.stringify(word));
  assert.deepEqual(closest("hlep", names), ["help"]);
});

test("a bounded distance is exact within its limit and limit + 1 beyond it", () => {
  const pairs: Array<[string, string]> = [
    ["sacn strat", "scan start"],
    ["hlep", "help"],
    ["projects", "project delete"],
    ["", "scan"],
    ["report", "report"],
  ];
  for (const [a, b] of pairs) {
    const exact = distance(a, b);
    for (let limit = 0; limit <= exact + 1; limit++)
      assert.equal(distance(a, b, limit), exact <= limit ? exact : limit + 1, `${a} / ${b} within ${limit}`);
  }
  assert.equal(distance("kitten", "sitting"), 3);
});

test("the bag distance never exceeds the edit distance, and counts repeated letters", () => {
  const words = [
    "",
    "a",
    "ab",
    "abb",
    "bba",
    "scan start",
    "sacn strat",
    "projects",
    "schedules",
    "aaaa",
    "help",
    "hlep",
  ];
  for (const a of words) for (const b of words) assert.ok(bagDistance(a, b) <= distance(a, b), `${a} / ${b}`);
  assert.equal(bagDistance("ab", "abbb"), 2);
  assert.equal(bagDistance("abbb", "ab"), 2);
  assert.equal(bagDistance("projects", "sacn strat"), 6);
  // Beyond ASCII: no bound, never a wrong one.
  assert.equal(bagDistance("café", "xyz"), 0);
  // Left clean for the next call.
  assert.equal(bagDistance("scan", "scan"), 0);
});
