import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// The demo service's metrics, on a registry of its own (tests start clean, and several demos can
// share one process). Names are what the provisioned dashboards and alert rules query:
//   demo_http_requests_total{route,code}            every answered request
//   demo_http_request_duration_seconds{route}       server-side latency histogram
//   demo_http_errors_total{route,reason}            5xx answers and why
//   demo_backend_request_duration_seconds{result}   the /api/checkout → backend call
//   demo_load_requests_total{result}                the built-in load generator: ok | error | skipped
//   demo_settings_error_ratio / demo_settings_latency_seconds   the admin knobs, so dashboards show them
//   demo_backend_up / demo_backend_restarts          the built-in backend process (killed → 0, restarted)

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type DemoMetrics = ReturnType<typeof createDemoMetrics>;

/** The built-in backend's state, when the demo runs one (not with --backend URL). */
export interface BackendState {
  up(): boolean;
  restarts(): number;
}

export function createDemoMetrics(settings: () => { errorRatio: number; latencyMs: number }, inFlight: () => number, backend?: BackendState) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: 'demo_http_requests_total',
      help: 'HTTP requests answered by the demo service',
      labelNames: ['route', 'code'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'demo_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, server side',
      labelNames: ['route'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'demo_http_errors_total',
      help: 'Requests answered with a 5xx, by reason (injected, backend_unreachable, backend_timeout, backend_status)',
      labelNames: ['route', 'reason'] as const,
      registers: [registry],
    }),
    backend: new Histogram({
      name: 'demo_backend_request_duration_seconds',
      help: 'Time of the call from /api/checkout to the backend, by result',
      labelNames: ['result'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    load: new Counter({
      name: 'demo_load_requests_total',
      help: 'Requests of the built-in load generator: ok, error (5xx or failed), skipped (concurrency limit reached)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    loadInFlight: new Gauge({
      name: 'demo_load_in_flight',
      help: 'Load generator requests in flight',
      registers: [registry],
      collect() {
        this.set(inFlight());
      },
    }),
    errorRatio: new Gauge({
      name: 'demo_settings_error_ratio',
      help: 'Share of API requests the demo fails on purpose (PUT /admin/settings)',
      registers: [registry],
      collect() {
        this.set(settings().errorRatio);
      },
    }),
    backendUp: new Gauge({
      name: 'demo_backend_up',
      help: 'Whether the built-in backend process is alive (1) or dead and being restarted (0)',
      registers: backend ? [registry] : [],
      collect() {
        this.set(backend?.up() ? 1 : 0);
      },
    }),
    backendRestarts: new Gauge({
      name: 'demo_backend_restarts',
      help: 'How often the built-in backend process was restarted after it died',
      registers: backend ? [registry] : [],
      collect() {
        this.set(backend?.restarts() ?? 0);
      },
    }),
    latency: new Gauge({
      name: 'demo_settings_latency_seconds',
      help: 'Extra latency the demo adds on purpose to each API request (PUT /admin/settings)',
      registers: [registry],
      collect() {
        this.set(settings().latencyMs / 1000);
      },
    }),
  };
}
