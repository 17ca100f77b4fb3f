/** One row of the edit-distance table, reused by every call (the process is single-threaded). */
let row = new Uint32Array(64);

/**
 * Edit distance, for "did you mean" suggestions. With `limit`, stops as soon as every cell of a row
 * exceeds it and answers `limit + 1`: a word that far off needs no exact figure.
 */
export function distance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  if (row.length <= b.length) row = new Uint32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) row[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    let best = i;
    const ai = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      const cell = Math.min(
        current + 1,
        (row[j - 1] as number) + 1,
        previous + (ai === b.charCodeAt(j - 1) ? 0 : 1),
      );
      row[j] = cell;
      if (cell < best) best = cell;
      previous = current;
    }
    if (best > limit) return limit + 1;
  }
  const d = row[b.length] as number;
  return d > limit ? limit + 1 : d;
}

/** Character counts for bagDistance, ASCII only; left all zero between calls. */
const counts = new Int32Array(128);

/**
 * A lower bound of the edit distance in one pass over both words: the characters one word has that the
 * other lacks, counted with repeats, the larger side ("bag distance"; an edit changes each side by at
 * most one). 0 (no bound) when either word has a character beyond ASCII.
 */
export function bagDistance(a: string, b: string): number {
  for (let i = 0; i < a.length; i++) if (a.charCodeAt(i) >= 128) return 0;
  for (let j = 0; j < b.length; j++) if (b.charCodeAt(j) >= 128) return 0;
  for (let i = 0; i < a.length; i++) (counts[a.charCodeAt(i)] as number)++;
  for (let j = 0; j < b.length; j++) (counts[b.charCodeAt(j)] as number)--;
  // Each count read once (then zeroed): what a has beyond b, and what b has beyond a.
  let extra = 0;
  let missing = 0;
  for (let k = 0; k < a.length + b.length; k++) {
    const code = k < a.length ? a.charCodeAt(k) : b.charCodeAt(k - a.length);
    const n = counts[code] as number;
    if (n > 0) extra += n;
    else missing -= n;
    counts[code] = 0;
  }
  return Math.max(extra, missing);
}

export function closest(word: string, candidates: Iterable<string>, max = 3): string[] {
  const lower = word.toLowerCase();
  const limit = Math.max(2, Math.floor(word.length / 3));
  const near: Array<{ candidate: string; d: number }> = [];
  for (const candidate of candidates instanceof Set ? candidates : new Set(candidates)) {
    const prefix = candidate.startsWith(lower);
    const other = candidate.toLowerCase();
    // The distance is at least the difference in length, and at least the characters one word has
    // that the other lacks: a word that far off needs no table (most of a typo's candidates).
    if (!prefix && Math.abs(other.length - lower.length) > limit) continue;
    if (!prefix && bagDistance(lower, other) > limit) continue;
    // A prefix is suggested however far off, so it needs its exact distance to be ranked.
    const d = distance(lower, other, prefix ? Number.POSITIVE_INFINITY : limit);
    if (d <= limit || prefix) near.push({ candidate, d });
  }
  return near
    .sort((x, y) => x.d - y.d || x.candidate.localeCompare(y.candidate))
    .slice(0, max)
    .map(({ candidate }) => candidate);
}
