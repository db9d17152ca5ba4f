import type { DaemonClient } from '../daemons';
import type { Engine } from './lifecycle';
import { ENDING_CONDITION, isTerminal, type Ending } from './run';
import { refreshSchedule } from './schedules';

// Picking up after a restart (also after kill -9) and after a daemon comes back. The store says
// what should be running; the daemons say what is; these make them agree: runs are injected again
// under their fault ids (the daemon answers 200 for a fault it still holds), half-ended ones are
// ended, and faults with this exporter's prefix that no run owns (orphans) are deleted.

/**
 * After a restart (also after kill -9): picks every active experiment up again with its end time.
 * Running ones are injected again with their fault ids (the daemon answers 200 for a fault it still
 * holds), Paused ones are made sure to be recovered, half-ended ones are ended. Then faults on the
 * daemons with this exporter's prefix that no run owns are deleted.
 */
export async function reconcile(engine: Engine): Promise<{ resumed: number; ended: number; orphans: number }> {
  const d = engine.driver;
  let resumed = 0;
  let ended = 0;
  for (const e of d.o.store.listActive()) {
    if (e.spec.schedule) {
      if (e.status.phase === 'Pending') engine.scheduler?.add(e);
      refreshSchedule(engine, e);
      continue;
    }
    const run = d.track(e);
    const p = e.status.phase;
    const ending = e.status.conditions.find((c) => c.type === ENDING_CONDITION);
    if (p === 'Recovering' && ending) {
      ended++;
      const phase = ending.reason as Ending['phase'];
      void d.enqueue(run, () => d.finish(run, { phase, reason: e.status.reason ?? phase, message: e.status.message ?? 'ended', recovery: ending.message ?? 'stopped', actor: 'system' }));
    } else if (e.status.endsAt && Date.parse(e.status.endsAt) <= Date.now()) {
      ended++;
      void d.end(e.metadata.uid, { phase: 'Finished', reason: 'DurationElapsed', message: `duration ${e.spec.duration} elapsed while the exporter was down`, recovery: 'duration', actor: 'system' });
    } else if (engine.holdReason?.()) {
      // frozen while the exporter was down (or the freeze was not recorded before it went): nothing comes back
      ended++;
      void d.end(e.metadata.uid, { phase: 'Aborted', reason: 'freeze', message: `not resumed after the restart: ${engine.holdReason()}`, recovery: 'aborted', actor: 'system' });
    } else if (p === 'Paused') {
      void d.enqueue(run, () => d.recoverTargets(run, 'paused'));
    } else {
      resumed++;
      d.emit(e, 'injecting', `exporter restarted: reconciling ${p} experiment with the daemons`, 'system');
      void d.enqueue(run, () => d.inject(run, 'system', true, true));
    }
  }
  // Wait for the re-injections so orphan detection sees their fault ids as owned.
  await Promise.all([...d.runs.values()].map((r) => r.chain));
  const orphans = await sweepOrphans(engine, );
  return { resumed, ended, orphans };
}

/** A daemon answers again: its Unreachable targets are posted again (200 when it still holds them), then orphans are swept. */
export async function daemonUp(engine: Engine, dc: DaemonClient): Promise<void> {
  const d = engine.driver;
  const chains: Promise<unknown>[] = [];
  for (const run of d.runs.values()) {
    if (!run.exp.status.targets.some((t) => t.phase === 'Unreachable' && t.daemon === dc.name)) continue;
    chains.push(
      d.enqueue(run, async () => {
        if (run.ending || isTerminal(run.exp.status.phase)) return;
        for (const t of run.exp.status.targets) if (t.phase === 'Unreachable' && t.daemon === dc.name) await d.injectTarget(run, t, run.ac.signal);
        d.markUnreachable(run);
        if (run.exp.status.targets.every((t) => t.phase === 'Failed')) {
          await d.finish(run, { phase: 'Failed', reason: 'InjectFailed', message: 'no target could be injected after the daemon came back', recovery: 'failed', actor: 'system' });
        }
      }).catch(() => undefined),
    );
  }
  await Promise.all(chains);
  await sweepOrphans(engine, dc);
}

/** Deletes faults with this exporter's prefix that no active run owns. */
export async function sweepOrphans(engine: Engine, only?: DaemonClient): Promise<number> {
  const d = engine.driver;
  const owned = new Set<string>();
  for (const r of d.runs.values()) {
    if (r.exp.status.phase === 'Paused') continue;
    for (const t of r.exp.status.targets) owned.add(`${t.daemon}/${d.faultId(r.exp, t)}`);
  }
  const prefix = `fl-${d.o.instanceId}-`;
  let n = 0;
  for (const dc of only ? [only] : d.o.daemons.clients) {
    let faults;
    try {
      faults = await dc.listFaults();
    } catch {
      continue; // unreachable: swept when it comes back
    }
    for (const f of faults) {
      if (!f.id.startsWith(prefix) || owned.has(`${dc.name}/${f.id}`)) continue;
      try {
        await dc.deleteFault(f.id);
        n++;
        d.o.metrics.recoveries.inc({ kind: f.kind, reason: 'orphan' });
        d.o.bus.emit({ type: 'recovered', kind: f.kind, target: dc.name, message: `removed fault ${f.id} (${f.kind}) on ${dc.name}: no experiment owns it`, actor: 'system' });
      } catch (err) {
        d.o.log.warn({ daemon: dc.name, fault: f.id, error: (err as Error).message }, 'could not remove orphan fault');
      }
    }
  }
  return n;
}
