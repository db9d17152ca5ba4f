import { randomUUID } from 'node:crypto';
import { ApiError } from '../../api/errors';
import type { EventType } from '../../api/events';
import { API_VERSION, SCHEDULE_LABEL, type AbortedBy, type Experiment, type ExperimentInput, type StopAllResult, type TargetStatus } from '../../api/experiment';
import type { DaemonClient } from '../daemons';
import type { ExperimentFilter } from '../store/experiments';
import type { ResolvedTarget } from '../targets/types';
import { Leases } from './leases';
import { daemonUp, reconcile, sweepOrphans } from './reconcile';
import { nowIso, refOf, RunDriver, type EngineOptions, type Ending, type Run, type TransitionListener } from './run';
import { activeRunsOf, endSchedule, refreshSchedule, setSuspended } from './schedules';
import { refuseSelfTargeting } from './self';
import { validateInput } from './experiment-input';

// The lifecycle engine's public face: reads, create (validation, target resolution, pre-start hooks,
// the one-fault-of-a-kind check) and the actions (pause, resume, stop, abort, stop-all, delete), each
// naming its actor, which goes into the events. What a run does with the daemons is run.ts; its
// timers and leases leases.ts; restart reconciliation reconcile.ts; schedules' records schedules.ts.
// Phases: Pending → Injecting → Running ⇄ Paused → Recovering → Finished | Aborted | Failed.

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

export type { EngineOptions, TransitionListener } from './run';

export class Engine {
  readonly beforeStart: BeforeStartHook[] = [];
  readonly listeners: TransitionListener[] = [];
  /** Called when a scheduled run ends (the scheduler trims history). */
  onRunEnded?: (run: Experiment) => void;
  /** Set by the workflow engine: aborts every running workflow (stop-all, freeze). */
  onStopAll?: (actor: string, reason: string) => Promise<Ref[]>;
  /** Set by the safety layer: why no run may be injected now (a freeze), checked again after a restart. */
  holdReason?: () => string | undefined;
  /** Set by the scheduler: starts/stops cron for schedule experiments. */
  scheduler?: { add(e: Experiment): void; remove(uid: string): void; has(uid: string): boolean; nextRun(uid: string): Date | undefined };
  readonly driver: RunDriver;
  /** Bumped by every stop-all: a start that began before one does not survive it. */
  private stopEpoch = 0;
  private closing = false;

  constructor(readonly o: EngineOptions) {
    this.driver = new RunDriver(o, this);
    const leaseSeconds = this.driver.leaseSeconds;
    this.driver.leases = new Leases(this.driver, o.renewEveryMs ?? Math.max(200, (leaseSeconds * 1000) / 3));
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
    return this.driver.activeCount();
  }

  /** The active runs themselves, from memory (read-only: the guards look at them on every notification and resync). */
  activeRuns(): Experiment[] {
    return this.driver.activeRuns();
  }

  emit(e: Experiment, type: EventType, message: string, actor?: string, target?: string): void {
    this.driver.emit(e, type, message, actor, target);
  }

