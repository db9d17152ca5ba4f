import spec, { clockMask, parseOffset, splitOffset } from '../../api/kinds/time-skew';
import { check } from '../../api/validate';

// time-skew's pure parts: the signed offset, its split into what the native helper takes, the clock mask.

describe('time-skew offset and clocks', () => {
  it('parses signed durations', () => {
    expect(parseOffset('-1h')).toBe(-3_600_000);
    expect(parseOffset('+30m')).toBe(1_800_000);
    expect(parseOffset('1m30s')).toBe(90_000);
    expect(parseOffset('-1.5s')).toBe(-1500);
    for (const bad of ['', '1', '--1h', '+-1h', '1h-', ' 1h', '1 h', 'yesterday']) expect(() => parseOffset(bad)).toThrow();
  });

  it('splits into floor seconds and 0 <= nanoseconds < 1e9, also for negative offsets', () => {
    expect(splitOffset(-3_600_000)).toEqual({ sec: -3600, nsec: 0 });
    expect(splitOffset(1500)).toEqual({ sec: 1, nsec: 500_000_000 });
    expect(splitOffset(-1500)).toEqual({ sec: -2, nsec: 500_000_000 });
    expect(splitOffset(-0.001)).toEqual({ sec: -1, nsec: 999_999_000 });
    expect(splitOffset(10 * 365 * 24 * 3_600_000)).toEqual({ sec: 315_360_000, nsec: 0 });
  });

  it('sets bit n for clock id n', () => {
    expect(clockMask(['CLOCK_REALTIME'])).toBe(1n);
    expect(clockMask(['CLOCK_REALTIME', 'CLOCK_MONOTONIC'])).toBe(3n);
    expect(clockMask(['CLOCK_TAI', 'CLOCK_BOOTTIME'])).toBe((1n << 11n) | (1n << 7n));
  });

  it('the schema fills CLOCK_REALTIME and refuses unknown clocks, naming the item', () => {
    const p: Record<string, unknown> = { offset: '-1h' };
    expect(check(spec.params, p)).toEqual([]);
    expect(p.clocks).toEqual(['CLOCK_REALTIME']);
    expect(check(spec.params, { offset: '1h', clocks: ['CLOCK_NOPE'] }, '/params').map((d) => d.field)).toContain('/params/clocks/0');
    expect(check(spec.params, { offset: '1h$(id)' }, '/params').map((d) => d.field)).toContain('/params/offset');
  });
});
