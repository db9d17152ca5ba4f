import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ApiError } from '../../api/errors';
import type { Experiment } from '../../api/experiment';
import { SCHEDULE_LABEL, TERMINAL_PHASES } from '../../api/experiment';
import { parseDuration } from '../../api/units';
import type { Step, StepPhase, StepStatus, Workflow, WorkflowPhase } from '../../api/workflow';
import type { Engine } from '../engine/lifecycle';
import { sleep } from '../daemons';
import type { EventBus } from '../event-bus';
import type { PrometheusClient } from '../guards/promql';
import type { WorkflowStore } from './store';
import { runCheck } from './check';
import { experimentName, validateWorkflow } from './validate';

export { experimentName } from './validate';

// Runs workflows: serial and parallel groups of experiment, suspend and check steps. Experiments are
// created through the experiment engine (so guards, freeze and policy apply to every step), and a
// workflow that fails, is aborted or runs past a deadline stops whatever of it still runs.
// A scheduled step (an experiment with spec.schedule) creates the schedule, lets it tick for the
// step's deadline, then stops it as a user's stop would (its active run ended, faults reverted); a run
// of it that ends Failed or Aborted ends the schedule at once and fails the step. Aborting the
// workflow (also stop-all, freeze, shutdown, a restart) aborts the schedule: nothing is left ticking.

type Ref = { namespace: string; name: string };

/** What a scheduled step hears of its schedule's runs (keyed `<namespace>/<schedule>`). */
interface RunWatch {
  seen: Set<string>;
  onRun(run: Readonly<Experiment>): void;
}

/** Why a step (and so its workflow) ended badly. */
class StepEnd extends Error {
  constructor(readonly phase: 'Failed' | 'Aborted', message: string) {
    super(message);
  }
}

const nowIso = () => new Date().toISOString();
const TERMINAL: readonly string[] = ['Succeeded', 'Failed', 'Aborted'];

/** A child signal that is aborted with its parent, or after `ms` with a deadline StepEnd. */
function childSignal(parent: AbortSignal, ms?: number, what = 'step'): { ctrl: AbortController; done(): void } {
  const ctrl = new AbortController();
  const onParent = () => ctrl.abort(parent.reason);
  if (parent.aborted) ctrl.abort(parent.reason);
  else parent.addEventListener('abort', onParent, { once: true });
  const timer = ms !== undefined ? setTimeout(() => ctrl.abort(new StepEnd('Failed', `${what} deadline of ${ms / 1000}s exceeded`)), ms) : undefined;
  return {
    ctrl,
    done: () => {
      if (timer) clearTimeout(timer);
      parent.removeEventListener('abort', onParent);
    },
  };
}

export interface WorkflowEngineOptions {
  store: WorkflowStore;
  engine: Engine;
  bus: EventBus;
  prometheus: PrometheusClient | null;
  log: Logger;
}

export class WorkflowEngine {
  private readonly running = new Map<string, AbortController>();
  /** The workflow of each running uid (stop-all names them). */
  private readonly runningRefs = new Map<string, Ref>();
  private readonly waiters = new Map<string, (e: Experiment) => void>();

  private readonly runWatches = new Map<string, RunWatch>();

  constructor(private readonly o: WorkflowEngineOptions) {
    o.engine.listeners.push((e) => {
      if (TERMINAL_PHASES.includes(e.status.phase)) this.waiters.get(e.metadata.uid)?.(structuredClone(e) as Experiment); // kept as the step's result
      this.scheduledRun(e);
    });
    o.engine.onStopAll = (actor, reason) => this.abortAll(reason, actor);
  }

  /** Aborts every running workflow (stop-all, freeze); returns them. */
  async abortAll(reason: string, actor: string): Promise<Ref[]> {
    const refs = [...this.runningRefs.values()];
    await Promise.all(refs.map((ref) => this.abort(ref, reason, actor).catch(() => undefined)));
    return refs;
  }

  get(ref: Ref): Workflow {
    const w = this.o.store.get(ref.namespace, ref.name);
    if (!w) throw ApiError.notFound(`workflow ${ref.namespace}/${ref.name} not found`);
    return w;
  }

