import { Cron } from 'croner';
import type { Logger } from 'pino';
import { ApiError } from '../../api/errors';
import { SCHEDULE_LABEL, TERMINAL_PHASES, type Experiment, type ExperimentInput, type Phase } from '../../api/experiment';
import type { ExperimentStore } from '../store/experiments';
import type { Engine } from './lifecycle';
import { isTerminal, nowIso, refOf, type Ending } from './run';

// Schedules: an experiment with `spec.schedule` never injects itself; each cron tick creates a run
// named <name>-<epoch seconds> (label faultline.dev/schedule=<name>) that goes through the same
// lifecycle and pre-start checks. concurrencyPolicy Forbid skips a tick while a run is active;
// historyLimit keeps that many ended runs and deletes older ones.

export class Scheduler {
  private readonly crons = new Map<string, Cron>();

  constructor(
    private readonly engine: Engine,
    private readonly store: ExperimentStore,
    private readonly log: Logger,
  ) {
    engine.scheduler = this;
    engine.onRunEnded = (run) => this.runEnded(run);
  }

  add(e: Experiment): void {
    this.remove(e.metadata.uid);
    const uid = e.metadata.uid;
    const cron = new Cron(e.spec.schedule!, { protect: true, catch: (err) => this.log.error({ err: String(err), uid }, 'scheduled run failed') }, () => this.tick(uid));
    this.crons.set(uid, cron);
  }

  remove(uid: string): void {
    this.crons.get(uid)?.stop();
    this.crons.delete(uid);
  }

  has(uid: string): boolean {
    return this.crons.has(uid);
  }

  nextRun(uid: string): Date | undefined {
    return this.crons.get(uid)?.nextRun() ?? undefined;
  }

  private async tick(uid: string): Promise<void> {
    const parent = this.store.getByUid(uid);
    if (!parent || !parent.spec.schedule) return this.remove(uid);
    if (parent.status.phase !== 'Pending') {
      this.engine.refreshSchedule(parent); // suspended: no run
      return;
    }
    const active = this.engine.activeRunsOf(parent);
    if (parent.spec.concurrencyPolicy !== 'Allow' && active.length > 0) {
      this.engine.emit(parent, 'skipped', `tick skipped: concurrencyPolicy Forbid and ${active.map((r) => r.metadata.name).join(', ')} still active`, 'scheduler');
      this.engine.refreshSchedule(parent);
      return;
    }
    const name = `${parent.metadata.name}-${Math.floor(Date.now() / 1000)}`;
    const { schedule: _s, concurrencyPolicy: _c, historyLimit: _h, ...spec } = parent.spec;
    const input: ExperimentInput = {
      metadata: {
        name,
        namespace: parent.metadata.namespace,
        labels: { ...(parent.metadata.labels ?? {}), [SCHEDULE_LABEL]: parent.metadata.name },
      },
      spec: structuredClone(spec),
    };
    try {
      await this.engine.createValidated(input, 'scheduler', 'schedule');
      const cur = this.store.getByUid(uid);
      if (cur?.status.schedule) {
        cur.status.schedule.lastRun = name;
        cur.status.schedule.lastRunAt = new Date().toISOString();
        this.store.update(cur);
      }
      this.engine.emit(parent, 'scheduled', `run ${name} started`, 'scheduler');
    } catch (err) {
      const why = err instanceof ApiError ? err.message : String(err);
      this.engine.emit(parent, 'skipped', `tick skipped: ${why}`, 'scheduler');
    }
    this.engine.refreshSchedule(parent);
  }

  private runEnded(run: Experiment): void {
    const name = run.metadata.labels?.[SCHEDULE_LABEL];
    if (!name) return;
    const parent = this.store.get(run.metadata.namespace, name);
    if (!parent?.spec.schedule) return;
    const limit = parent.spec.historyLimit ?? 10;
    const ended = this.store.endedRuns(run.metadata.namespace, name);
    for (const old of ended.slice(0, Math.max(0, ended.length - limit))) this.store.delete(old.uid);
    if (!TERMINAL_PHASES.includes(parent.status.phase)) this.engine.refreshSchedule(parent);
  }

