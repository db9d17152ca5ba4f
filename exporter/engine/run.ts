import type { Logger } from 'pino';
import type { DaemonFaultRequest } from '../../api/daemon';
import { ApiError } from '../../api/errors';
import type { EventType } from '../../api/events';
import { SCHEDULE_LABEL, TERMINAL_PHASES, type AbortedBy, type Experiment, type Phase, type TargetStatus } from '../../api/experiment';
import { parseDuration } from '../../api/units';
import { DaemonError, withRetry, type DaemonClient, type DaemonRegistry, type RetryOptions } from '../daemons';
import type { EventBus } from '../event-bus';
import type { ExporterMetrics } from '../exporter-metrics';
import type { ExperimentStore } from '../store/experiments';
import type { TargetResolver } from '../targets/types';
import type { Leases } from './leases';
import { occupancyClass, occupancyKey } from './overlap';

// The run driver: one tracked run per active experiment, its operations one after another (a per-run
// chain), and what a run does with the daemons: inject every target, record each answer, recover every
// target, end. A stop cancels whatever injection is waiting on retries, so stopping never waits for a
// dead daemon. The public actions (create, pause, stop, ...) are in lifecycle.ts; lease renewal in
// leases.ts; picking runs up after a restart in reconcile.ts.

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

/**
 * Called after every phase change (guards watch Running experiments through this). `e` is the live
 * run: read it during the call, never write it, and copy what is kept.
 */
export type TransitionListener = (e: Readonly<Experiment>, from: Phase | undefined) => void;

/** How an ended run is recorded: final phase, reason code (status.reason and metric label), recovery reason. */
export interface Ending {
  phase: 'Finished' | 'Aborted' | 'Failed';
  reason: string;
  message: string;
  recovery: string;
  actor: string;
  /** a guard abort: the alert as fields (status.abortedBy) */
  abortedBy?: AbortedBy;
}

export interface Run {
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

/** What the driver tells the rest of the exporter. */
export interface RunHooks {
  readonly listeners: TransitionListener[];
  /** Called when a scheduled run ends (the scheduler trims history). */
  onRunEnded?: (run: Experiment) => void;
}

export const ENDING_CONDITION = 'Ending';
const DAEMON_UNREACHABLE = 'DaemonUnreachable';

export const nowIso = () => new Date().toISOString();
export const isTerminal = (p: Phase) => TERMINAL_PHASES.includes(p);
export const refOf = (e: Experiment) => `${e.metadata.namespace}/${e.metadata.name}`;
const daemonsOf = (run: Run) => new Set(run.exp.status.targets.map((t) => t.daemon));

export class RunDriver {
  readonly runs = new Map<string, Run>();
  private readonly byRef = new Map<string, Run>();
  /**
   * Tracked runs by the daemons their targets are on (a run's targets are fixed before it is tracked): a
   * create's overlap check reads the runs on the daemons it asks for, not every run. It read all of them,
   * so creating a fleet's experiments cost O(runs²): ~0.4 ms a create at 1000 runs, ~4 ms at 10 000.
   */
  private readonly byDaemon = new Map<string, Set<Run>>();
  /** Tracked runs that are not schedules (activeCount, asked at every create). */
  private unscheduled = 0;
  readonly leaseSeconds: number;
  readonly retry: RetryOptions;
  /** Set by the engine right after construction (the two call each other). */
  leases!: Leases;

  constructor(
    readonly o: EngineOptions,
    private readonly hooks: RunHooks,
  ) {
    this.leaseSeconds = o.leaseSeconds ?? 30;
    this.retry = o.retry ?? { attempts: 5, baseMs: 250, maxMs: 4000 };
  }

  track(e: Experiment): Run {
    const old = this.runs.get(e.metadata.uid);
    if (old) this.untrack(old);
    const run: Run = { exp: e, chain: Promise.resolve(), ac: new AbortController() };
    this.runs.set(e.metadata.uid, run);
    this.byRef.set(refOf(e), run);
    for (const d of daemonsOf(run)) {
      let set = this.byDaemon.get(d);
      if (!set) this.byDaemon.set(d, (set = new Set()));
      set.add(run);
    }
    if (!e.spec.schedule) this.unscheduled++;
    return run;
  }

  private untrack(run: Run): void {
    if (this.runs.get(run.exp.metadata.uid) !== run) return;
    this.runs.delete(run.exp.metadata.uid);
    if (this.byRef.get(refOf(run.exp)) === run) this.byRef.delete(refOf(run.exp));
    for (const d of daemonsOf(run)) {
      const set = this.byDaemon.get(d);
      set?.delete(run);
      if (set?.size === 0) this.byDaemon.delete(d);
    }
    if (!run.exp.spec.schedule) this.unscheduled--;
  }

