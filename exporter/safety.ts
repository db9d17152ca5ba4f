import type { Database } from 'better-sqlite3';
import { ApiError, type ErrorDetail } from '../api/errors';
import type { Registry } from 'prom-client';
import { ACTIVE_PHASES, type AbortedBy, type Experiment, type ExperimentSpec } from '../api/experiment';
import type { StartContext, TransitionListener } from './engine/lifecycle';
import { Freeze } from './freeze';
import { AlertGuard, firedMessage, parseGuardSelectors, type Alert, type PlannedStop } from './guards/alerts';
import { registerSafetyMetrics } from './guards/safety-metrics';
import { PrometheusClient, PromqlGuards } from './guards/promql';
import { Policy } from './policy';

// Everything that keeps chaos safe, in one object the engine and routes call:
//   validateSpec  at create/apply: guard syntax, PromQL needs Prometheus, blast radius policy;
//   beforeStart   before every start, resume and scheduled run: freeze, firing guard alerts,
//                 concurrency limit, PromQL pre-flight (throws 409/503; a schedule records "skipped");
//   syncPromql    keeps PromQL evaluators in step with the experiments that are running;
//   alerts        the webhook handler; freeze the emergency freeze.

/** The experiment as the safety layer sees it. */
export interface SafetyExperiment {
  namespace: string;
  name: string;
  phase: string;
  spec: Pick<ExperimentSpec, 'guards' | 'duration' | 'targets'> & Partial<ExperimentSpec>;
}

/** What the safety layer needs from the engine. */
export interface SafetyEngine {
  /** Experiments in a non-terminal phase. */
  activeExperiments(): SafetyExperiment[] | Promise<SafetyExperiment[]>;
  /** `code` is the low-cardinality reason (alert, promql, freeze) for status.reason and metrics. */
  abort(ref: { namespace: string; name: string }, reason: string, actor: string, code: string, detail?: AbortedBy): Promise<unknown>;
  stopAll(actor: string, reason: string, code: string): Promise<unknown>;
  /** Records an event (frozen, unfrozen, guard-fired, ...). */
  emit(e: { type: string; message: string; actor?: string; namespace?: string; experiment?: string }): void;
}

export interface SafetyOptions {
  db: Database;
  engine: SafetyEngine;
  policy?: Policy;
  prometheusUrl?: string;
  promqlMaxFailures?: number;
  promqlOnFailure?: 'abort' | 'ignore';
  alertTtlMs?: number;
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

const RUNNING_PHASES = new Set(['Running', 'Injecting']);

export class Safety {
  readonly alerts: AlertGuard;
  readonly promql: PromqlGuards;
  readonly freeze: Freeze;
  readonly policy: Policy;

  constructor(private readonly opts: SafetyOptions) {
    const engine = opts.engine;
    this.policy = opts.policy ?? new Policy();
    this.freeze = new Freeze({
      db: opts.db,
      stopAll: (actor, reason) => engine.stopAll(actor, reason, 'freeze'),
      emit: (type, message, actor) => engine.emit({ type, message, actor }),
    });
    this.alerts = new AlertGuard({
      listExperiments: async () => (await engine.activeExperiments()).map((e) => ({ namespace: e.namespace, name: e.name, phase: e.phase, guards: e.spec.guards })),
      abort: (ref, reason, actor, detail) => engine.abort(ref, reason, actor, 'alert', detail),
      freeze: (reason, actor) => this.freeze.freeze({ reason }, actor),
      onFired: (alert: Alert, stops: PlannedStop[], actor: string) =>
        engine.emit({
          type: 'guard-fired',
          actor,
          message: firedMessage(alert, stops),
        }),
      ttlMs: opts.alertTtlMs,
      db: opts.db,
    });
    this.promql = new PromqlGuards({
      client: opts.prometheusUrl ? new PrometheusClient(opts.prometheusUrl) : null,
      maxFailures: opts.promqlMaxFailures,
      onFailure: opts.promqlOnFailure,
      abort: (ref, reason, actor) => engine.abort(ref, reason, actor, 'promql'),
      note: (ref, message) => engine.emit({ type: 'guard-fired', message, actor: 'promql-guard', namespace: ref.namespace, experiment: ref.name }),
      log: opts.log,
    });
  }

  /** Create/apply-time checks; throws 400 naming bad guard fields, 403 for policy. */
  validateSpec(namespace: string, spec: ExperimentSpec): void {
    const { errors } = parseGuardSelectors(spec.guards?.alerts);
    if (errors.length) {
      const details: ErrorDetail[] = errors.map((e) => ({ field: `/spec/guards/alerts/${e.index}`, reason: e.reason }));
      throw ApiError.invalid(`invalid request: /spec/guards/alerts/${errors[0].index} ${errors[0].reason}`, details);
    }
    this.promql.checkSpec(spec.guards?.promql);
    this.policy.checkSpec(namespace, spec);
  }

  /**
   * Before a start, resume or scheduled run. `what` names it in the 409
   * ("start of shop/x", "scheduled run of shop/x").
   */
  async beforeStart(exp: Omit<SafetyExperiment, 'phase'>, what = `start of ${exp.namespace}/${exp.name}`, active?: number): Promise<void> {
    this.freeze.checkStart(what);
    this.alerts.checkStart({ namespace: exp.namespace, name: exp.name, guards: exp.spec.guards });
    if (this.policy.rules.maxConcurrentExperiments !== undefined) {
      const others =
        active ?? (await this.opts.engine.activeExperiments()).filter((e) => !(e.namespace === exp.namespace && e.name === exp.name)).length;
      this.policy.checkConcurrency(others);
    }
    await this.promql.preflight({ namespace: exp.namespace, name: exp.name }, exp.spec.guards?.promql);
  }

