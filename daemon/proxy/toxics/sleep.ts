// Waiting that a toxic can be interrupted from: resolves false when `signal` aborts first.

export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Sleeps until the performance.now() time `t`, never earlier. Node's timers count whole milliseconds
 * from the event loop's cached clock, which can be a millisecond or more behind the real one, so a
 * timer may fire that much early; a latency toxic must not deliver under its floor (50 ms ± 20 ms
 * means nothing under 30 ms), so an early wake sleeps again for the remainder.
 */
export async function sleepUntil(t: number, signal: AbortSignal): Promise<boolean> {
  for (;;) {
    const left = t - performance.now();
    if (left <= 0) return !signal.aborted;
    if (!(await sleep(Math.ceil(left), signal))) return false;
  }
}

/** Resolves when `signal` aborts (a toxic that holds a connection open until it is torn down). */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