  /** The tracked run of namespace/name, without reading the store (an alert aborting a fleet looks up each). */
  runOf(namespace: string, name: string): Run | undefined {
    return this.byRef.get(`${namespace}/${name}`);
  }

  /** Runs `fn` after the run's previous operations; errors reach the caller, not the chain. */
  enqueue<T>(run: Run, fn: () => Promise<T>): Promise<T> {
    const next = run.chain.then(fn, fn);
    run.chain = next.catch(() => undefined);
    return next;
  }

  save(run: Run): void {
    // a run deleted meanwhile is not written back (the store is read only for an ended run: every save
    // reading and parsing the whole document cost more than the write)
    if (isTerminal(run.exp.status.phase) && !this.o.store.has(run.exp.metadata.uid)) return;
    this.o.store.update(run.exp);
  }

  setPhase(run: Run, phase: Phase, event?: { type: EventType; message: string; actor?: string }): void {
    const from = run.exp.status.phase;
    run.exp.status.phase = phase;
    this.save(run);
    this.announcePhase(run, from, event);
  }

  /** The half of setPhase after the store write: the event, and the transition listeners. */
  announcePhase(run: Run, from: Phase, event?: { type: EventType; message: string; actor?: string }): void {
    const phase = run.exp.status.phase;
    if (event) this.emit(run.exp, event.type, event.message, event.actor);
    if (from === phase || this.hooks.listeners.length === 0) return;
    // Listeners read the run during the call (guards follow Running) and copy what they keep (a
    // workflow step's result): a copy per transition for every listener was a third of the
    // exporter's work between an alert's abort and its first recover request.
    for (const l of this.hooks.listeners) l(run.exp, from);
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

  daemon(t: TargetStatus): DaemonClient | undefined {
    return this.o.daemons.byName(t.daemon);
  }

  /** Injects every target not injected yet; Running when at least one is, Failed when none. */
  async inject(run: Run, actor: string, resumed: boolean, recheck = false): Promise<void> {
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
      this.leases.arm(run);
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
    this.leases.arm(run);
  }

  async injectTarget(run: Run, t: TargetStatus, signal: AbortSignal): Promise<void> {
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
  markUnreachable(run: Run): void {
    const s = run.exp.status;
    const lost = s.targets.filter((t) => t.phase === 'Unreachable');
    s.conditions = s.conditions.filter((c) => c.type !== DAEMON_UNREACHABLE);
    if (lost.length === 0) return this.save(run);
    const daemons = [...new Set(lost.map((t) => t.daemon))].join(', ');
    s.conditions.push({ type: DAEMON_UNREACHABLE, status: 'True', reason: 'Reconciling', message: `${lost.length} of ${s.targets.length} target(s) on ${daemons}: the daemon does not answer; reconciled when it does`, lastTransitionTime: nowIso() });
    this.save(run);
    this.emit(run.exp, 'injecting', `daemon ${daemons} unreachable: ${lost.length} target(s) kept as they were (Unreachable), reconciled when it answers`, 'system');
  }

  /**
   * Targets that exited during the fault: phase Gone with an event each, the daemon's record of the
   * fault dropped (nothing is left to revert there). A run with no live target left ends (Finished, TargetsGone).
   */
  async targetsGone(run: Run, gone: [TargetStatus, string][]): Promise<void> {
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

  /**
   * Deletes every target's fault (404 = already gone). Failed injections are deleted too, silently, in
   * case they half-happened. The requests are queued before the first await (each daemon's batch leaves
   * at the next turn of the event loop); their answers are recorded once `announced` settles, so a
   * caller that announces the run's Recovering phase after the requests left keeps its events in order.
   */
  async recoverTargets(run: Run, reason: string, announced: Promise<unknown> = Promise.resolve()): Promise<void> {
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
          await announced;
        } catch (err) {
          await announced;
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
  async end(uid: string, ending: Ending): Promise<void> {
    const run = this.runs.get(uid);
    if (!run) return;
    run.ending = true;
    run.ac.abort(new Error(ending.message)); // do not wait for an injection stuck on retries
    await this.enqueue(run, () => this.finish(run, ending));
  }

  async finish(run: Run, ending: Ending): Promise<void> {
    if (isTerminal(run.exp.status.phase)) return;
    this.leases.clear(run);
    const s = run.exp.status;
    s.reason = ending.reason;
    s.message = ending.message;
    if (ending.abortedBy) s.abortedBy = ending.abortedBy;
    s.conditions = s.conditions.filter((c) => c.type !== ENDING_CONDITION);
    s.conditions.push({ type: ENDING_CONDITION, status: 'True', reason: ending.phase, message: ending.recovery, lastTransitionTime: nowIso() });
    // The Recovering phase is saved before the requests are queued: the store's group commit then runs
    // before each daemon's batch leaves (store/group-commit.ts), so an exporter killed in between ends
    // the run at its next start instead of injecting it again. Announcing it (the event, and the
    // transition listeners) waits for the next turn of the event loop, after the batches left: an
    // alert aborting 1000 runs spent ~130 ms of exporter CPU on those before its first request went
    // out (profiled: 51 ms of event-log inserts alone), a delay that grows with the number of runs.
    // The targets' answers are recorded after the announcement, so events keep their order.
    const from = s.phase;
    s.phase = 'Recovering';
    this.save(run);
    // Settles with a listener's error, if any, which reaches the caller once the faults are reverted.
    // Order matters: the requests are queued (and with them each daemon's batch) before the
    // announcement's setImmediate, so the batches leave first.
    let settleAnnounced!: (failed: { err: unknown } | undefined) => void;
    const announced = new Promise<{ err: unknown } | undefined>((resolve) => (settleAnnounced = resolve));
    const recovering = this.recoverTargets(run, ending.recovery, announced);
    setImmediate(() => {
      try {
        this.announcePhase(run, from, { type: 'recovering', message: `recovering: ${ending.message}`, actor: ending.actor });
        settleAnnounced(undefined);
      } catch (err) {
        settleAnnounced({ err });
      }
    });
    await recovering;
    const announceFailed = await announced;
    if (announceFailed) throw announceFailed.err;
    s.endedAt = nowIso();
    if (ending.phase === 'Aborted') this.o.metrics.aborts.inc({ reason: ending.reason });
    const type: EventType = ending.phase === 'Finished' ? 'finished' : ending.phase === 'Aborted' ? 'aborted' : 'failed';
    const recovered = s.targets.filter((t) => t.phase === 'Recovered').length;
    this.setPhase(run, ending.phase, { type, message: `${ending.phase.toLowerCase()}: ${ending.message} (${recovered} target(s) recovered)`, actor: ending.actor });
    this.untrack(run);
    if (run.exp.metadata.labels?.[SCHEDULE_LABEL]) this.hooks.onRunEnded?.(structuredClone(run.exp));
  }

  /** Aborts every active run (not schedules); returns what it stopped. */
  async abortRuns(actor: string, reason: string, code: string): Promise<{ namespace: string; name: string }[]> {
    const runs = [...this.runs.values()].filter((r) => !r.exp.spec.schedule && !isTerminal(r.exp.status.phase));
    const refs = runs.map((r) => ({ namespace: r.exp.metadata.namespace, name: r.exp.metadata.name }));
    await Promise.all(runs.map((r) => this.end(r.exp.metadata.uid, { phase: 'Aborted', reason: code, message: reason, recovery: 'aborted', actor })));
    return refs;
  }

  /** 409 naming the experiment that holds one of these targets with the same (or a clashing) fault (engine/overlap.ts). */
  checkOverlap(meta: { namespace: string; name: string; uid?: string }, kind: string, targets: { daemon: string; target: object; description: string }[]): void {
    if (targets.length === 0) return;
    // Keys are built only for running targets that could clash (same kernel object class, a daemon
    // asked for): a fleet create built one for every target of every run, O(runs) JSON per create.
    const cls = occupancyClass(kind);
    const daemons = new Set(targets.map((t) => t.daemon));
    const wanted = new Map(targets.map((t) => [occupancyKey(t.daemon, kind, t.target as Record<string, unknown>), t] as const));
    const candidates = new Set<Run>();
    for (const d of daemons) for (const r of this.byDaemon.get(d) ?? []) candidates.add(r);
    for (const r of candidates) {
      const p = r.exp.status.phase;
      if (r.exp.metadata.uid === meta.uid || r.exp.spec.schedule || r.ending || isTerminal(p) || p === 'Paused') continue;
      if (occupancyClass(r.exp.spec.fault.kind) !== cls) continue;
      for (const t of r.exp.status.targets) {
        if (t.phase === 'Failed' || t.phase === 'Recovered' || !daemons.has(t.daemon)) continue;
        const mine = wanted.get(occupancyKey(t.daemon, r.exp.spec.fault.kind, t.target));
        if (!mine) continue;
        const holder = refOf(r.exp);
        throw ApiError.conflict(`${mine.description} is held by experiment ${holder} (${r.exp.spec.fault.kind}, ${p}): one fault of a kind per target; stop ${holder} first`, [
          { field: '/spec/targets', reason: `${mine.description} is held by experiment ${holder}` },
        ]);
      }
    }
  }

  /** Runs the engine drives now (phases Pending…Recovering), schedules excluded (read-only). */
  activeRuns(): Experiment[] {
    return [...this.runs.values()].filter((r) => !r.exp.spec.schedule).map((r) => r.exp);
  }

  /** activeRuns().length without building the list (asked at every create). */
  activeCount(): number {
    return this.unscheduled;
  }
}
