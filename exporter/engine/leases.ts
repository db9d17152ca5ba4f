import type { DaemonError } from '../daemons';
import type { TargetStatus } from '../../api/experiment';
import { localTargetGone } from './gone';
import { refOf, type Run, type RunDriver } from './run';

// A run's clock: the timer that ends it when its duration is up, and its faults' leases. One ticker
// renews the leases of every running experiment at once, so the renewals of one tick reach each daemon
// as one `PUT /v1/leases` (DaemonClient batches the calls of one turn of the event loop): a daemon with
// 1000 faults gets one request per tick instead of 1000 spread over the period. A renewal that finds
// the fault lost (404: the daemon restarted or the lease ran out) injects it again; one that finds every
// target process gone ends the run (TargetsGone).

const MAX_TIMER_MS = 2 ** 31 - 1;

export class Leases {
  private ticker?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly d: RunDriver,
    private readonly renewEveryMs: number,
  ) {}

  arm(run: Run): void {
    this.clear(run);
    const endsAt = run.exp.status.endsAt ? Date.parse(run.exp.status.endsAt) : Date.now();
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, endsAt - Date.now()));
    run.endTimer = setTimeout(() => {
      if (Date.parse(run.exp.status.endsAt ?? '') > Date.now() + 5) return this.arm(run); // a clamped long wait
      void this.d.end(run.exp.metadata.uid, { phase: 'Finished', reason: 'DurationElapsed', message: `duration ${run.exp.spec.duration} elapsed`, recovery: 'duration', actor: 'system' });
    }, wait);
    run.leasing = true;
    if (!this.ticker && !this.closed) {
      this.ticker = setInterval(() => {
        for (const r of this.d.runs.values()) if (r.leasing) void this.renew(r);
      }, this.renewEveryMs);
      this.ticker.unref();
    }
  }

  stop(run: Run): void {
    run.leasing = false;
  }

  clear(run: Run): void {
    if (run.endTimer) clearTimeout(run.endTimer);
    run.endTimer = undefined;
    this.stop(run);
  }

  /** Renews each injected target's lease; a fault the daemon lost (404: restarted or expired) is injected again. */
  private async renew(run: Run): Promise<void> {
    if (run.exp.status.phase !== 'Running') return;
    const lost: TargetStatus[] = [];
    const gone: [TargetStatus, string][] = [];
    await Promise.all(
      run.exp.status.targets
        .filter((t) => t.phase === 'Injected')
        .map(async (t) => {
          const d = this.d.daemon(t);
          if (!d) return;
          const why = localTargetGone(t.target, d.base);
          if (why) return gone.push([t, why]);
          try {
            const f = await d.renewLease(this.d.faultId(run.exp, t), this.d.leaseSeconds);
            this.d.o.daemons.observe(d, true);
            // the daemon sees every target process it pinned: all of them gone = nothing left to fault
            const exited = f.processesGone ?? [];
            if (exited.length && f.processes?.length && exited.length >= f.processes.length) {
              gone.push([t, exited.length === 1 ? `process ${exited[0]} exited` : `processes ${exited.join(', ')} exited`]);
            }
          } catch (err) {
            const e = err as DaemonError;
            if (e.status === 404) lost.push(t);
            else if (e.status === undefined) this.d.o.daemons.observe(d, false, e.message);
            else this.d.o.log.warn({ experiment: refOf(run.exp), target: t.description, error: e.message }, 'lease renewal refused');
          }
        }),
    );
    if (gone.length) await this.d.enqueue(run, () => this.d.targetsGone(run, gone));
    if (lost.length === 0) return;
    await this.d.enqueue(run, async () => {
      if (run.exp.status.phase !== 'Running') return;
      const signal = run.ac.signal;
      for (const t of lost) {
        if (t.phase !== 'Injected') continue;
        this.d.emit(run.exp, 'injecting', `the daemon lost the fault on ${t.description} (restarted or lease expired): injecting again`, 'system', t.description);
        await this.d.injectTarget(run, t, signal);
      }
    });
  }

  /** Stops every timer (shutdown); the runs' faults stay under their leases. */
  close(): void {
    this.closed = true;
    for (const r of this.d.runs.values()) this.clear(r);
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }
}
