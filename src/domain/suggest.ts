/** Edit distance, for "did you mean" suggestions. */
export function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] ?? 0;
      row[j] = Math.min(current + 1, (row[j - 1] ?? 0) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] ?? 0;
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
    const d = distance(lower, other);
    if (d <= limit || prefix) near.push({ candidate, d });
  }
  return near
    .sort((x, y) => x.d - y.d || x.candidate.localeCompare(y.candidate))
    .slice(0, max)
    .map(({ candidate }) => candidate);
}
