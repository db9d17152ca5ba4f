import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ExperimentStore } from './store/experiments';

// The exporter's own registry (never prom-client's global one, so two exporters in one process,
// as in tests, do not collide). Gauges are computed at scrape time from the store: an ended
// experiment's label set simply stops being reported.

export interface DaemonUpSource {
  upStates(): { name: string; up: boolean }[];
}

type GaugeValues<T extends string> = Awaited<ReturnType<Gauge<T>['get']>>['values'];

/**
 * A gauge whose series are the rows of a store query at scrape time. The rows go to the registry as
 * they are: with thousands of series (one per running experiment), Gauge.set's per-series label
 * validation and hashing in collect() cost more than the query and the text output together.
 */
class StoreGauge<T extends string> extends Gauge<T> {
  constructor(
    cfg: { name: string; help: string; labelNames: readonly T[]; registers: Registry[] },
    private readonly rows: () => GaugeValues<T>,
  ) {
    super(cfg);
  }

  override async get(): ReturnType<Gauge<T>['get']> {
    const m = await super.get();
    m.values = this.rows();
    return m;
  }
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
    new StoreGauge(
      {
        name: 'faultline_experiments',
        help: 'Experiments in the store by namespace, fault kind and phase (schedules count as their own phase)',
        labelNames: ['namespace', 'kind', 'phase'],
        registers: [this.registry],
      },
      () => store.countByPhase().map((r) => ({ labels: { namespace: r.namespace, kind: r.kind, phase: r.phase }, value: r.n })),
    );
    new StoreGauge(
      {
        name: 'faultline_experiment_running',
        help: '1 while the experiment has its faults injected (phase Running); absent otherwise',
        labelNames: ['namespace', 'name', 'kind'],
        registers: [this.registry],
      },
      () => store.running().map((r) => ({ labels: { namespace: r.namespace, name: r.name, kind: r.kind }, value: 1 })),
    );
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
