import { ApiError } from '../../api/errors';

// `spec.targets.mode` as in Chaos Mesh, over any candidate list:
//   one: one at random · all: every candidate · fixed: `value` at random (all when fewer)
//   fixed-percent: floor(n × value / 100) · random-max-percent: floor(n × p / 100), p uniform in 0..value
// `random` is injectable for tests; it returns a number in [0, 1).

export type Mode = 'one' | 'all' | 'fixed' | 'fixed-percent' | 'random-max-percent';
const FIELD = '/spec/targets/value';

/** 400 naming /spec/targets/value when the mode's value is missing or out of range. */
export function checkModeValue(mode: Mode, value: string | undefined): number | undefined {
  const bad = (reason: string) => ApiError.invalid(`invalid experiment: ${FIELD} ${reason}`, [{ field: FIELD, reason }]);
  if (mode === 'one' || mode === 'all') return undefined;
  if (value === undefined || value === '') throw bad(`is required for mode ${mode}`);
  if (!/^[0-9]+$/.test(value)) throw bad('must be a whole number');
  const n = Number(value);
  if (mode === 'fixed' && n < 1) throw bad('must be at least 1 for mode fixed');
  if (mode !== 'fixed' && (n < 1 || n > 100)) throw bad(`is a percent for mode ${mode}: 1 to 100`);
  return n;
}

export function pickByMode<T>(items: readonly T[], mode: Mode, value: string | undefined, random: () => number = Math.random): T[] {
  const v = checkModeValue(mode, value) ?? 0;
  const n = items.length;
  const count =
    mode === 'one' ? Math.min(1, n)
    : mode === 'all' ? n
    : mode === 'fixed' ? Math.min(v, n)
    : mode === 'fixed-percent' ? Math.floor((n * v) / 100)
    : Math.floor((n * Math.floor(random() * (v + 1))) / 100);
  if (count >= n) return [...items];
  const pool = [...items];
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (n - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, count);
}
