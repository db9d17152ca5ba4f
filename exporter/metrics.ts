import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ExperimentStore } from './store/experiments';

// The exporter's own registry (never prom-client's global one, so two exporters in one process,
// as in tests, do not collide). Gauges are computed at scrape time from the store: an ended
// experiment's label set simply stops being reported.

export interface DaemonUpSource {
  upStates(): { name: string; up: boolean }[];
}

export class ExporterMetrics {
  readonly registry = new Registry();
  readonly injections: Counter<'kind' | 'result'>;
  readonly injectionDuration: Histogram<'kind'>;
  readonly recoveries: Counter<'kind' | 'reason'>;
  readonly aborts: Counter<'reason'>;
  readonly events: Counter<'type'>;

  constructor(store: ExperimentStore, daemons: DaemonUpSource) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'faultline_experiments',
      help: 'Experiments in the store by namespace, fault kind and phase (schedules count as their own phase)',
      labelNames: ['namespace', 'kind', 'phase'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const r of store.countByPhase()) this.set({ namespace: r.namespace, kind: r.kind, phase: r.phase }, r.n);
      },
    });
    new Gauge({
      name: 'faultline_experiment_running',
      help: '1 while the experiment has its faults injected (phase Running); absent otherwise',
      labelNames: ['namespace', 'name', 'kind'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const r of store.running()) this.set({ namespace: r.namespace, name: r.name, kind: r.kind }, 1);
      },
    });
    new Gauge({
      name: 'faultline_daemon_up',
      help: '1 when the daemon answered its last health check, 0 otherwise',
      labelNames: ['daemon'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const d of daemons.upStates()) this.set({ daemon: d.name }, d.up ? 1 : 0);
      },
    });
    this.injections = new Counter({
      name: 'faultline_injections_total',
      help: 'Fault injections on one target by kind and result (success or failure)',
      labelNames: ['kind', 'result'],
      registers: [this.registry],
    });
    this.injectionDuration = new Histogram({
      name: 'faultline_injection_duration_seconds',
      help: 'Time from asking a daemon to inject a fault on one target to its answer, retries included',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    this.recoveries = new Counter({
      name: 'faultline_recoveries_total',
      help: 'Faults recovered on one target by kind and reason (duration, stopped, paused, aborted, deleted, shutdown, orphan, failed)',
      labelNames: ['kind', 'reason'],
      registers: [this.registry],
    });
    this.aborts = new Counter({
      name: 'faultline_aborts_total',
      help: 'Experiments aborted, by reason code (stop-all, shutdown, alert, promql, freeze, ...)',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.events = new Counter({
      name: 'faultline_events_total',
      help: 'Events recorded, by type',
      labelNames: ['type'],
      registers: [this.registry],
    });
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
