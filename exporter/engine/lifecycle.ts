import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { DaemonFaultRequest } from '../../api/daemon';
import { ApiError } from '../../api/errors';
import type { EventType } from '../../api/events';
import {
  API_VERSION,
  SCHEDULE_LABEL,
  TERMINAL_PHASES,
  type AbortedBy,
  type Experiment,
  type ExperimentInput,
  type Phase,
  type StopAllResult,
  type TargetStatus,
} from '../../api/experiment';
import { parseDuration } from '../../api/units';
import { DaemonError, withRetry, type DaemonClient, type DaemonRegistry, type RetryOptions } from '../daemons';
import type { EventBus } from '../events';
import type { ExporterMetrics } from '../metrics';
import type { ExperimentFilter, ExperimentStore } from '../store/experiments';
import type { ResolvedTarget, TargetResolver } from '../targets/types';
import { localTargetGone } from './gone';
import { occupancyKey } from './overlap';
import { refuseSelfTargeting } from './self';
import { validateInput } from './validate';

// The lifecycle engine: Pending → Injecting → Running ⇄ Paused → Recovering → Finished | Aborted | Failed,
// with a record per target. Each experiment's operations run one after another (a per-run chain);
// a stop cancels whatever injection is waiting on retries, so stopping never waits for a dead daemon.
// Every mutation names its actor, which goes into the events.

export interface Ref {
  namespace: string;
  name: string;
}

export type Trigger = 'create' | 'resume' | 'schedule';

export interface StartContext {
  experiment: Experiment;
  targets: ResolvedTarget[];
  /** How many targets matched before the mode picked its share. */
  candidates: number;
  actor: string;
  trigger: Trigger;
  /** Experiments active now (not counting this one). */
  active: number;
}

/** Runs before a run starts or resumes; throw an ApiError (409 for "not now") to refuse. */
export type BeforeStartHook = (ctx: StartContext) => void | Promise<void>;

/** Called after every phase change (guards watch Running experiments through this). */
export type TransitionListener = (e: Experiment, from: Phase | undefined) => void;

export interface EngineOptions {
  store: ExperimentStore;
  bus: EventBus;
  metrics: ExporterMetrics;
  daemons: DaemonRegistry;
  targets: TargetResolver;
  log: Logger;
  /** Stable per data dir: fault ids start with `fl-<instanceId>-`, so orphans can be recognised. */
  instanceId: string;
  leaseSeconds?: number;
  /** Default: a third of the lease. */
  renewEveryMs?: number;
  retry?: RetryOptions;
}

/** How an ended run is recorded: final phase, reason code (status.reason and metric label), recovery reason. */
interface Ending {
  phase: 'Finished' | 'Aborted' | 'Failed';
  reason: string;
  message: string;
  recovery: string;
  actor: string;
  /** a guard abort: the alert as fields (status.abortedBy) */
  abortedBy?: AbortedBy;
}

interface Run {
  exp: Experiment;
  chain: Promise<unknown>;
  /** Cancels in-flight injections (stop, pause, shutdown). */
  ac: AbortController;
  /** Set once the run is being ended: nothing may inject any more. */
  ending?: boolean;
  endTimer?: NodeJS.Timeout;
  /** Its injected targets' leases are renewed by the engine's one lease ticker. */
  leasing?: boolean;
}

const ENDING_CONDITION = 'Ending';
const DAEMON_UNREACHABLE = 'DaemonUnreachable';
const MAX_TIMER_MS = 2 ** 31 - 1;

const nowIso = () => new Date().toISOString();
const isTerminal = (p: Phase) => TERMINAL_PHASES.includes(p);
const refOf = (e: Experiment) => `${e.metadata.namespace}/${e.metadata.name}`;

export class Engine {
  readonly beforeStart: BeforeStartHook[] = [];
  readonly listeners: TransitionListener[] = [];
  /** Called when a scheduled run ends (the scheduler trims history). */
  onRunEnded?: (run: Experiment) => void;
  /** Set by the workflow engine: aborts every running workflow (stop-all, freeze). */
  onStopAll?: (actor: string, reason: string) => Promise<Ref[]>;
  /** Set by the safety layer: why no run may be injected now (a freeze), checked again after a restart. */
  holdReason?: () => string | undefined;
  /** Bumped by every stop-all: a start that began before one does not survive it. */
  private stopEpoch = 0;
  /** Set by the scheduler: starts/stops cron for schedule experiments. */
  scheduler?: { add(e: Experiment): void; remove(uid: string): void; nextRun(uid: string): Date | undefined };

  private readonly runs = new Map<string, Run>();
  private readonly leaseSeconds: number;
  private readonly renewEveryMs: number;
  /**
   * One timer renews the leases of every running experiment at once, so the renewals of one tick reach
   * each daemon as one `PUT /v1/leases` (DaemonClient batches the calls of one turn of the event loop):
   * a daemon with 1000 faults gets one request per tick instead of 1000 spread over the period.
   */
  private leaseTicker?: NodeJS.Timeout;
  private readonly retry: RetryOptions;
  private closing = false;

  constructor(readonly o: EngineOptions) {
    this.leaseSeconds = o.leaseSeconds ?? 30;
    this.renewEveryMs = o.renewEveryMs ?? Math.max(200, (this.leaseSeconds * 1000) / 3);
    this.retry = o.retry ?? { attempts: 5, baseMs: 250, maxMs: 4000 };
  }

  // ---- reads ---------------------------------------------------------------------------------