  list(f: { namespace?: string; phase?: string } = {}): Workflow[] {
    return this.o.store.list(f);
  }

  /** Validates everything (each experiment step as the experiment it will become) before storing or starting anything. */
  create(body: unknown, actor: string): Workflow {
    const { input, namespace, name, steps } = validateWorkflow(body, this.o.prometheus !== null);
    if (this.o.store.get(namespace, name)) {
      throw ApiError.conflict(`workflow ${namespace}/${name} already exists`, [{ field: '/metadata/name', reason: `${name} already exists in namespace ${namespace}` }]);
    }
    const w: Workflow = {
      apiVersion: 'faultline.dev/v1alpha1',
      kind: 'Workflow',
      metadata: { name, namespace, uid: randomUUID(), creationTimestamp: nowIso(), ...(input.metadata.labels ? { labels: input.metadata.labels } : {}) },
      spec: input.spec,
      status: { phase: 'Pending', steps },
    };
    if (!this.o.store.insert(w)) throw ApiError.conflict(`workflow ${namespace}/${name} already exists`, [{ field: '/metadata/name', reason: 'already exists' }]);
    this.emit(w, 'workflow-created', `created by ${actor}: ${steps.length} step(s)`, actor);
    void this.run(w, actor);
    return structuredClone(w);
  }

  async abort(ref: Ref, reason: string, actor: string): Promise<Workflow> {
    const w = this.get(ref);
    const ctrl = this.running.get(w.metadata.uid);
    if (ctrl) {
      const ended = this.waitEnd(w.metadata.uid);
      ctrl.abort(new StepEnd('Aborted', `${reason} (by ${actor})`));
      await ended;
    }
    return this.get(ref);
  }

  async delete(ref: Ref, actor: string): Promise<Workflow> {
    const w = await this.abort(ref, 'deleted', actor);
    this.o.store.remove(w.metadata.uid);
    this.emit(w, 'workflow-deleted', `deleted by ${actor}`, actor);
    return w;
  }

  /**
   * After a restart a workflow cannot pick up its in-memory progress: it is aborted cleanly, and its
   * running experiments with it. A scheduled step's schedule is aborted too (the experiment engine's own
   * reconcile put its cron back), with whatever run of it is active.
   */
  async reconcile(): Promise<number> {
    let n = 0;
    for (const w of this.o.store.list()) {
      if (TERMINAL.includes(w.status.phase)) continue;
      n++;
      for (const s of w.status.steps) {
        if (s.experiment && s.phase === 'Running') {
          const ref = { namespace: w.metadata.namespace, name: s.experiment };
          await this.o.engine.abort(ref, 'its workflow was aborted by an exporter restart', 'faultline', 'workflow').catch(() => undefined);
        }
        if (!TERMINAL.includes(s.phase) && s.phase !== 'Skipped') s.phase = s.phase === 'Running' ? 'Aborted' : 'Skipped';
      }
      this.finish(w, 'Aborted', 'ExporterRestarted', 'the exporter restarted while the workflow ran; its running steps were stopped', 'faultline');
    }
    return n;
  }

  async close(): Promise<void> {
    await Promise.all([...this.running.keys()].map((uid) => {
      const ended = this.waitEnd(uid);
      this.running.get(uid)?.abort(new StepEnd('Aborted', 'the exporter is shutting down'));
      return ended;
    }));
  }

  // ---- running -------------------------------------------------------------------------------

  private readonly ends = new Map<string, (() => void)[]>();

  private waitEnd(uid: string): Promise<void> {
    if (!this.running.has(uid)) return Promise.resolve();
    return new Promise((resolve) => this.ends.set(uid, [...(this.ends.get(uid) ?? []), resolve]));
  }