  faultId(e: Experiment, t: TargetStatus): string {
    return this.driver.faultId(e, t);
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
      return refreshSchedule(this, e);
    }
    e.status.targets = resolution.selected.map((t, i) => ({
      id: String(i),
      daemon: t.daemon,
      target: t.target as Record<string, unknown>,
      description: t.description,
      phase: 'Pending',
    }));
    await this.runHooks({ experiment: e, targets: resolution.selected, candidates: resolution.candidates, actor, trigger, active: this.driver.activeCount() });
    if (epoch !== this.stopEpoch) throw ApiError.conflict(`start of ${namespace}/${name} refused: a stop-all ran while it was being checked`, [{ field: '/', reason: 'stop-all ran meanwhile' }]);
    if (trigger === 'schedule') this.refuseEndedSchedule(namespace, name, input.metadata.labels?.[SCHEDULE_LABEL]);
    // checked here, with nothing awaited before the run is tracked: two starts cannot both pass
    this.driver.checkOverlap(e.metadata, e.spec.fault.kind, resolution.selected);
    if (!this.insert(e)) throw ApiError.conflict(`experiment ${namespace}/${name} already exists`, [{ field: '/metadata/name', reason: 'already exists' }]);
    this.emit(e, 'created', `created by ${actor}: ${e.spec.fault.kind} on ${e.status.targets.length} target(s) for ${e.spec.duration}`, actor);
    const run = this.driver.track(e);
    this.driver.enqueue(run, () => this.driver.inject(run, actor, false));
    return structuredClone(e);
  }

  /**
   * A tick resolves its targets and runs the start hooks before its run exists: a stop, delete or
   * suspension of the schedule meanwhile found no run to end, and the run then started after its
   * schedule was over. Checked with nothing awaited before the run is tracked, so whichever comes
   * second sees the other: this refusal, or endSchedule ending the tracked run.
   */
  private refuseEndedSchedule(namespace: string, name: string, schedule: string | undefined): void {
    const parent = schedule ? this.o.store.get(namespace, schedule) : undefined;
    if (parent?.spec.schedule && parent.status.phase === 'Pending' && this.scheduler?.has(parent.metadata.uid)) return;
    throw ApiError.conflict(`scheduled run ${namespace}/${name} not started: its schedule ${namespace}/${schedule ?? '?'} was stopped, suspended or deleted meanwhile`, [
      { field: '/metadata/labels', reason: 'its schedule is no longer ticking' },
    ]);
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

  private async runHooks(ctx: StartContext): Promise<void> {
    for (const hook of this.beforeStart) await hook(ctx);
  }

  // ---- actions -------------------------------------------------------------------------------

  async pause(ref: Ref, actor: string): Promise<Experiment> {
    const e = this.get(ref);
    if (e.spec.schedule) return setSuspended(this, e, true, actor);
    const run = this.driver.runs.get(e.metadata.uid);
    if (!run) throw ApiError.conflict(`experiment ${refOf(e)} is ${e.status.phase} and cannot be paused`, [{ field: '/status/phase', reason: `is ${e.status.phase}` }]);
    return this.driver.enqueue(run, async () => {
      const p = run.exp.status.phase;
      if (p === 'Paused') return;
      if (p !== 'Running' && p !== 'Injecting') {
        throw ApiError.conflict(`experiment ${refOf(run.exp)} is ${p} and cannot be paused`, [{ field: '/status/phase', reason: `is ${p}` }]);
      }
      this.driver.leases.stop(run);
      this.emit(run.exp, 'paused', `paused by ${actor}: recovering the faults`, actor);
      await this.driver.recoverTargets(run, 'paused');
      this.driver.setPhase(run, 'Paused');
    }).then(() => this.get(ref));
  }

  async resume(ref: Ref, actor: string): Promise<Experiment> {
    const e = this.get(ref);
    if (e.spec.schedule) return setSuspended(this, e, false, actor);
    const run = this.driver.runs.get(e.metadata.uid);
    if (!run) throw ApiError.conflict(`experiment ${refOf(e)} is ${e.status.phase} and cannot be resumed`, [{ field: '/status/phase', reason: `is ${e.status.phase}` }]);
    return this.driver.enqueue(run, async () => {
      const p = run.exp.status.phase;
      if (p === 'Running' || p === 'Injecting') return;
      if (p !== 'Paused') throw ApiError.conflict(`experiment ${refOf(run.exp)} is ${p} and cannot be resumed`, [{ field: '/status/phase', reason: `is ${p}` }]);
      this.checkStore(`resume of ${refOf(run.exp)}`);
      const targets = run.exp.status.targets.map((t) => ({ daemon: t.daemon, target: t.target, description: t.description }));
      await this.runHooks({ experiment: structuredClone(run.exp), targets, candidates: targets.length, actor, trigger: 'resume', active: this.driver.activeCount() - 1 });
      this.driver.checkOverlap(run.exp.metadata, run.exp.spec.fault.kind, targets);
      this.emit(run.exp, 'resumed', `resumed by ${actor}: injecting again`, actor);
      await this.driver.inject(run, actor, true);
    }).then(() => this.get(ref));
  }

  /** Ends the run normally (phase Finished, reason Stopped). A schedule stops ticking and its active runs stop. */
  async stop(ref: Ref, actor: string): Promise<Experiment> {
    const e = this.get(ref);
    if (e.spec.schedule) {
      await endSchedule(this, e, actor, { phase: 'Finished', reason: 'Stopped', message: `stopped by ${actor}`, recovery: 'stopped', actor });
      return this.get(ref);
    }
    await this.driver.end(e.metadata.uid, { phase: 'Finished', reason: 'Stopped', message: `stopped by ${actor}`, recovery: 'stopped', actor });
    return this.get(ref);
  }

  /**
   * Aborts (phase Aborted) with a human reason; `code` is the low-cardinality reason for
   * status.reason and faultline_aborts_total (e.g. alert, promql, freeze, stop-all). A no-op on ended runs.
   */
  async abort(ref: Ref, reason: string, actor: string, code = 'aborted', abortedBy?: AbortedBy): Promise<Experiment> {
    const run = await this.abortRun(ref, reason, actor, code, abortedBy);
    return run ? structuredClone(run.exp) : this.get(ref);
  }

  /**
   * abort() without the answer: for guards aborting many runs at once, where a copy of each ended run
   * nobody reads was a tenth of the exporter's work until every run was recorded Aborted. Returns the
   * tracked run it ended, if any.
   */
  async abortRun(ref: Ref, reason: string, actor: string, code = 'aborted', abortedBy?: AbortedBy): Promise<Run | undefined> {
    const ending: Ending = { phase: 'Aborted', reason: code, message: reason, recovery: 'aborted', actor, ...(abortedBy ? { abortedBy } : {}) };
    // a tracked run is ended from memory: no store read before its recovery is on its way
    const run = this.driver.runOf(ref.namespace, ref.name);
    if (run && !run.exp.spec.schedule) {
      await this.driver.end(run.exp.metadata.uid, ending);
      return run;
    }
    const e = this.get(ref);
    if (e.spec.schedule) await endSchedule(this, e, actor, ending);
    else await this.driver.end(e.metadata.uid, ending);
    return undefined;
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
      setSuspended(this, e, true, actor, reason);
      suspendedSchedules.push({ namespace: e.metadata.namespace, name: e.metadata.name });
    }
    const [stopped, abortedWorkflows] = await Promise.all([this.driver.abortRuns(actor, reason, code), this.onStopAll?.(actor, reason) ?? Promise.resolve([])]);
    const n = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
    return {
      stopped,
      suspendedSchedules,
      abortedWorkflows,
      message: `${n(stopped.length, 'experiment')} aborted, ${n(suspendedSchedules.length, 'schedule')} suspended (resume each to start it again), ${n(abortedWorkflows.length, 'workflow')} aborted`,
    };
  }

  async delete(ref: Ref, actor: string): Promise<Experiment> {
    const e = this.get(ref);
    if (e.spec.schedule) {
      await endSchedule(this, e, actor, { phase: 'Finished', reason: 'Deleted', message: `deleted by ${actor}`, recovery: 'deleted', actor });
      for (const r of this.o.store.list({ namespace: e.metadata.namespace, schedule: e.metadata.name })) {
        this.o.store.delete(r.metadata.uid);
      }
    } else if (this.driver.runs.has(e.metadata.uid)) {
      await this.driver.end(e.metadata.uid, { phase: 'Finished', reason: 'Deleted', message: `deleted by ${actor}`, recovery: 'deleted', actor });
    }
    const last = this.o.store.getByUid(e.metadata.uid) ?? e;
    this.o.store.delete(e.metadata.uid);
    this.emit(last, 'deleted', `deleted by ${actor}`, actor);
    return last;
  }

  // ---- schedules, restart, daemons coming back, shutdown ---------------------------------------

  /** Updates a schedule's status.schedule (next run, active runs) from the scheduler and the store. */
  refreshSchedule(e: Experiment): Experiment {
    return refreshSchedule(this, e);
  }

  /** Runs currently active for a schedule. */
  activeRunsOf(e: Experiment): Experiment[] {
    return activeRunsOf(this, e);
  }

  /** After a restart (also after kill -9): see reconcile.ts. */
  reconcile(): Promise<{ resumed: number; ended: number; orphans: number }> {
    return reconcile(this);
  }

  /** Deletes faults with this exporter's prefix that no active run owns. */
  sweepOrphans(only?: DaemonClient): Promise<number> {
    return sweepOrphans(this, only);
  }

  /** A daemon answers again: its Unreachable targets are posted again, then orphans are swept. */
  daemonUp(d: DaemonClient): Promise<void> {
    return daemonUp(this, d);
  }

  /**
   * Graceful stop: refuse new work; with `recover` abort every run (faults reverted), otherwise leave
   * them injected under their leases for the next start to pick up.
   */
  async shutdown(opts: { recover: boolean }): Promise<void> {
    this.closing = true;
    if (opts.recover) {
      await this.driver.abortRuns('system', 'the exporter shut down', 'shutdown'); // schedules stay as they are for the next start
    } else {
      for (const r of this.driver.runs.values()) {
        r.ac.abort(new Error('shutdown'));
        this.driver.leases.clear(r);
      }
      await Promise.all([...this.driver.runs.values()].map((r) => r.chain));
    }
    this.driver.leases.close();
  }
}