  get(ref: Ref): Experiment {
    const e = this.o.store.get(ref.namespace, ref.name);
    if (!e) throw ApiError.notFound(`experiment ${ref.namespace}/${ref.name} not found`);
    return e;
  }

  list(f: ExperimentFilter = {}): Experiment[] {
    return this.o.store.list(f);
  }

  /** Runs the engine drives now (phases Pending…Recovering, schedules excluded). */
  activeCount(): number {
    return [...this.runs.values()].filter((r) => !r.exp.spec.schedule).length;
  }

  // ---- create --------------------------------------------------------------------------------

  async create(body: unknown, actor: string): Promise<Experiment> {
    if (this.closing) throw new ApiError(503, 'unavailable', 'the exporter is shutting down');
    const input = validateInput(body);
    return this.createValidated(input, actor, 'create');
  }

  /** Creates from an already validated input (also used by the scheduler for each run). */
  async createValidated(input: ExperimentInput, actor: string, trigger: Trigger): Promise<Experiment> {
    const namespace = input.metadata.namespace ?? 'default';
    const name = input.metadata.name;
    this.checkStore(`${trigger === 'schedule' ? 'scheduled run' : 'start'} of ${namespace}/${name}`);
    const epoch = this.stopEpoch;
    if (this.o.store.get(namespace, name)) {
      throw ApiError.conflict(`experiment ${namespace}/${name} already exists`, [{ field: '/metadata/name', reason: `${name} already exists in namespace ${namespace}` }]);
    }
    // Resolve now even for a schedule, so a selector that matches nothing is refused at once.
    const resolution = await this.o.targets.resolve(namespace, input.spec);
    refuseSelfTargeting(input.spec, resolution.selected, this.o.daemons);
    const e: Experiment = {
      apiVersion: API_VERSION,
      kind: 'Experiment',
      metadata: {
        name,
        namespace,
        ...(input.metadata.labels ? { labels: input.metadata.labels } : {}),
        ...(input.metadata.annotations ? { annotations: input.metadata.annotations } : {}),
        uid: randomUUID(),
        creationTimestamp: nowIso(),
      },
      spec: input.spec,
      status: { phase: 'Pending', targets: [], conditions: [] },
    };
    if (input.spec.schedule) {
      e.status.schedule = { active: [] };
      e.status.conditions.push({ type: 'Scheduled', status: 'True', reason: 'Scheduled', message: `cron ${input.spec.schedule}`, lastTransitionTime: nowIso() });
      if (!this.insert(e)) throw ApiError.conflict(`experiment ${namespace}/${name} already exists`, [{ field: '/metadata/name', reason: 'already exists' }]);
      this.emit(e, 'created', `schedule ${input.spec.schedule} created by ${actor}`, actor);
      this.scheduler?.add(e);
      return this.refreshSchedule(e);
    }
    e.status.targets = resolution.selected.map((t, i) => ({
      id: String(i),
      daemon: t.daemon,
      target: t.target as Record<string, unknown>,
      description: t.description,
      phase: 'Pending',
    }));
    await this.runHooks({ experiment: e, targets: resolution.selected, candidates: resolution.candidates, actor, trigger, active: this.activeCount() });
    if (epoch !== this.stopEpoch) throw ApiError.conflict(`start of ${namespace}/${name} refused: a stop-all ran while it was being checked`, [{ field: '/', reason: 'stop-all ran meanwhile' }]);
    // checked here, with nothing awaited before the run is tracked: two starts cannot both pass
    this.checkOverlap(e.metadata, e.spec.fault.kind, resolution.selected);
    if (!this.insert(e)) throw ApiError.conflict(`experiment ${namespace}/${name} already exists`, [{ field: '/metadata/name', reason: 'already exists' }]);
    this.emit(e, 'created', `created by ${actor}: ${e.spec.fault.kind} on ${e.status.targets.length} target(s) for ${e.spec.duration}`, actor);
    const run = this.track(e);
    this.enqueue(run, () => this.inject(run, actor, false));
    return structuredClone(e);
  }

  /** Insert; a file that takes no writes refuses the new experiment (503) rather than running chaos nobody can record. */
  private insert(e: Experiment): boolean {
    try {
      return this.o.store.insert(e);
    } catch (err) {
      throw new ApiError(503, 'unavailable', `experiment ${refOf(e)} not started: the data store takes no writes (${(err as Error).message}); stopping chaos still works`);
    }
  }

  /** New chaos waits for a store that records it: 503 while degraded (stop, pause, delete, freeze all work meanwhile). */
  private checkStore(what: string): void {
    const h = this.o.store.health;
    if (h.degraded && !h.retry()) {
      throw new ApiError(503, 'unavailable', `${what} refused: the data store is degraded (${h.status().error ?? 'writes fail'}); stopping chaos still works`);
    }
  }

  /** 409 naming the experiment that holds one of these targets with the same (or a clashing) fault (engine/overlap.ts). */
  private checkOverlap(meta: { namespace: string; name: string; uid?: string }, kind: string, targets: { daemon: string; target: object; description: string }[]): void {
    const held = new Map<string, { exp: Experiment; description: string }>();
    for (const r of this.runs.values()) {
      const p = r.exp.status.phase;
      if (r.exp.metadata.uid === meta.uid || r.exp.spec.schedule || r.ending || isTerminal(p) || p === 'Paused') continue;
      for (const t of r.exp.status.targets) {
        if (t.phase === 'Failed' || t.phase === 'Recovered') continue;
        held.set(occupancyKey(t.daemon, r.exp.spec.fault.kind, t.target), { exp: r.exp, description: t.description });
      }
    }
    for (const t of targets) {
      const h = held.get(occupancyKey(t.daemon, kind, t.target as Record<string, unknown>));
      if (!h) continue;
      const holder = refOf(h.exp);
      throw ApiError.conflict(`${t.description} is held by experiment ${holder} (${h.exp.spec.fault.kind}, ${h.exp.status.phase}): one fault of a kind per target; stop ${holder} first`, [
        { field: '/spec/targets', reason: `${t.description} is held by experiment ${holder}` },
      ]);
    }
  }