  /** Watches PromQL guards of running experiments, and drops those of ended ones. */
  syncPromql(experiments: SafetyExperiment[]): void {
    const running = new Set<string>();
    for (const e of experiments) {
      if (!RUNNING_PHASES.has(e.phase) || !e.spec.guards?.promql?.length) continue;
      running.add(`${e.namespace}/${e.name}`);
      if (!this.promql.isWatching(e)) this.promql.watch(e, e.spec.guards.promql);
    }
    for (const ref of this.promql.watchedRefs()) if (!running.has(`${ref.namespace}/${ref.name}`)) this.promql.unwatch(ref);
  }

  /** Phase change of one experiment: start or stop evaluating its PromQL guards. */
  onTransition(e: SafetyExperiment): void {
    const ref = { namespace: e.namespace, name: e.name };
    if (RUNNING_PHASES.has(e.phase) && e.spec.guards?.promql?.length) {
      if (!this.promql.isWatching(ref)) this.promql.watch(ref, e.spec.guards.promql);
    } else if (this.promql.isWatching(ref)) {
      this.promql.unwatch(ref);
    }
  }

  /** For /api/v1/health. */
  health(): { frozen: ReturnType<Freeze['state']>; firingAlerts: number; promqlGuards: number; prometheus: string | null } {
    return {
      frozen: this.freeze.state(),
      firingAlerts: this.alerts.firing.size,
      promqlGuards: this.promql.watching,
      prometheus: this.opts.prometheusUrl ?? null,
    };
  }

  close(): void {
    this.promql.close();
    this.freeze.close();
  }
}

/** The engine seams the safety layer plugs into (exporter/engine/lifecycle.ts). */
export interface EngineSeams {
  list(f: { phase?: string }): Experiment[];
  /** Active runs (schedules excluded) from memory, read-only. */
  activeRuns?(): Experiment[];
  abort(ref: { namespace: string; name: string }, reason: string, actor: string, code?: string, detail?: AbortedBy): Promise<unknown>;
  /** abort() without building an answer (guards never read it); used when the engine has it. */
  abortRun?(ref: { namespace: string; name: string }, reason: string, actor: string, code?: string, detail?: AbortedBy): Promise<unknown>;
  stopAll(actor: string, reason?: string, code?: string): Promise<unknown>;
  beforeStart: ((ctx: StartContext) => void | Promise<void>)[];
  listeners: TransitionListener[];
  /** Why no run may be injected now; the engine asks again when it picks runs up after a restart. */
  holdReason?: () => string | undefined;
}

export interface AttachOptions extends Omit<SafetyOptions, 'engine'> {
  engine: EngineSeams;
  /** The event bus (frozen/unfrozen/guard-fired events without an experiment). */
  emit(e: { type: string; message: string; actor?: string; namespace?: string; experiment?: string }): void;
  /** The exporter's own prom-client registry: faultline_frozen and friends. */
  registry?: Registry;
  /** How often running experiments' PromQL guards are re-synced (after a restart, missed transitions). */
  resyncMs?: number;
}

function toSafety(e: Experiment): SafetyExperiment {
  return { namespace: e.metadata.namespace, name: e.metadata.name, phase: e.status.phase, spec: e.spec };
}

/**
 * Plugs the safety layer into the engine: a beforeStart hook (freeze, firing guard alerts, policy,
 * PromQL pre-flight; create, resume and scheduled runs alike), a transition listener (PromQL
 * evaluators follow Running), the safety gauges. Schedules themselves are never aborted by a
 * guard: their runs are, and new runs are refused while the guard fires.
 */
export function attachSafety(o: AttachOptions): Safety & { stopResync(): void } {
  // from the engine's memory when it can say (every alert notification and each resync asked the store,
  // which parsed every active experiment's document)
  const active = () => (o.engine.activeRuns ? o.engine.activeRuns() : o.engine.list({ phase: ACTIVE_PHASES.join(',') }).filter((e) => !e.spec.schedule)).map(toSafety);
  const safety = new Safety({
    ...o,
    engine: {
      activeExperiments: active,
      abort: (ref, reason, actor, code, detail) => (o.engine.abortRun ?? o.engine.abort).call(o.engine, ref, reason, actor, code, detail),
      stopAll: (actor, reason, code) => o.engine.stopAll(actor, reason, code),
      emit: o.emit,
    },
  }) as Safety & { stopResync(): void };
  o.engine.beforeStart.push(async (ctx) => {
    const e = ctx.experiment;
    const ref = `${e.metadata.namespace}/${e.metadata.name}`;
    const what = ctx.trigger === 'schedule' ? `scheduled run ${ref}` : ctx.trigger === 'resume' ? `resume of ${ref}` : `start of ${ref}`;
    safety.validateSpec(e.metadata.namespace, e.spec);
    safety.policy.checkTargets(ctx.targets.map((t) => ({ description: t.description, processName: t.processName })), ctx.candidates);
    await safety.beforeStart(toSafety(e), what, ctx.active);
  });
  o.engine.holdReason = () => {
    const f = safety.freeze.state();
    return f.frozen ? `chaos is frozen since ${f.since} by ${f.actor}: ${f.reason}` : undefined;
  };
  o.engine.listeners.push((e) => {
    if (!e.spec.schedule) safety.onTransition(toSafety(e));
  });
  if (o.registry) registerSafetyMetrics(o.registry, safety);
  safety.syncPromql(active());
  const timer = setInterval(() => safety.syncPromql(active()), o.resyncMs ?? 5000);
  timer.unref();
  const close = safety.close.bind(safety);
  safety.stopResync = () => clearInterval(timer);
  safety.close = () => {
    clearInterval(timer);
    close();
  };
  return safety;
}
