import { Type } from '@sinclair/typebox';
import { parseDuration } from '../units';
import { defineKind } from './types';

// Chaos Mesh's TimeChaos: the target processes see their clocks shifted by `offset` while the fault
// runs. The daemon redirects each process's vDSO clock functions with a small native helper
// (daemon/native/), so the processes keep running and read correct time again after recovery.

/** Clock ids as <time.h> numbers them: the helper shifts clock n when bit n of its mask is set. */
export const CLOCK_IDS = {
  CLOCK_REALTIME: 0,
  CLOCK_MONOTONIC: 1,
  CLOCK_PROCESS_CPUTIME_ID: 2,
  CLOCK_THREAD_CPUTIME_ID: 3,
  CLOCK_MONOTONIC_RAW: 4,
  CLOCK_REALTIME_COARSE: 5,
  CLOCK_MONOTONIC_COARSE: 6,
  CLOCK_BOOTTIME: 7,
  CLOCK_REALTIME_ALARM: 8,
  CLOCK_BOOTTIME_ALARM: 9,
  CLOCK_TAI: 11,
} as const;
export type ClockName = keyof typeof CLOCK_IDS;

export const SIGNED_DURATION_PATTERN = '^[-+]?([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$';

/** The largest shift taken: ten years either way (a typo of "1000000h" is refused, not obeyed). */
export const MAX_OFFSET_MS = 10 * 365 * 24 * 3_600_000;

/** Milliseconds in a signed duration ("-1h", "+30m", "1m30s"); throws on anything else. */
export function parseOffset(text: string): number {
  if (typeof text !== 'string' || !new RegExp(SIGNED_DURATION_PATTERN).test(text)) throw new Error(`"${text}" is not a signed duration (e.g. -1h, +30m, 90s)`);
  const sign = text.startsWith('-') ? -1 : 1;
  return sign * parseDuration(text.replace(/^[-+]/, ''));
}

/** The offset as the helper takes it: whole seconds rounded down, and 0 <= nanoseconds < 1e9. */
export function splitOffset(ms: number): { sec: number; nsec: number } {
  const totalNs = BigInt(Math.round(ms * 1e6));
  const billion = 1_000_000_000n;
  let sec = totalNs / billion;
  let nsec = totalNs % billion;
  if (nsec < 0n) {
    nsec += billion;
    sec -= 1n;
  }
  return { sec: Number(sec), nsec: Number(nsec) };
}

/** The helper's clock mask for a list of clock names. */
export function clockMask(clocks: readonly ClockName[]): bigint {
  return clocks.reduce((m, c) => m | (1n << BigInt(CLOCK_IDS[c])), 0n);
}

export default defineKind({
  kind: 'time-skew',
  title: 'Time skew',
  description:
    'Shifts the clocks the target processes read (clock_gettime, gettimeofday, time) by `offset`, without a restart: ptrace redirects their vDSO clock functions to code that adds the offset; recovery restores them. x86-64 only.',
  scope: 'process',
  targetRequired: true,
  requires: ['root'],
  params: Type.Object(
    {
      offset: Type.String({
        pattern: SIGNED_DURATION_PATTERN,
        maxLength: 64,
        description: 'signed duration added to the clocks, e.g. -1h, +30m, 90s (at most ten years either way)',
      }),
      clocks: Type.Array(
        Type.Union(Object.keys(CLOCK_IDS).map((c) => Type.Literal(c as ClockName))),
        {
          minItems: 1,
          maxItems: Object.keys(CLOCK_IDS).length,
          uniqueItems: true,
          default: ['CLOCK_REALTIME'],
          description:
            'which clocks are shifted; gettimeofday and time follow CLOCK_REALTIME. A shifted CLOCK_MONOTONIC also moves the deadlines ' +
            'the process computes from it (Python time.sleep, libuv and pthread timed waits): a forward shift can hold such a wait for up ' +
            'to the offset, even past recovery, as with Chaos Mesh',
        },
      ),
    },
    { additionalProperties: false },
  ),
});