  private async runHooks(ctx: StartContext): Promise<void> {
    for (const hook of this.beforeStart) await hook(ctx);
  }

  // ---- actions -------------------------------------------------------------------------------

  async pause(ref: Ref, actor: string): Promise<Experiment> {
    const e = this.get(ref);
    if (e.spec.schedule) return this.setSuspended(e, true, actor);
    const run = this.runs.get(e.metadata.uid);
    if (!run) throw ApiError.conflict(`experiment ${refOf(e)} is ${e.status.phase} and cannot be paused`, [{ field: '/status/phase', reason: `is ${e.status.phase}` }]);
    return this.enqueue(run, async () => {
      const p = run.exp.status.phase;
      if (p === 'Paused') return;
      if (p !== 'Running' && p !== 'Injecting') {
        throw ApiError.conflict(`experiment ${refOf(run.exp)} is ${p} and cannot be paused`, [{ field: '/status/phase', reason: `is ${p}` }]);
      }
      this.stopLeases(run);
      this.emit(run.exp, 'paused', `paused by ${actor}: recovering the faults`, actor);
      await this.recoverTargets(run, 'paused');
      this.setPhase(run, 'Paused');
    }).then(() => this.get(ref));
  }

  async resume(ref: Ref, actor: string): Promise<Experiment> {
    const e = this.get(ref);
    if (e.spec.schedule) return this.setSuspended(e, false, actor);
    const run = this.runs.get(e.metadata.uid);
    if (!run) throw ApiError.conflict(`experiment ${refOf(e)} is ${e.status.phase} and cannot be resumed`, [{ field: '/status/phase', reason: `is ${e.status.phase}` }]);
    return this.enqueue(run, async () => {
      const p = run.exp.status.phase;
      if (p === 'Running' || p === 'Injecting') return;
      if (p !== 'Paused') throw ApiError.conflict(`experiment ${refOf(run.exp)} is ${p} and cannot be resumed`, [{ field: '/status/phase', reason: `is ${p}` }]);
      this.checkStore(`resume of ${refOf(run.exp)}`);
      const targets = run.exp.status.targets.map((t) => ({ daemon: t.daemon, target: t.target, description: t.description }));
      await this.runHooks({ experiment: structuredClone(run.exp), targets, candidates: targets.length, actor, trigger: 'resume', active: this.activeCount() - 1 });
      this.checkOverlap(run.exp.metadata, run.exp.spec.fault.kind, targets);
      this.emit(run.exp, 'resumed', `resumed by ${actor}: injecting again`, actor);
      await this.inject(run, actor, true);
    }).then(() => this.get(ref));
  }

  /** Ends the run normally (phase Finished, reason Stopped). A schedule stops ticking and its active runs stop. */
  async stop(ref: Ref, actor: string): Promise<Experiment> {
    const e = this.get(ref);
    if (e.spec.schedule) {
      await this.endSchedule(e, actor, { phase: 'Finished', reason: 'Stopped', message: `stopped by ${actor}`, recovery: 'stopped', actor });
      return this.get(ref);
    }
    await this.end(e.metadata.uid, { phase: 'Finished', reason: 'Stopped', message: `stopped by ${actor}`, recovery: 'stopped', actor });
    return this.get(ref);
  }

  /**
   * Aborts (phase Aborted) with a human reason; `code` is the low-cardinality reason for
   * status.reason and faultline_aborts_total (e.g. alert, promql, freeze, stop-all). A no-op on ended runs.
   */
  async abort(ref: Ref, reason: string, actor: string, code = 'aborted', abortedBy?: AbortedBy): Promise<Experiment> {
    const e = this.get(ref);
    const ending: Ending = { phase: 'Aborted', reason: code, message: reason, recovery: 'aborted', actor, ...(abortedBy ? { abortedBy } : {}) };
    if (e.spec.schedule) await this.endSchedule(e, actor, ending);
    else await this.end(e.metadata.uid, ending);
    return this.get(ref);
  }

  /**
   * Stops all chaos: suspends every ticking schedule (phase Paused: nothing new starts), aborts every
   * active run (faults reverted) and every running workflow. A freeze does this and refuses starts.
   */
  async stopAll(actor: string, reason = `stop-all by ${actor}`, code = 'stop-all'): Promise<StopAllResult> {
    this.stopEpoch++;
    const suspendedSchedules: Ref[] = [];
    for (const e of this.o.store.list({ phase: 'Pending' })) {
      if (!e.spec.schedule) continue;
      this.setSuspended(e, true, actor, reason);
      suspendedSchedules.push({ namespace: e.metadata.namespace, name: e.metadata.name });
    }
    const [stopped, abortedWorkflows] = await Promise.all([this.abortRuns(actor, reason, code), this.onStopAll?.(actor, reason) ?? Promise.resolve([])]);
    const n = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
    return {
      stopped,
      suspendedSchedules,
      abortedWorkflows,
      message: `${n(stopped.length, 'experiment')} aborted, ${n(suspendedSchedules.length, 'schedule')} suspended (resume each to start it again), ${n(abortedWorkflows.length, 'workflow')} aborted`,
    };
  }

