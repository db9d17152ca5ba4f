import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from '../server-common/process-metrics';

// The daemon's own Prometheus registry (an embedding exporter keeps its own), served at /metrics.

export type RecoveryReason = 'requested' | 'lease_expired' | 'restart' | 'shutdown' | 'inject_failed' | 'daemon_died';

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly active: Gauge<'kind'>;
  readonly injections: Counter<'kind' | 'result'>;
  readonly recoveries: Counter<'kind' | 'reason'>;
  readonly injectDuration: Histogram<'kind'>;
  readonly recoverDuration: Histogram<'kind'>;
  readonly httpRequests: Counter<'method' | 'route' | 'code'>;

  /** `processMetrics: false` for a process nobody scrapes (the watchdog): no default metrics, no timers. */
  constructor(kinds: readonly string[], opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.processMetrics !== false) collectProcessMetrics(this.registry);
    this.active = new Gauge({ name: 'faultline_daemon_faults_active', help: 'Faults applied now, by kind', labelNames: ['kind'], registers });
    this.injections = new Counter({
      name: 'faultline_daemon_injections_total',
      help: 'Fault injections by kind and result (success, error, rejected)',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.recoveries = new Counter({
      name: 'faultline_daemon_recoveries_total',
      help: 'Fault recoveries by kind and reason (requested, lease_expired, restart, shutdown, inject_failed)',
      labelNames: ['kind', 'reason'],
      registers,
    });
    const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    this.injectDuration = new Histogram({ name: 'faultline_daemon_inject_duration_seconds', help: 'Time to apply a fault', labelNames: ['kind'], buckets, registers });
    this.recoverDuration = new Histogram({ name: 'faultline_daemon_recover_duration_seconds', help: 'Time to revert a fault', labelNames: ['kind'], buckets, registers });
    this.httpRequests = new Counter({
      name: 'faultline_daemon_http_requests_total',
      help: 'API requests answered, by method, route pattern (e.g. /v1/faults/:id/lease) and status code',
      labelNames: ['method', 'route', 'code'],
      registers,
    });
    // every kind shows up with 0 rather than being absent, so `faults_active == 0` queries work
    for (const kind of kinds) this.active.set({ kind }, 0);
  }
}
