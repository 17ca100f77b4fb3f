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

export function closest(word: string, candidates: Iterable<string>, max = 3): string[] {
  const lower = word.toLowerCase();
  const limit = Math.max(2, Math.floor(word.length / 3));
  const near: Array<{ candidate: string; d: number }> = [];
  for (const candidate of new Set(candidates)) {
    const prefix = candidate.startsWith(lower);
    const other = candidate.toLowerCase();
    // The distance is at least the difference in length: a word that far off needs no computing.
    if (!prefix && Math.abs(other.length - lower.length) > limit) continue;
    // A prefix is suggested however far off, so it needs its exact distance to be ranked.
    const d = distance(lower, other, prefix ? Number.POSITIVE_INFINITY : limit);
    if (d <= limit || prefix) near.push({ candidate, d });
  }
  return near
    .sort((x, y) => x.d - y.d || x.candidate.localeCompare(y.candidate))
    .slice(0, max)
    .map(({ candidate }) => candidate);
}