  /** Aborts every active run (not schedules); returns what it stopped. */
  private async abortRuns(actor: string, reason: string, code: string): Promise<Ref[]> {
    const runs = [...this.runs.values()].filter((r) => !r.exp.spec.schedule && !isTerminal(r.exp.status.phase));
    const refs = runs.map((r) => ({ namespace: r.exp.metadata.namespace, name: r.exp.metadata.name }));
    await Promise.all(runs.map((r) => this.end(r.exp.metadata.uid, { phase: 'Aborted', reason: code, message: reason, recovery: 'aborted', actor })));
    return refs;
  }

  async delete(ref: Ref, actor: string): Promise<Experiment> {
    const e = this.get(ref);
    if (e.spec.schedule) {
      await this.endSchedule(e, actor, { phase: 'Finished', reason: 'Deleted', message: `deleted by ${actor}`, recovery: 'deleted', actor });
      for (const r of this.o.store.list({ namespace: e.metadata.namespace, schedule: e.metadata.name })) {
        this.o.store.delete(r.metadata.uid);
      }
    } else if (this.runs.has(e.metadata.uid)) {
      await this.end(e.metadata.uid, { phase: 'Finished', reason: 'Deleted', message: `deleted by ${actor}`, recovery: 'deleted', actor });
    }
    const last = this.o.store.getByUid(e.metadata.uid) ?? e;
    this.o.store.delete(e.metadata.uid);
    this.emit(last, 'deleted', `deleted by ${actor}`, actor);
    return last;
  }

  // ---- the run driver ------------------------------------------------------------------------

  private track(e: Experiment): Run {
    const run: Run = { exp: e, chain: Promise.resolve(), ac: new AbortController() };
    this.runs.set(e.metadata.uid, run);
    return run;
  }

  /** Runs `fn` after the run's previous operations; errors reach the caller, not the chain. */
  private enqueue<T>(run: Run, fn: () => Promise<T>): Promise<T> {
    const next = run.chain.then(fn, fn);
    run.chain = next.catch(() => undefined);
    return next;
  }

  private save(run: Run): void {
    if (this.o.store.getByUid(run.exp.metadata.uid) === undefined && isTerminal(run.exp.status.phase)) return; // deleted meanwhile
    this.o.store.update(run.exp);
  }

  private setPhase(run: Run, phase: Phase, event?: { type: EventType; message: string; actor?: string }): void {
    const from = run.exp.status.phase;
    run.exp.status.phase = phase;
    this.save(run);
    if (event) this.emit(run.exp, event.type, event.message, event.actor);
    if (from !== phase) for (const l of this.listeners) l(structuredClone(run.exp), from);
  }

  emit(e: Experiment, type: EventType, message: string, actor?: string, target?: string): void {
    this.o.bus.emit({
      type,
      experiment: e.metadata.name,
      namespace: e.metadata.namespace,
      uid: e.metadata.uid,
      kind: e.spec.fault.kind,
      phase: e.status.phase,
      message,
      ...(target ? { target } : {}),
      ...(actor ? { actor } : {}),
    });
  }

  faultId(e: Experiment, t: TargetStatus): string {
    return `fl-${this.o.instanceId}-${e.metadata.uid.replace(/-/g, '').slice(0, 12)}-${t.id}`;
  }

  private daemon(t: TargetStatus): DaemonClient | undefined {
    return this.o.daemons.byName(t.daemon);
  }

  /** Injects every target not injected yet; Running when at least one is, Failed when none. */
  private async inject(run: Run, actor: string, resumed: boolean, recheck = false): Promise<void> {
    if (isTerminal(run.exp.status.phase) || run.ending) return;
    run.ac = new AbortController();
    const signal = run.ac.signal;
    if (!recheck) {
      this.setPhase(run, 'Injecting', { type: 'injecting', message: `injecting ${run.exp.spec.fault.kind} on ${run.exp.status.targets.length} target(s)`, actor });
    } else if (run.exp.status.phase !== 'Running') {
      this.setPhase(run, 'Injecting');
    }
    // After a restart every target is posted again: the daemon answers 200 for a fault it still holds.
    const todo = run.exp.status.targets.filter((t) => (recheck ? t.phase !== 'Failed' : t.phase !== 'Injected'));
    await Promise.all(todo.map((t) => this.injectTarget(run, t, signal)));
    if (signal.aborted || (run.exp.status.phase !== 'Injecting' && run.exp.status.phase !== 'Running')) return;
    const injected = run.exp.status.targets.filter((t) => t.phase === 'Injected');
    const failed = run.exp.status.targets.filter((t) => t.phase === 'Failed');
    const unreachable = run.exp.status.targets.filter((t) => t.phase === 'Unreachable');
    if (injected.length === 0 && unreachable.length > 0) {
      // after a restart with the daemon away: nothing is known to be reverted, so nothing is called Failed
      this.markUnreachable(run);
      this.armTimers(run);
      return;
    }
    if (injected.length === 0) {
      const why = failed.map((t) => `${t.description}: ${t.error}`).join('; ');
      await this.finish(run, { phase: 'Failed', reason: 'InjectFailed', message: `no target could be injected: ${why}`, recovery: 'failed', actor: 'system' });
      return;
    }
    const s = run.exp.status;
    if (!s.startedAt) {
      s.startedAt = injected.map((t) => t.injectedAt!).sort()[0];
      s.endsAt = new Date(Date.parse(s.startedAt) + parseDuration(run.exp.spec.duration)).toISOString();
    }
    s.conditions = s.conditions.filter((c) => c.type !== 'Degraded' && c.type !== DAEMON_UNREACHABLE);
    if (unreachable.length) this.markUnreachable(run);
    if (failed.length) {
      s.conditions.push({
        type: 'Degraded',
        status: 'True',
        reason: 'TargetsFailed',
        message: `${failed.length} of ${s.targets.length} targets failed: ${failed.map((t) => `${t.description}: ${t.error}`).join('; ')}`,
        lastTransitionTime: nowIso(),
      });
    }
    const msg = `${resumed ? 'running again' : 'running'}: ${injected.length} of ${s.targets.length} target(s) injected${failed.length ? `, ${failed.length} failed` : ''}, ends at ${s.endsAt}`;
    if (recheck && run.exp.status.phase === 'Running') this.save(run);
    else this.setPhase(run, 'Running', { type: 'running', message: msg, actor });
    this.armTimers(run);
  }

