/**
 * "Did you mean" for config names: unknown fields, unknown origins, unknown named blocks. A few
 * lines of edit distance are all this needs, so no dependency.
 */

/** Levenshtein distance, case-insensitive (a name that differs only in case is the best match). */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y) return a === b ? 0 : 0.5;
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = row;
  }
  return prev[y.length] ?? Number.POSITIVE_INFINITY;
}

/**
 * The known name closest to `name`, when it is close enough to be a likely typo: at most one
 * edit for short names, a third of the length for longer ones.
 * @example closestName('upstrem', ['id', 'match', 'upstream']) // 'upstream'
 */
export function closestName(name: string, known: Iterable<string>): string | undefined {
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    if (candidate === name) continue;
    const d = distance(name, candidate);
    if (d <= limit && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * ` did you mean "x"?` for the closest known name, or an empty string.
 * @example `unknown origin "us-eats";${didYouMean('us-eats', ['eu', 'us-east'])}` // '... did you mean "us-east"?'
 */
export function didYouMean(name: string, known: Iterable<string>): string {
  const best = closestName(name, known);
  return best === undefined ? '' : ` did you mean ${JSON.stringify(best)}?`;
}
