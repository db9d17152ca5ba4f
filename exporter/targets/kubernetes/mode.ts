import { ApiError } from '../../../api/errors';

// `spec.targets.mode` with Chaos Mesh's semantics, for any list of candidates:
//   one                 one at random
//   all                 every candidate
//   fixed               `value` of them at random (all when fewer)
//   fixed-percent       floor(n × value / 100) at random
//   random-max-percent  floor(n × p / 100) at random, p drawn uniformly from 0..value
// `random` is injectable so tests can pin the draw; it must return a number in [0, 1).

export type TargetMode = 'one' | 'all' | 'fixed' | 'fixed-percent' | 'random-max-percent';

const FIELD = '/spec/targets/value';

function bad(reason: string): ApiError {
  return ApiError.invalid(`invalid experiment: ${FIELD} ${reason}`, [{ field: FIELD, reason }]);
}

/** Checks `value` for the mode (400 naming /spec/targets/value), returns it as a number. */
export function modeValue(mode: TargetMode, value: string | undefined): number | undefined {
  if (mode === 'one' || mode === 'all') return undefined;
  if (value === undefined || value === '') throw bad(`is required for mode ${mode}`);
  if (!/^[0-9]+$/.test(value)) throw bad('must be a whole number');
  const n = Number(value);
  if (mode === 'fixed' && n < 1) throw bad('must be at least 1 for mode fixed');
  if (mode !== 'fixed' && n > 100) throw bad(`is a percent for mode ${mode}: at most 100`);
  return n;
}

/** How many of `total` candidates the mode picks. */
export function modeCount(mode: TargetMode, total: number, value: string | undefined, random: () => number = Math.random): number {
  const v = modeValue(mode, value);
  switch (mode) {
    case 'one':
      return Math.min(1, total);
    case 'all':
      return total;
    case 'fixed':
      return Math.min(v as number, total);
    case 'fixed-percent':
      return Math.floor((total * (v as number)) / 100);
    case 'random-max-percent': {
      const percent = Math.floor(random() * ((v as number) + 1));
      return Math.floor((total * percent) / 100);
    }
  }
}

/** Picks the mode's share of `items` at random (a partial Fisher–Yates shuffle; input order kept for `all`). */
export function selectByMode<T>(items: readonly T[], mode: TargetMode, value: string | undefined, random: () => number = Math.random): T[] {
  const count = modeCount(mode, items.length, value, random);
  if (count >= items.length) return [...items];
  const pool = [...items];
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, count);
}