  private async injectTarget(run: Run, t: TargetStatus, signal: AbortSignal): Promise<void> {
    const kind = run.exp.spec.fault.kind;
    const d = this.daemon(t);
    const already = t.phase === 'Injected' || t.phase === 'Unreachable' ? t.injectedAt : undefined;
    t.phase = 'Injecting';
    delete t.error;
    const started = process.hrtime.bigint();
    if (!d) {
      this.targetFailed(run, t, `daemon ${t.daemon} is not configured on this exporter`);
      return;
    }
    const req: DaemonFaultRequest = {
      id: this.faultId(run.exp, t),
      kind,
      params: run.exp.spec.fault.params ?? {},
      ...(Object.keys(t.target).length ? { target: t.target } : {}),
      leaseSeconds: this.leaseSeconds,
    };
    let created = true;
    try {
      created = (await withRetry(() => d.createFault(req, signal), this.retry, signal, (err, attempt) => {
        this.o.daemons.observe(d, err.status !== undefined, err.message);
        this.o.log.warn({ experiment: refOf(run.exp), target: t.description, attempt, error: err.message }, 'inject failed, retrying');
      })).created;
    } catch (err) {
      if (signal.aborted) return;
      const e = err as DaemonError;
      if (e.status === undefined) this.o.daemons.observe(d, false, e.message);
      if (e.status === undefined && already) {
        // injected before (a restart, a lost lease) and the daemon does not answer: unknown, not failed
        t.phase = 'Unreachable';
        t.error = `daemon ${t.daemon} unreachable (${e.message}): the fault is presumably still applied under its lease; reconciled when the daemon answers`;
        this.save(run);
        return;
      }
      if (e.status === 409) e.message = this.nameHolder(e.message);
      this.o.metrics.injections.inc({ kind, result: 'failure' });
      this.targetFailed(run, t, e.status === undefined ? `${e.message} (gave up after ${this.retry.attempts} attempts)` : e.message);
      return;
    }
    this.o.daemons.observe(d, true);
    if (signal.aborted) return; // a stop came in meanwhile: its recovery deletes this fault
    t.phase = 'Injected';
    if (already && !created) {
      t.injectedAt = already; // still held by the daemon (exporter restart)
      this.save(run);
      return;
    }
    this.o.metrics.injections.inc({ kind, result: 'success' });
    this.o.metrics.injectionDuration.observe({ kind }, Number(process.hrtime.bigint() - started) / 1e9);
    t.injectedAt = nowIso();
    delete t.recoveredAt;
    this.save(run);
    this.emit(run.exp, 'injected', `injected on ${t.description}`, undefined, t.description);
  }

  /** Condition DaemonUnreachable on a run whose targets' daemon does not answer (phase unchanged). */
  private markUnreachable(run: Run): void {
    const s = run.exp.status;
    const lost = s.targets.filter((t) => t.phase === 'Unreachable');
    s.conditions = s.conditions.filter((c) => c.type !== DAEMON_UNREACHABLE);
    if (lost.length === 0) return this.save(run);
    const daemons = [...new Set(lost.map((t) => t.daemon))].join(', ');
    s.conditions.push({ type: DAEMON_UNREACHABLE, status: 'True', reason: 'Reconciling', message: `${lost.length} of ${s.targets.length} target(s) on ${daemons}: the daemon does not answer; reconciled when it does`, lastTransitionTime: nowIso() });
    this.save(run);
    this.emit(run.exp, 'injecting', `daemon ${daemons} unreachable: ${lost.length} target(s) kept as they were (Unreachable), reconciled when it answers`, 'system');
  }

  /** A daemon answers again: its Unreachable targets are posted again (200 when it still holds them), then orphans are swept. */
  async daemonUp(d: DaemonClient): Promise<void> {
    const chains: Promise<unknown>[] = [];
    for (const run of this.runs.values()) {
      if (!run.exp.status.targets.some((t) => t.phase === 'Unreachable' && t.daemon === d.name)) continue;
      chains.push(
        this.enqueue(run, async () => {
          if (run.ending || isTerminal(run.exp.status.phase)) return;
          for (const t of run.exp.status.targets) if (t.phase === 'Unreachable' && t.daemon === d.name) await this.injectTarget(run, t, run.ac.signal);
          this.markUnreachable(run);
          if (run.exp.status.targets.every((t) => t.phase === 'Failed')) {
            await this.finish(run, { phase: 'Failed', reason: 'InjectFailed', message: 'no target could be injected after the daemon came back', recovery: 'failed', actor: 'system' });
          }
        }).catch(() => undefined),
      );
    }
    await Promise.all(chains);
    await this.sweepOrphans(d);
  }