  private async run(w: Workflow, actor: string): Promise<void> {
    const root = new AbortController();
    this.running.set(w.metadata.uid, root);
    this.runningRefs.set(w.metadata.uid, { namespace: w.metadata.namespace, name: w.metadata.name });
    const deadline = w.spec.deadline ? parseDuration(w.spec.deadline) : undefined;
    const scope = childSignal(root.signal, deadline, 'workflow');
    w.status.phase = 'Running';
    w.status.startedAt = nowIso();
    this.save(w);
    this.emit(w, 'workflow-started', `started by ${actor}`, actor);
    try {
      await this.serial(w, w.spec.steps, '', scope.ctrl.signal, actor);
      this.finish(w, 'Succeeded', 'Succeeded', 'every step succeeded', actor);
    } catch (err) {
      const end = err instanceof StepEnd ? err : new StepEnd('Failed', (err as Error).message);
      for (const s of w.status.steps) if (s.phase === 'Pending') s.phase = 'Skipped';
      this.finish(w, end.phase, end.phase === 'Aborted' ? 'Aborted' : 'StepFailed', end.message, actor);
    } finally {
      scope.done();
      this.running.delete(w.metadata.uid);
      this.runningRefs.delete(w.metadata.uid);
      for (const r of this.ends.get(w.metadata.uid) ?? []) r();
      this.ends.delete(w.metadata.uid);
    }
  }

  private async serial(w: Workflow, steps: Step[], prefix: string, signal: AbortSignal, actor: string): Promise<void> {
    for (const s of steps) await this.step(w, s, prefix ? `${prefix}/${s.name}` : s.name, signal, actor);
  }

  private async parallel(w: Workflow, steps: Step[], prefix: string, signal: AbortSignal, actor: string): Promise<void> {
    // The first failure stops the siblings, so a failed group never leaves faults running.
    const group = childSignal(signal);
    try {
      const results = await Promise.allSettled(
        steps.map((s) =>
          this.step(w, s, `${prefix}/${s.name}`, group.ctrl.signal, actor).catch((err) => {
            if (!group.ctrl.signal.aborted) group.ctrl.abort(err);
            throw err;
          }),
        ),
      );
      const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      if (failed) throw group.ctrl.signal.reason ?? failed.reason;
    } finally {
      group.done();
    }
  }

  private async step(w: Workflow, s: Step, path: string, signal: AbortSignal, actor: string): Promise<void> {
    const st = w.status.steps.find((x) => x.path === path)!;
    if (signal.aborted) throw signal.reason;
    // a scheduled step's deadline is its lifetime, reached by success (see scheduled()), not a failure
    const scheduled = s.experiment?.spec.schedule !== undefined;
    const scope = childSignal(signal, s.deadline && !scheduled ? parseDuration(s.deadline) : undefined, `step ${path}`);
    this.setStep(w, st, 'Running', `${st.type} started`, actor);
    try {
      const sig = scope.ctrl.signal;
      let message = 'succeeded';
      if (s.experiment) message = await this.experiment(w, s, st, path, sig, actor);
      else if (s.serial) await this.serial(w, s.serial.steps, path, sig, actor);
      else if (s.parallel) await this.parallel(w, s.parallel.steps, path, sig, actor);
      else if (s.suspend) await sleep(parseDuration(s.suspend.duration), sig);
      else if (s.check) {
        const r = await runCheck(s.check, this.o.prometheus, sig);
        if (!r.pass) throw new StepEnd(s.check.onFailure === 'abort' ? 'Aborted' : 'Failed', r.message);
        message = r.message;
      }
      this.setStep(w, st, 'Succeeded', message, actor);
    } catch (err) {
      const end = err instanceof StepEnd ? err : new StepEnd('Failed', (err as Error).message);
      this.setStep(w, st, end.phase, end.message, actor);
      throw end;
    } finally {
      scope.done();
    }
  }

