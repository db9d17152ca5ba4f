import { randomBytes } from 'node:crypto';
import type express from 'express';
import pino, { type Logger } from 'pino';
import { authenticate } from './auth/middleware';
import { TokenSet } from './auth/tokens';
import { PrometheusClient } from './guards/promql';
import { WorkflowEngine } from './workflows/engine';
import { WorkflowStore } from './workflows/store';
import type { Policy } from './policy';
import { attachSafety, type Safety } from './safety';
import { attachPeerResolution } from './targets/peers';
import { DaemonRegistry, type DaemonConfig } from './daemons';
import { Engine } from './engine/lifecycle';
import { Scheduler } from './engine/schedules';
import { EventBus } from './event-bus';
import { ExporterMetrics } from './exporter-metrics';
import { appOf } from './routes/router';
import type { Route } from './routes/route';
import { routeTable } from './routes/table';
import { metaGet, metaSet, openDatabase, type DB } from './store/db';
import { groupCommit } from './store/group-commit';
import { EventStore } from './store/event-log';
import { ExperimentStore } from './store/experiments';
import { LocalTargets } from './targets/local';
import type { TargetResolver } from './targets/types';
import type { RetryOptions } from './daemons';

// Wires the exporter's parts together without listening: store, event bus, metrics, daemon
// registry, target resolution, engine, scheduler and the express app.

export interface ExporterOptions {
  dataDir: string;
  daemons: DaemonConfig[];
  logger?: Logger;
  version?: string;
  /** Replaces local-mode target resolution (e.g. Kubernetes). */
  targets?: (daemons: DaemonRegistry) => TargetResolver;
  leaseSeconds?: number;
  renewEveryMs?: number;
  /** How often running experiments' peer selectors are resolved again (exporter/targets/peers.ts). */
  peerRefreshMs?: number;
  retry?: RetryOptions;
  healthIntervalMs?: number;
  requestTimeoutMs?: number;
  heartbeatMs?: number;
  sseMaxBufferedBytes?: number;
  /** API tokens (--tokens-file / FAULTLINE_TOKENS); none: anonymous on loopback only. */
  tokens?: TokenSet;
  /** Safety: blast radius policy, PromQL guards' Prometheus, alert registry ttl. */
  policy?: Policy;
  prometheusUrl?: string;
  promqlMaxFailures?: number;
  promqlOnFailure?: 'abort' | 'ignore';
  alertTtlMs?: number;
}

export interface Exporter {
  db: DB;
  experiments: ExperimentStore;
  events: EventStore;
  bus: EventBus;
  metrics: ExporterMetrics;
  daemons: DaemonRegistry;
  targets: TargetResolver;
  engine: Engine;
  scheduler: Scheduler;
  /** Alert guards, PromQL guards, freeze, policy (exporter/safety.ts). */
  safety: Safety;
  /** Workflows: serial/parallel steps of experiments, suspends and checks (exporter/workflows/). */
  workflows: WorkflowEngine;
  /** Every route (exporter/routes/table.ts): what `app` serves and /api/v1/openapi.json describes. */
  routes: Route[];
  app: express.Express;
  log: Logger;
  instanceId: string;
  /** Stops resolving running experiments' peer selectors again (exporter/targets/peers.ts). */
  stopPeerRefresh(): void;
}

export function createExporter(o: ExporterOptions): Exporter {
  const log = o.logger ?? pino({ name: 'faultline-exporter' });
  const db = openDatabase(o.dataDir);
  let instanceId = metaGet(db, 'instance_id');
  if (!instanceId) {
    instanceId = randomBytes(3).toString('hex');
    metaSet(db, 'instance_id', instanceId);
  }
  const experiments = new ExperimentStore(db);
  const events = new EventStore(db);
  // The bus needs the metrics and the metrics need the registry: wire through late-bound refs.
  const holder: { metrics?: ExporterMetrics; engine?: Engine } = {};
  const bus = new EventBus(events, {
    log,
    heartbeatMs: o.heartbeatMs,
    maxBufferedBytes: o.sseMaxBufferedBytes,
    onEvent: (e) => holder.metrics?.events.inc({ type: e.type }),
  });
  const daemons = new DaemonRegistry(o.daemons, {
    log,
    healthIntervalMs: o.healthIntervalMs,
    requestTimeoutMs: o.requestTimeoutMs,
    // a run's Recovering is durable before its recover request leaves (an exporter killed in between
    // ends the run at its next start instead of injecting it again)
    beforeSend: () => groupCommit(db).commit(),
    onChange: (d, up, error) => {
      bus.emit({ type: up ? 'daemon-up' : 'daemon-down', target: d.name, message: up ? `daemon ${d.name} (${d.base}) is reachable again` : `daemon ${d.name} (${d.base}) unreachable: ${error ?? 'no answer'}`, actor: 'system' });
      if (up) void holder.engine?.daemonUp(d);
    },
  });
  const metrics = new ExporterMetrics(experiments, daemons);
  holder.metrics = metrics;
  const targets = o.targets ? o.targets(daemons) : new LocalTargets(daemons);
  const engine = new Engine({
    store: experiments,
    bus,
    metrics,
    daemons,
    targets,
    log,
    instanceId,
    leaseSeconds: o.leaseSeconds,
    renewEveryMs: o.renewEveryMs,
    retry: o.retry,
  });
  holder.engine = engine;
  const stopPeerRefresh = attachPeerResolution(engine, targets, daemons, log, o.peerRefreshMs);
  const scheduler = new Scheduler(engine, experiments, log);
  const version = o.version ?? '0.0.0';
  const safety = attachSafety({
    db,
    engine,
    emit: (e) => bus.emit(e),
    registry: metrics.registry,
    policy: o.policy,
    prometheusUrl: o.prometheusUrl,
    promqlMaxFailures: o.promqlMaxFailures,
    promqlOnFailure: o.promqlOnFailure,
    alertTtlMs: o.alertTtlMs,
    log,
  });
  const prometheus = o.prometheusUrl ? new PrometheusClient(o.prometheusUrl) : null;
  const workflows = new WorkflowEngine({ store: new WorkflowStore(db), engine, bus, prometheus, log });
  const routes = routeTable({
    engine,
    bus,
    events,
    daemons,
    targets,
    metrics,
    version,
    safety,
    workflows,
    prometheus,
    healthExtra: () => {
      const h = safety.health();
      return { freeze: h.frozen, store: experiments.health.status(), guards: { firingAlerts: h.firingAlerts, promqlGuards: h.promqlGuards, prometheus: h.prometheus } };
    },
  });
  const app = appOf({ routes, authenticate: authenticate({ tokens: o.tokens ?? TokenSet.empty() }), log });
  return { db, experiments, events, bus, metrics, daemons, targets, engine, scheduler, safety, workflows, routes, app, log, instanceId, stopPeerRefresh };
}