  /**
   * Targets that exited during the fault: phase Gone with an event each, the daemon's record of the
   * fault dropped (nothing is left to revert there). A run with no live target left ends (Finished, TargetsGone).
   */
  private async targetsGone(run: Run, gone: [TargetStatus, string][]): Promise<void> {
    if (run.ending || run.exp.status.phase !== 'Running') return;
    for (const [t, why] of gone) {
      if (t.phase !== 'Injected') continue;
      t.phase = 'Gone';
      t.error = `${why} during the fault`;
      t.recoveredAt = nowIso();
      this.save(run);
      this.emit(run.exp, 'target-gone', `${t.description}: ${why} during the fault; nothing left to revert there`, 'system', t.description);
      const d = this.daemon(t);
      if (d) void d.deleteFault(this.faultId(run.exp, t)).catch(() => undefined);
    }
    if (run.exp.status.targets.every((t) => t.phase === 'Gone' || t.phase === 'Failed')) {
      await this.finish(run, { phase: 'Finished', reason: 'TargetsGone', message: 'every target exited during the fault', recovery: 'gone', actor: 'system' });
    }
  }

  /** Names the experiment behind a fault id in a daemon's 409 ("held by fault fl-…"). */
  private nameHolder(message: string): string {
    const m = /fl-[0-9a-f]+-([0-9a-f]{12})-\d+/.exec(message);
    if (!m) return message;
    const holder = [...this.runs.values()].find((r) => r.exp.metadata.uid.replace(/-/g, '').startsWith(m[1]));
    return holder ? `${message} (fault ${m[0]} is experiment ${refOf(holder.exp)})` : message;
  }

  private targetFailed(run: Run, t: TargetStatus, error: string): void {
    t.phase = 'Failed';
    t.error = error;
    this.save(run);
    this.emit(run.exp, 'inject-failed', `injection on ${t.description} failed: ${error}`, undefined, t.description);
  }

  /** Deletes every target's fault (404 = already gone). Failed injections are deleted too, silently, in case they half-happened. */
  private async recoverTargets(run: Run, reason: string): Promise<void> {
    const kind = run.exp.spec.fault.kind;
    await Promise.all(
      run.exp.status.targets.map(async (t) => {
        if (t.phase === 'Recovered' || t.phase === 'Pending') return;
        const d = this.daemon(t);
        const wasInjected = t.phase !== 'Failed' && t.phase !== 'Gone';
        if (!d) return;
        if (wasInjected) t.phase = 'Recovering';
        try {
          await withRetry(() => d.deleteFault(this.faultId(run.exp, t)), this.retry, undefined, (err) => this.o.daemons.observe(d, err.status !== undefined, err.message));
        } catch (err) {
          if (!wasInjected) return;
          t.phase = 'Failed';
          t.error = `recover failed: ${(err as Error).message}; the daemon reverts it when its lease (${this.leaseSeconds}s) runs out`;
          this.save(run);
          this.o.metrics.recoveries.inc({ kind, reason: 'failed' });
          this.emit(run.exp, 'recover-failed', `recovering ${t.description} failed: ${(err as Error).message}`, undefined, t.description);
          return;
        }
        if (!wasInjected) return;
        t.phase = 'Recovered';
        t.recoveredAt = nowIso();
        this.save(run);
        this.o.metrics.recoveries.inc({ kind, reason });
        this.emit(run.exp, 'recovered', `recovered on ${t.description} (${reason})`, undefined, t.description);
      }),
    );
  }

  /** Ends a run from any active phase: cancels injections, recovers every target, records the end. */
  private async end(uid: string, ending: Ending): Promise<void> {
    const run = this.runs.get(uid);
    if (!run) return;
    run.ending = true;
    run.ac.abort(new Error(ending.message)); // do not wait for an injection stuck on retries
    await this.enqueue(run, () => this.finish(run, ending));
  }

  private async finish(run: Run, ending: Ending): Promise<void> {
    if (isTerminal(run.exp.status.phase)) return;
    this.clearTimers(run);
    const s = run.exp.status;
    s.reason = ending.reason;
    s.message = ending.message;
    if (ending.abortedBy) s.abortedBy = ending.abortedBy;
    s.conditions = s.conditions.filter((c) => c.type !== ENDING_CONDITION);
    s.conditions.push({ type: ENDING_CONDITION, status: 'True', reason: ending.phase, message: ending.recovery, lastTransitionTime: nowIso() });
    this.setPhase(run, 'Recovering', { type: 'recovering', message: `recovering: ${ending.message}`, actor: ending.actor });
    await this.recoverTargets(run, ending.recovery);
    s.endedAt = nowIso();
    if (ending.phase === 'Aborted') this.o.metrics.aborts.inc({ reason: ending.reason });
    const type: EventType = ending.phase === 'Finished' ? 'finished' : ending.phase === 'Aborted' ? 'aborted' : 'failed';
    const recovered = s.targets.filter((t) => t.phase === 'Recovered').length;
    this.setPhase(run, ending.phase, { type, message: `${ending.phase.toLowerCase()}: ${ending.message} (${recovered} target(s) recovered)`, actor: ending.actor });
    this.runs.delete(run.exp.metadata.uid);
    if (run.exp.metadata.labels?.[SCHEDULE_LABEL]) this.onRunEnded?.(structuredClone(run.exp));
  }

