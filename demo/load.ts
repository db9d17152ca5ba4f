import type { DemoMetrics } from './demo-metrics';

// The built-in load generator: a steady request rate against the demo's own API, so the
// dashboards have something to show without any other tool. Bounded on purpose: at most
// `concurrency` requests in flight; when the service is slow (that is the point of a fault)
// further ticks are counted as skipped instead of piling up sockets and memory, and after the
// process was paused it does not try to catch up on the missed requests.

const TICK_MS = 50;
const ROUTES = ['/api/work', '/api/checkout'] as const;
const REQUEST_TIMEOUT_MS = 10_000;

export interface LoadGenerator {
  inFlight(): number;
  stop(): Promise<void>;
}

export function startLoad(baseUrl: string, rps: number, concurrency: number, metrics: DemoMetrics): LoadGenerator {
  let inFlight = 0;
  let budget = 0;
  let next = 0;
  let last = Date.now();
  const pending = new Set<Promise<void>>();
  const stopping = new AbortController();

  const fire = (route: string) => {
    inFlight++;
    const p = fetch(baseUrl + route, { signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) })
      .then(async (res) => {
        await res.arrayBuffer();
        metrics.load.inc({ result: res.status >= 500 ? 'error' : 'ok' });
      })
      .catch(() => metrics.load.inc({ result: 'error' }))
      .finally(() => {
        inFlight--;
        pending.delete(p);
      });
    pending.add(p);
  };

  const timer =
    rps > 0
      ? setInterval(() => {
          const now = Date.now();
          // Never more than one second's worth at once: no burst after a pause (SIGSTOP, GC).
          budget = Math.min(budget + (rps * (now - last)) / 1000, Math.max(1, rps));
          last = now;
          while (budget >= 1) {
            budget -= 1;
            if (inFlight >= concurrency) {
              metrics.load.inc({ result: 'skipped' });
              continue;
            }
            fire(ROUTES[next++ % ROUTES.length]);
          }
        }, TICK_MS)
      : undefined;

  return {
    inFlight: () => inFlight,
    async stop() {
      if (timer) clearInterval(timer);
      stopping.abort();
      await Promise.allSettled([...pending]);
    },
  };
}
