import { CliError, EXIT } from './client';

// "Did you mean" hints: the nearest word by edit distance. Shared by `get` (resources, phases),
// `inject` (kinds, enum flag values) and the documents `run`/`apply`/`import` read (fault kinds).

/** Edit distance (Levenshtein, case-insensitive). */
export function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
  return d[a.length][b.length];
}

/** The candidate nearest to `word`, when it is near enough to be a typo of it. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const best = [...candidates].sort((x, y) => distance(word, x) - distance(word, y))[0];
  return best !== undefined && distance(word, best) <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/**
 * The candidate nearest to `word`, however far: for fault kinds a newcomer may not know the
 * spelling of at all ("loss" → network-loss), where a name that contains the word wins.
 */
export function nearestAny(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  const containing = candidates.filter((c) => c.toLowerCase().includes(w) || (w.length >= 3 && w.includes(c.toLowerCase())));
  const pool = nearest(word, candidates) ? candidates : containing.length ? containing : candidates;
  return [...pool].sort((x, y) => distance(word, x) - distance(word, y))[0];
}

/** The usage error for a fault kind that is not registered: names the nearest one. */
export function unknownKindError(kind: string, known: readonly string[], where = ''): CliError {
  const near = nearestAny(kind, known);
  return new CliError(
    `${where}${JSON.stringify(kind)} is not a fault kind${near ? `: did you mean ${near}?` : ''} (faultline get kinds, or faultline inject --help, lists them)`,
    EXIT.invalid,
  );
}