  private async experiment(w: Workflow, s: Step, st: StepStatus, path: string, signal: AbortSignal, actor: string): Promise<string> {
    const scheduled = s.experiment!.spec.schedule !== undefined;
    const ref = { namespace: w.metadata.namespace, name: experimentName(w.metadata.name, path, scheduled) };
    st.experiment = ref.name;
    this.save(w); // before the experiment exists, so a restart knows which one to stop
    if (scheduled) return this.scheduled(w, s, st, ref, signal, actor);
    let created: Experiment;
    try {
      created = await this.o.engine.create(
        {
          metadata: { ...ref, ...(s.experiment!.labels ? { labels: s.experiment!.labels } : {}), annotations: { 'faultline.dev/workflow': w.metadata.name, 'faultline.dev/workflow-step': path } },
          spec: structuredClone(s.experiment!.spec),
        },
        `${actor} (workflow ${w.metadata.name})`,
      );
    } catch (err) {
      throw new StepEnd('Failed', `experiment ${ref.name} could not start: ${(err as Error).message}`);
    }
    const uid = created.metadata.uid;
    const ended = new Promise<Experiment>((resolve) => this.waiters.set(uid, resolve));
    // It may have ended before the waiter was in place.
    const now = this.o.engine.get(ref);
    if (TERMINAL_PHASES.includes(now.status.phase)) this.waiters.get(uid)!(now);
    const onAbort = () => {
      const why = signal.reason instanceof StepEnd ? signal.reason.message : 'workflow stopped';
      void this.o.engine.abort(ref, `workflow ${w.metadata.name}: ${why}`, actor, 'workflow').catch(() => undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const e = await ended;
      if (signal.aborted) throw signal.reason;
      if (e.status.phase !== 'Finished') throw new StepEnd('Failed', `experiment ${ref.name} ended ${e.status.phase}${e.status.message ? `: ${e.status.message}` : ''}`);
      return `experiment ${ref.name} finished`;
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.waiters.delete(uid);
    }
  }

  /**
   * A scheduled step: creates the schedule, lets it tick for the step's deadline, then stops it the way
   * `POST .../stop` would (the active run ended and its faults reverted; the schedule Finished). A run
   * that ends Failed or Aborted (an injection that failed, a guard) ends the schedule at once (Aborted)
   * and fails the step, as a failed experiment fails a plain step. Aborting the step aborts the schedule.
   */
  private async scheduled(w: Workflow, s: Step, st: StepStatus, ref: Ref, signal: AbortSignal, actor: string): Promise<string> {
    const key = `${ref.namespace}/${ref.name}`;
    const by = `${actor} (workflow ${w.metadata.name})`;
    let ending = false;
    let failedRun: Readonly<Experiment> | undefined;
    const watch: RunWatch = {
      seen: new Set(),
      onRun: (run) => {
        if (!watch.seen.has(run.metadata.uid)) {
          watch.seen.add(run.metadata.uid);
          st.runs = watch.seen.size;
          this.save(w);
        }
        if (ending || signal.aborted || (run.status.phase !== 'Failed' && run.status.phase !== 'Aborted')) return;
        ending = true;
        failedRun = structuredClone(run) as Experiment;
        end(() => this.o.engine.abort(ref, `workflow ${w.metadata.name}: run ${run.metadata.name} ended ${run.status.phase}`, actor, 'workflow'));
      },
    };
    this.runWatches.set(key, watch); // before the schedule exists: its first run is not missed
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      ending = true;
      const why = signal.reason instanceof StepEnd ? signal.reason.message : 'workflow stopped';
      end(() => this.o.engine.abort(ref, `workflow ${w.metadata.name}: ${why}`, actor, 'workflow'));
    };
    let uid: string | undefined;
    let created: Experiment | undefined;
    let endFailed: Error | undefined;
    /** Ends the schedule; if that throws, the step stops waiting for it and fails saying so. */
    const end = (how: () => Promise<unknown>) =>
      this.endSchedule(ref, how, (err) => {
        endFailed = err;
        if (created) this.waiters.get(created.metadata.uid)?.(created); // what it holds is not read: endFailed is
      });
    try {
      // a schedule is created even while chaos is frozen (its ticks are refused); a step would then tick
      // nothing for its whole deadline and "succeed": it fails at once instead, as a plain step's start is refused
      const hold = this.o.engine.holdReason?.();
      if (hold) throw new StepEnd('Failed', `schedule ${ref.name} not created: ${hold}`);
      try {
        created = await this.o.engine.create(
          {
            metadata: { ...ref, ...(s.experiment!.labels ? { labels: s.experiment!.labels } : {}), annotations: { 'faultline.dev/workflow': w.metadata.name, 'faultline.dev/workflow-step': st.path } },
            spec: structuredClone(s.experiment!.spec),
          },
          by,
        );
      } catch (err) {
        throw new StepEnd('Failed', `schedule ${ref.name} could not be created: ${(err as Error).message}`);
      }
      uid = created.metadata.uid;
      const ended = new Promise<Experiment>((resolve) => this.waiters.set(uid!, resolve));
      const now = this.o.engine.get(ref);
      if (TERMINAL_PHASES.includes(now.status.phase)) this.waiters.get(uid)!(now);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
      timer = setTimeout(() => {
        if (ending) return;
        ending = true;
        end(() => this.o.engine.stop(ref, `workflow ${w.metadata.name} (step deadline ${s.deadline} reached)`));
      }, parseDuration(s.deadline!));
      const e = await ended;
      if (endFailed) throw new StepEnd(signal.aborted && signal.reason instanceof StepEnd ? signal.reason.phase : 'Failed', `schedule ${ref.name} could not be ended: ${endFailed.message}`);
      if (signal.aborted) throw signal.reason;
      const runs = `${watch.seen.size} run(s)`;
      if (failedRun) throw new StepEnd('Failed', `scheduled run ${failedRun.metadata.name} ended ${failedRun.status.phase}${failedRun.status.message ? `: ${failedRun.status.message}` : ''}; schedule ${ref.name} ended after ${runs}`);
      if (e.status.phase !== 'Finished') throw new StepEnd('Failed', `schedule ${ref.name} ended ${e.status.phase}${e.status.message ? `: ${e.status.message}` : ''} after ${runs}`);
      return `schedule ${ref.name} ticked for ${s.deadline} (${runs}), then ${e.status.message ?? 'ended'}`;
    } finally {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (uid) this.waiters.delete(uid);
      this.runWatches.delete(key);
      st.runs = watch.seen.size;
    }
  }