  // ---- timers: duration and leases -----------------------------------------------------------

  private armTimers(run: Run): void {
    this.clearTimers(run);
    const endsAt = run.exp.status.endsAt ? Date.parse(run.exp.status.endsAt) : Date.now();
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, endsAt - Date.now()));
    run.endTimer = setTimeout(() => {
      if (Date.parse(run.exp.status.endsAt ?? '') > Date.now() + 5) return this.armTimers(run); // a clamped long wait
      void this.end(run.exp.metadata.uid, { phase: 'Finished', reason: 'DurationElapsed', message: `duration ${run.exp.spec.duration} elapsed`, recovery: 'duration', actor: 'system' });
    }, wait);
    run.leasing = true;
    if (!this.leaseTicker && !this.closing) {
      this.leaseTicker = setInterval(() => {
        for (const r of this.runs.values()) if (r.leasing) void this.renewLeases(r);
      }, this.renewEveryMs);
      this.leaseTicker.unref();
    }
  }

  private stopLeases(run: Run): void {
    run.leasing = false;
  }

  private clearTimers(run: Run): void {
    if (run.endTimer) clearTimeout(run.endTimer);
    run.endTimer = undefined;
    this.stopLeases(run);
  }

  /** Renews each injected target's lease; a fault the daemon lost (404: restarted or expired) is injected again. */
  private async renewLeases(run: Run): Promise<void> {
    if (run.exp.status.phase !== 'Running') return;
    const lost: TargetStatus[] = [];
    const gone: [TargetStatus, string][] = [];
    await Promise.all(
      run.exp.status.targets
        .filter((t) => t.phase === 'Injected')
        .map(async (t) => {
          const d = this.daemon(t);
          if (!d) return;
          const why = localTargetGone(t.target, d.base);
          if (why) return gone.push([t, why]);
          try {
            const f = await d.renewLease(this.faultId(run.exp, t), this.leaseSeconds);
            this.o.daemons.observe(d, true);
            // the daemon sees every target process it pinned: all of them gone = nothing left to fault
            const exited = f.processesGone ?? [];
            if (exited.length && f.processes?.length && exited.length >= f.processes.length) {
              gone.push([t, exited.length === 1 ? `process ${exited[0]} exited` : `processes ${exited.join(', ')} exited`]);
            }
          } catch (err) {
            const e = err as DaemonError;
            if (e.status === 404) lost.push(t);
            else if (e.status === undefined) this.o.daemons.observe(d, false, e.message);
            else this.o.log.warn({ experiment: refOf(run.exp), target: t.description, error: e.message }, 'lease renewal refused');
          }
        }),
    );
    if (gone.length) await this.enqueue(run, () => this.targetsGone(run, gone));
    if (lost.length === 0) return;
    await this.enqueue(run, async () => {
      if (run.exp.status.phase !== 'Running') return;
      const signal = run.ac.signal;
      for (const t of lost) {
        if (t.phase !== 'Injected') continue;
        this.emit(run.exp, 'injecting', `the daemon lost the fault on ${t.description} (restarted or lease expired): injecting again`, 'system', t.description);
        await this.injectTarget(run, t, signal);
      }
    });
  }

  // ---- schedules -----------------------------------------------------------------------------

  private setSuspended(e: Experiment, suspend: boolean, actor: string, why?: string): Experiment {
    const p = e.status.phase;
    if (isTerminal(p)) throw ApiError.conflict(`schedule ${refOf(e)} is ${p}`, [{ field: '/status/phase', reason: `is ${p}` }]);
    const target: Phase = suspend ? 'Paused' : 'Pending';
    if (p === target) return e;
    const hold = suspend ? undefined : this.holdReason?.();
    if (hold) throw ApiError.conflict(`resume of schedule ${refOf(e)} refused: ${hold}`, [{ field: '/', reason: 'chaos is frozen' }]);
    const from = e.status.phase;
    e.status.phase = target;
    this.o.store.update(e);
    this.emit(e, suspend ? 'paused' : 'resumed', suspend ? `schedule suspended by ${actor}${why ? `: ${why}` : ''}` : `schedule resumed by ${actor}`, actor);
    for (const l of this.listeners) l(structuredClone(e), from);
    return this.refreshSchedule(e);
  }

  private async endSchedule(e: Experiment, actor: string, ending: Ending): Promise<void> {
    this.scheduler?.remove(e.metadata.uid);
    const runs = this.o.store.list({ namespace: e.metadata.namespace, schedule: e.metadata.name }).filter((r) => this.runs.has(r.metadata.uid));
    await Promise.all(runs.map((r) => this.end(r.metadata.uid, ending)));
    const cur = this.o.store.getByUid(e.metadata.uid);
    if (!cur || isTerminal(cur.status.phase)) return;
    const from = cur.status.phase;
    cur.status.phase = ending.phase;
    cur.status.reason = ending.reason;
    cur.status.message = ending.message;
    cur.status.endedAt = nowIso();
    if (cur.status.schedule) delete cur.status.schedule.nextRunAt;
    this.o.store.update(cur);
    this.emit(cur, ending.phase === 'Finished' ? 'finished' : 'aborted', `schedule ended: ${ending.message}`, actor);
    for (const l of this.listeners) l(structuredClone(cur), from);
  }

  /** Updates a schedule's status.schedule (next run, active runs) from the scheduler and the store. */
  refreshSchedule(e: Experiment): Experiment {
    const cur = this.o.store.getByUid(e.metadata.uid);
    if (!cur || !cur.spec.schedule) return e;
    const runs = this.o.store.list({ namespace: cur.metadata.namespace, schedule: cur.metadata.name });
    const next = cur.status.phase === 'Pending' ? this.scheduler?.nextRun(cur.metadata.uid) : undefined;
    const prev = cur.status.schedule ?? { active: [] };
    cur.status.schedule = {
      ...prev,
      active: runs.filter((r) => !isTerminal(r.status.phase)).map((r) => r.metadata.name),
      ...(next ? { nextRunAt: next.toISOString() } : {}),
    };
    if (!next) delete cur.status.schedule.nextRunAt;
    this.o.store.update(cur);
    return cur;
  }

  /** Runs currently active for a schedule. */
  activeRunsOf(e: Experiment): Experiment[] {
    return [...this.runs.values()].filter((r) => r.exp.metadata.namespace === e.metadata.namespace && r.exp.metadata.labels?.[SCHEDULE_LABEL] === e.metadata.name).map((r) => r.exp);
  }

  // ---- restart and shutdown ------------------------------------------------------------------

  /**
   * After a restart (also after kill -9): picks every active experiment up again with its end time.
   * Running ones are injected again with their fault ids (the daemon answers 200 for a fault it still
   * holds), Paused ones are made sure to be recovered, half-ended ones are ended. Then faults on the
   * daemons with this exporter's prefix that no run owns are deleted.
   */
  async reconcile(): Promise<{ resumed: number; ended: number; orphans: number }> {
    let resumed = 0;
    let ended = 0;
    for (const e of this.o.store.listActive()) {
      if (e.spec.schedule) {
        if (e.status.phase === 'Pending') this.scheduler?.add(e);
        this.refreshSchedule(e);
        continue;
      }
      const run = this.track(e);
      const p = e.status.phase;
      const ending = e.status.conditions.find((c) => c.type === ENDING_CONDITION);
      if (p === 'Recovering' && ending) {
        ended++;
        const phase = ending.reason as Ending['phase'];
        void this.enqueue(run, () => this.finish(run, { phase, reason: e.status.reason ?? phase, message: e.status.message ?? 'ended', recovery: ending.message ?? 'stopped', actor: 'system' }));
      } else if (e.status.endsAt && Date.parse(e.status.endsAt) <= Date.now()) {
        ended++;
        void this.end(e.metadata.uid, { phase: 'Finished', reason: 'DurationElapsed', message: `duration ${e.spec.duration} elapsed while the exporter was down`, recovery: 'duration', actor: 'system' });
      } else if (this.holdReason?.()) {
        // frozen while the exporter was down (or the freeze was not recorded before it went): nothing comes back
        ended++;
        void this.end(e.metadata.uid, { phase: 'Aborted', reason: 'freeze', message: `not resumed after the restart: ${this.holdReason()}`, recovery: 'aborted', actor: 'system' });
      } else if (p === 'Paused') {
        void this.enqueue(run, () => this.recoverTargets(run, 'paused'));
      } else {
        resumed++;
        this.emit(e, 'injecting', `exporter restarted: reconciling ${p} experiment with the daemons`, 'system');
        void this.enqueue(run, () => this.inject(run, 'system', true, true));
      }
    }
    // Wait for the re-injections so orphan detection sees their fault ids as owned.
    await Promise.all([...this.runs.values()].map((r) => r.chain));
    const orphans = await this.sweepOrphans();
    return { resumed, ended, orphans };
  }

  /** Deletes faults with this exporter's prefix that no active run owns. */
  async sweepOrphans(only?: DaemonClient): Promise<number> {
    const owned = new Set<string>();
    for (const r of this.runs.values()) {
      if (r.exp.status.phase === 'Paused') continue;
      for (const t of r.exp.status.targets) owned.add(`${t.daemon}/${this.faultId(r.exp, t)}`);
    }
    const prefix = `fl-${this.o.instanceId}-`;
    let n = 0;
    for (const d of only ? [only] : this.o.daemons.clients) {
      let faults;
      try {
        faults = await d.listFaults();
      } catch {
        continue; // unreachable: swept when it comes back
      }
      for (const f of faults) {
        if (!f.id.startsWith(prefix) || owned.has(`${d.name}/${f.id}`)) continue;
        try {
          await d.deleteFault(f.id);
          n++;
          this.o.metrics.recoveries.inc({ kind: f.kind, reason: 'orphan' });
          this.o.bus.emit({ type: 'recovered', kind: f.kind, target: d.name, message: `removed fault ${f.id} (${f.kind}) on ${d.name}: no experiment owns it`, actor: 'system' });
        } catch (err) {
          this.o.log.warn({ daemon: d.name, fault: f.id, error: (err as Error).message }, 'could not remove orphan fault');
        }
      }
    }
    return n;
  }

  /**
   * Graceful stop: refuse new work; with `recover` abort every run (faults reverted), otherwise leave
   * them injected under their leases for the next start to pick up.
   */
  async shutdown(opts: { recover: boolean }): Promise<void> {
    this.closing = true;
    if (opts.recover) {
      await this.abortRuns('system', 'the exporter shut down', 'shutdown'); // schedules stay as they are for the next start
    } else {
      for (const r of this.runs.values()) {
        r.ac.abort(new Error('shutdown'));
        this.clearTimers(r);
      }
      await Promise.all([...this.runs.values()].map((r) => r.chain));
    }
    for (const r of this.runs.values()) this.clearTimers(r);
    if (this.leaseTicker) clearInterval(this.leaseTicker);
    this.leaseTicker = undefined;
  }
}
