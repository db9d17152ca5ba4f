import { Gauge, type Registry } from 'prom-client';
import type { Safety } from '../safety';

// Safety gauges, computed at scrape time from the safety layer's state.
export function registerSafetyMetrics(registry: Registry, safety: Safety): void {
  new Gauge({
    name: 'faultline_frozen',
    help: '1 while chaos is frozen (emergency freeze), else 0',
    registers: [registry],
    collect() {
      this.set(safety.freeze.frozen ? 1 : 0);
    },
  });
  new Gauge({
    name: 'faultline_guard_alerts_firing',
    help: 'alerts reported firing by Alertmanager or Grafana webhooks and not yet resolved',
    registers: [registry],
    collect() {
      this.set(safety.alerts.firing.size);
    },
  });
  new Gauge({
    name: 'faultline_promql_guards_watching',
    help: 'running experiments whose PromQL guards are being evaluated',
    registers: [registry],
    collect() {
      this.set(safety.promql.watching);
    },
  });
}