  /**
   * Ends a step's schedule. The engine takes it off the scheduler first, so it ticks no more even when
   * the rest fails; a failure is logged and handed back (the runs' own leases and durations still bound them).
   */
  private endSchedule(ref: Ref, end: () => Promise<unknown>, failed: (err: Error) => void): void {
    void end().catch((err: unknown) => {
      this.o.log.error({ err: String(err), schedule: `${ref.namespace}/${ref.name}` }, 'ending a workflow step\'s schedule failed');
      failed(err instanceof Error ? err : new Error(String(err)));
    });
  }

  /**
   * A transition of a scheduled run, told to its step. (A tick still creating a run when the schedule
   * ends starts nothing: the engine refuses it, engine/lifecycle.ts refuseEndedSchedule.)
   */
  private scheduledRun(run: Readonly<Experiment>): void {
    const schedule = run.metadata.labels?.[SCHEDULE_LABEL];
    if (schedule) this.runWatches.get(`${run.metadata.namespace}/${schedule}`)?.onRun(run);
  }

  // ---- status and events ---------------------------------------------------------------------

  private setStep(w: Workflow, st: StepStatus, phase: StepPhase, message: string, actor: string): void {
    st.phase = phase;
    st.message = message;
    if (phase === 'Running') st.startedAt = nowIso();
    else st.endedAt = nowIso();
    this.save(w);
    const type = phase === 'Running' ? 'step-started' : phase === 'Succeeded' ? 'step-succeeded' : phase === 'Aborted' ? 'step-aborted' : 'step-failed';
    this.emit(w, type, `${st.path}: ${message}`, actor, st.path);
  }

  private finish(w: Workflow, phase: WorkflowPhase, reason: string, message: string, actor: string): void {
    w.status.phase = phase;
    w.status.reason = reason;
    w.status.message = message;
    w.status.endedAt = nowIso();
    this.save(w);
    this.emit(w, `workflow-${phase.toLowerCase()}`, message, actor);
  }

  private save(w: Workflow): void {
    this.o.store.save(w);
  }

  private emit(w: Workflow, type: string, message: string, actor?: string, target?: string): void {
    this.o.bus.emit({
      type,
      experiment: w.metadata.name,
      namespace: w.metadata.namespace,
      uid: w.metadata.uid,
      kind: 'workflow',
      phase: w.status.phase,
      message,
      ...(target ? { target } : {}),
      ...(actor ? { actor } : {}),
    });
  }
}
