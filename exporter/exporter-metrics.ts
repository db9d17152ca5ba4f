import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from '../server-common/process-metrics';
import type { ExperimentStore } from './store/experiments';

// The exporter's own registry (never prom-client's global one, so two exporters in one process,
// as in tests, do not collide). Gauges are computed at scrape time from the store: an ended
// experiment's label set simply stops being reported.

export interface DaemonUpSource {
  upStates(): { name: string; up: boolean }[];
}

/** Escapes as prom-client's registry does (help text: backslash and newline; label values: also quotes). */
const escapeHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (s: string) => escapeHelp(s).replace(/"/g, '\\"');

/**
 * A gauge whose series are the rows of a store query at scrape time: label values in labelNames
 * order, and the value. With thousands of series (one per running experiment), Gauge.set's
 * per-series validation and hashing in collect(), and then the registry's generic per-series
 * formatting, cost more than the query: text() writes the same exposition lines directly, and get()
 * (the registry's path, for anyone who asks it) hands over the rows without hashing them.
 */
class StoreGauge<T extends string> extends Gauge<T> {
  constructor(
    private readonly cfg: { name: string; help: string; labelNames: readonly T[]; registers: Registry[] },
    private readonly rows: () => [labels: string[], value: number][],
  ) {
    super(cfg);
  }

  override async get(): ReturnType<Gauge<T>['get']> {
    const m = await super.get();
    const names = this.cfg.labelNames;
    m.values = this.rows().map(([labels, value]) => ({ labels: Object.fromEntries(names.map((n, i) => [n, labels[i]])) as Partial<Record<T, string>>, value }));
    return m;
  }

  /** This gauge's block of the text format, byte for byte what the registry writes from get(). */
  text(): string {
    const { name, help, labelNames } = this.cfg;
    const lines = [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} gauge`];
    for (const [labels, value] of this.rows()) {
      lines.push(`${name}{${labelNames.map((n, i) => `${n}="${escapeLabel(labels[i])}"`).join(',')}} ${value}`);
    }
    return lines.join('\n');
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
    collectProcessMetrics(this.registry);
    new StoreGauge(
      {
        name: 'faultline_experiments',
        help: 'Experiments in the store by namespace, fault kind and phase (schedules count as their own phase)',
        labelNames: ['namespace', 'kind', 'phase'],
        registers: [this.registry],
      },
      () => store.countByPhase().map((r) => [[r.namespace, r.kind, r.phase], r.n]),
    );
    new StoreGauge(
      {
        name: 'faultline_experiment_running',
        help: '1 while the experiment has its faults injected (phase Running); absent otherwise',
        labelNames: ['namespace', 'name', 'kind'],
        registers: [this.registry],
      },
      () => store.running().map((r) => [[r.namespace, r.name, r.kind], 1]),
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
    // The store (store/health.ts): whether writes fail, what waits in memory, the file's size.
    const health = store.health;
    new Gauge({
      name: 'faultline_store_degraded',
      help: '1 while the database file takes no writes (disk full, I/O error): stopping chaos works, new chaos is refused',
      registers: [this.registry],
      collect() {
        this.set(health.degraded ? 1 : 0);
      },
    });
    new Gauge({
      name: 'faultline_store_pending_writes',
      help: 'Records (experiments, events, the freeze) kept in memory until the database file takes writes again',
      registers: [this.registry],
      collect() {
        this.set(health.pending());
      },
    });
    new Counter({
      name: 'faultline_store_write_failures_total',
      help: 'Writes the database file refused (each is kept in memory and retried)',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(health.failures);
      },
    });
    new Gauge({
      name: 'faultline_store_bytes',
      help: 'Size of the database file and its write-ahead log, bytes (bounded by --retention and --max-events)',
      registers: [this.registry],
      collect() {
        this.set(health.bytes());
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

  /**
   * The text format: what registry.metrics() returns (same order, same separators), with the store
   * gauges written by their text(). Metrics other parts register here (guards) come out as usual.
   */
  async metrics(): Promise<string> {
    if (this.registry.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) return this.registry.metrics();
    const blocks = await Promise.all(
      this.registry.getMetricsAsArray().map((m) => (m instanceof StoreGauge ? m.text() : this.registry.getSingleMetricAsString(m.name))),
    );
    return `${blocks.join('\n\n')}\n`;
  }
}