  close(): void {
    for (const c of this.crons.values()) c.stop();
    this.crons.clear();
  }
}

// ---- a schedule's own record: suspended/resumed, ended, its status.schedule -----------------

export function setSuspended(engine: Engine, e: Experiment, suspend: boolean, actor: string, why?: string): Experiment {
  const p = e.status.phase;
  if (isTerminal(p)) throw ApiError.conflict(`schedule ${refOf(e)} is ${p}`, [{ field: '/status/phase', reason: `is ${p}` }]);
  const target: Phase = suspend ? 'Paused' : 'Pending';
  if (p === target) return e;
  const hold = suspend ? undefined : engine.holdReason?.();
  if (hold) throw ApiError.conflict(`resume of schedule ${refOf(e)} refused: ${hold}`, [{ field: '/', reason: 'chaos is frozen' }]);
  const from = e.status.phase;
  e.status.phase = target;
  engine.o.store.update(e);
  engine.emit(e, suspend ? 'paused' : 'resumed', suspend ? `schedule suspended by ${actor}${why ? `: ${why}` : ''}` : `schedule resumed by ${actor}`, actor);
  for (const l of engine.listeners) l(structuredClone(e), from);
  return refreshSchedule(engine, e);
}

export async function endSchedule(engine: Engine, e: Experiment, actor: string, ending: Ending): Promise<void> {
  engine.scheduler?.remove(e.metadata.uid);
  const runs = engine.o.store.list({ namespace: e.metadata.namespace, schedule: e.metadata.name }).filter((r) => engine.driver.runs.has(r.metadata.uid));
  await Promise.all(runs.map((r) => engine.driver.end(r.metadata.uid, ending)));
  const cur = engine.o.store.getByUid(e.metadata.uid);
  if (!cur || isTerminal(cur.status.phase)) return;
  const from = cur.status.phase;
  cur.status.phase = ending.phase;
  cur.status.reason = ending.reason;
  cur.status.message = ending.message;
  cur.status.endedAt = nowIso();
  if (cur.status.schedule) delete cur.status.schedule.nextRunAt;
  engine.o.store.update(cur);
  engine.emit(cur, ending.phase === 'Finished' ? 'finished' : 'aborted', `schedule ended: ${ending.message}`, actor);
  for (const l of engine.listeners) l(structuredClone(cur), from);
}

/** Updates a schedule's status.schedule (next run, active runs) from the scheduler and the store. */
export function refreshSchedule(engine: Engine, e: Experiment): Experiment {
  const cur = engine.o.store.getByUid(e.metadata.uid);
  if (!cur || !cur.spec.schedule) return e;
  const runs = engine.o.store.list({ namespace: cur.metadata.namespace, schedule: cur.metadata.name });
  const next = cur.status.phase === 'Pending' ? engine.scheduler?.nextRun(cur.metadata.uid) : undefined;
  const prev = cur.status.schedule ?? { active: [] };
  cur.status.schedule = {
    ...prev,
    active: runs.filter((r) => !isTerminal(r.status.phase)).map((r) => r.metadata.name),
    ...(next ? { nextRunAt: next.toISOString() } : {}),
  };
  if (!next) delete cur.status.schedule.nextRunAt;
  engine.o.store.update(cur);
  return cur;
}

/** Runs currently active for a schedule. */
export function activeRunsOf(engine: Engine, e: Experiment): Experiment[] {
  return [...engine.driver.runs.values()].filter((r) => r.exp.metadata.namespace === e.metadata.namespace && r.exp.metadata.labels?.[SCHEDULE_LABEL] === e.metadata.name).map((r) => r.exp);
}
