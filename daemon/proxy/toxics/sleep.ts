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

/** Sleeps until the performance.now() time `t`. */
export function sleepUntil(t: number, signal: AbortSignal): Promise<boolean> {
  return sleep(t - performance.now(), signal);
}

/** Resolves when `signal` aborts (a toxic that holds a connection open until it is torn down). */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
