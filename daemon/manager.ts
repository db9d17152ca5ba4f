import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { DaemonFault, DaemonFaultRequest, DaemonRecoverItem, KindSupport, ResolvedProcess } from '../api/daemon';
import { ApiError } from '../api/errors';
import { validate } from '../api/validate';
import type { Capabilities } from './capabilities';
import { FAULT_KINDS, faultKind } from './faults/index';
import type { FaultContext, FaultKind, Support } from './faults/types';
import { Journal, type JournalEntry } from './journal';
import type { DaemonMetrics, RecoveryReason } from './daemon-metrics';
import type { Protection } from './resolve/protect';
import { resolveTarget } from './resolve/targets';
import { isSameProcessNow } from './sys/proc';

// The daemon's fault table: create (validate → resolve → precheck → journal → inject), renew,
// delete, lease expiry, and recovery of whatever a previous run left in the journal. One operation
// at a time per fault id; the journal is written before every change to the system.

interface Live {
  entry: JournalEntry;
  abort: AbortController;
  /** The operation running on this fault (inject or recover); later ones wait for it. */
  busy: Promise<unknown>;
  recovering: boolean;
  /** Reverted already by recoverMany's pass (FaultKind.recoverNow): revert() skips the kind's recover. */
  revertedNow?: boolean;
  /** After a failed recover, not before this time (ms) again: retries back off instead of spinning. */
  retryAt?: number;
  /** A helper of this fault reads its lease from the journal file (it was handed ctx.journalFile): renewals rewrite the file. */
  leaseOnDisk?: boolean;
}

export interface ManagerOptions {
  journal: Journal;
  metrics: DaemonMetrics;
  caps: Capabilities;
  protection: Protection;
  log: Logger;
}

export class FaultManager {
  private readonly live = new Map<string, Live>();
  private readonly support = new Map<string, Support>();

  constructor(private readonly o: ManagerOptions) {
    for (const k of FAULT_KINDS) this.support.set(k.spec.kind, supportOf(k, o.caps));
  }

  kinds(): KindSupport[] {
    return FAULT_KINDS.map((k) => ({ kind: k.spec.kind, ...this.support.get(k.spec.kind)! }));
  }

  count(): number {
    return this.live.size;
  }

  list(): DaemonFault[] {
    return [...this.live.values()].map((l) => toWire(l.entry));
  }

  get(id: string): DaemonFault {
    return toWire(this.mustGet(id).entry);
  }

  private mustGet(id: string): Live {
    const l = this.live.get(id);
    if (!l) throw ApiError.notFound(`no fault ${id} on this daemon`);
    return l;
  }

  /**
   * POST /v1/faults, with the request already checked against DaemonFaultRequest (daemon/routes.ts); its
   * params are checked here against the kind it names. Returns the fault and whether it was created now
   * (201) or already there (200).
   */
  async create(req: DaemonFaultRequest): Promise<{ fault: DaemonFault; created: boolean }> {
    const kind = faultKind(req.kind);
    if (!kind) {
      throw ApiError.invalid(`invalid fault: /kind "${req.kind}" is not a known fault kind`, [
        { field: '/kind', reason: `must be one of ${FAULT_KINDS.map((k) => k.spec.kind).join(', ')}` },
      ]);
    }
    const params = validate(kind.spec.params, req.params, 'fault', '/params') as Record<string, unknown>;

    const existing = this.live.get(req.id);
    if (existing) {
      const e = existing.entry;
      if (!existing.recovering && e.kind === req.kind && isDeepStrictEqual(e.params, params) && isDeepStrictEqual(e.target ?? {}, req.target ?? {})) {
        await existing.busy.catch(() => undefined);
        if (!this.live.has(req.id)) throw ApiError.conflict(`fault ${req.id} failed while being injected; retry`);
        return { fault: toWire(existing.entry), created: false };
      }
      if (existing.recovering) throw ApiError.conflict(`fault ${req.id} is being recovered; retry once it is gone`, [{ field: '/id', reason: 'is being recovered' }]);
      throw ApiError.conflict(`fault ${req.id} already exists with a different kind, params or target`, [{ field: '/id', reason: 'already exists, different' }]);
    }

    const support = this.support.get(kind.spec.kind)!;
    if (!support.supported) {
      this.o.metrics.injections.inc({ kind: kind.spec.kind, result: 'rejected' });
      throw ApiError.unprocessable(`${kind.spec.kind} is not supported on this host: ${support.reason}`, [{ field: '/kind', reason: support.reason ?? 'unsupported' }]);
    }

    const resolved = await resolveTarget(req.target, kind.spec, this.o.protection);
    await kind.precheck?.(params as never, resolved);

    // the id could have been taken while we awaited: check again, then reserve it synchronously
    if (this.live.has(req.id)) return this.create(req);
    if (kind.holdsProcesses) this.refuseHeld(kind.holdsProcesses, resolved.processes);
    const now = Date.now();
    const entry: JournalEntry = {
      id: req.id,
      kind: kind.spec.kind,
      params,
      ...(req.target ? { target: req.target } : {}),
      resolved,
      phase: 'injecting',
      createdAt: new Date(now).toISOString(),
      leaseSeconds: req.leaseSeconds,
      leaseExpiresAt: new Date(now + req.leaseSeconds * 1000).toISOString(),
      state: {},
    };
    const l: Live = { entry, abort: new AbortController(), busy: Promise.resolve(), recovering: false };
    this.live.set(req.id, l);
    const run = this.inject(kind, l);
    l.busy = run.catch(() => undefined);
    await run;
    return { fault: toWire(l.entry), created: true };
  }

  /**
   * 409 when a live fault of the same holding class (see FaultKind.holdsProcesses) already holds one of
   * these processes (same pid and start time). Synchronous, right before the id is reserved, so two
   * concurrent creates cannot both pass. The details name each holder as `held by fault <id>`.
   */
  private refuseHeld(cls: string, procs: readonly ResolvedProcess[]): void {
    const wanted = new Map(procs.map((p) => [p.pid, p.startTime]));
    const details: { field: string; reason: string }[] = [];
    for (const l of this.live.values()) {
      if (faultKind(l.entry.kind)?.holdsProcesses !== cls) continue; // recovering too: its SIGCONT could land after our SIGSTOP
      const shared = l.entry.resolved.processes.filter((p) => wanted.get(p.pid) === p.startTime).map((p) => p.pid);
      if (shared.length) details.push({ field: '/target', reason: `held by fault ${l.entry.id} (${l.entry.kind} of pid ${shared.join(', ')})` });
    }
    if (details.length) {
      throw ApiError.conflict(`the target is already held by another fault: ${details.map((d) => d.reason).join('; ')}`, details);
    }
  }

  private ctx(kind: FaultKind, l: Live): FaultContext<never> {
    const journal = this.o.journal;
    return {
      id: l.entry.id,
      params: l.entry.params as never,
      target: l.entry.resolved,
      log: this.o.log.child({ fault: l.entry.id, kind: kind.spec.kind }),
      signal: l.abort.signal,
      // Handing the file to a helper (a stressor, proxy or DNS child: their dead-man switch reads the
      // lease there) is what makes its renewals worth a journal write; see renew().
      get journalFile() {
        l.leaseOnDisk = true;
        return journal.fileOf(l.entry.id);
      },
      save: async (state) => {
        l.entry.state = { ...state };
        await this.o.journal.write(l.entry);
      },
    };
  }

  private async inject(kind: FaultKind, l: Live): Promise<void> {
    const k = kind.spec.kind;
    const t0 = process.hrtime.bigint();
    try {
      await this.o.journal.write(l.entry); // journal first
    } catch (err) {
      this.live.delete(l.entry.id);
      throw err;
    }
    try {
      const state = await kind.inject(this.ctx(kind, l));
      l.entry.state = { ...l.entry.state, ...state };
      l.entry.phase = 'active';
      l.entry.injectedAt = new Date().toISOString();
      // Not awaited: everything recover needs was saved before each change (rule 2 in faults/README.md);
      // this write only records the phase. The journal orders it before any later write or remove.
      this.o.journal.write(l.entry).catch((err) => this.o.log.error({ fault: l.entry.id, err: String(err) }, 'journal write failed'));
      this.o.metrics.injectDuration.observe({ kind: k }, Number(process.hrtime.bigint() - t0) / 1e9);
      this.o.metrics.injections.inc({ kind: k, result: 'success' });
      this.o.metrics.active.inc({ kind: k });
      this.o.log.info({ fault: l.entry.id, kind: k, state: l.entry.state }, 'fault injected');
    } catch (err) {
      this.o.metrics.injections.inc({ kind: k, result: 'error' });
      this.o.log.warn({ fault: l.entry.id, kind: k, err: String(err) }, 'inject failed; undoing what was applied');
      l.recovering = true;
      try {
        await kind.recover(this.ctx(kind, l), l.entry.state as never);
        await this.o.journal.remove(l.entry.id);
        this.live.delete(l.entry.id);
        this.o.metrics.recoveries.inc({ kind: k, reason: 'inject_failed' });
      } catch (rerr) {
        // keep it journaled and listed as failed: the lease sweep and the next start retry
        l.entry.phase = 'failed';
        l.entry.error = `inject failed: ${String(err)}; undo failed: ${String(rerr)}`;
        await this.o.journal.write(l.entry).catch(() => undefined);
      }
      if (err instanceof ApiError) throw err;
      throw new ApiError(500, 'inject_failed', `${k} could not be applied: ${(err as Error).message ?? String(err)}`);
    }
  }

  /** PUT /v1/faults/:id/lease */
  async renew(id: string, leaseSeconds?: number): Promise<DaemonFault> {
    const l = this.mustGet(id);
    if (l.recovering) throw ApiError.conflict(`fault ${id} is being recovered`);
    const secs = leaseSeconds ?? l.entry.leaseSeconds;
    l.entry.leaseSeconds = secs;
    l.entry.leaseExpiresAt = new Date(Date.now() + secs * 1000).toISOString();
    // The lease on disk is read only by a fault's own helpers (their dead-man switch); the daemon's
    // sweep reads it in memory, and a restart or the watchdog reverts every journaled fault whatever
    // its lease. So a renewal is a journal write (fsync, rename, directory fsync: ~1 ms of the daemon's
    // CPU a fault, on every node, every lease/3) only for a fault with such a helper. An injection in
    // flight writes the entry itself.
    if (l.leaseOnDisk && l.entry.phase !== 'injecting') await this.o.journal.write(l.entry);
    return toWire(l.entry);
  }

  /** PUT /v1/faults/:id/peers: the running fault's peers replaced in place (see FaultKind.setPeers). */
  async setPeers(id: string, peers: string[]): Promise<DaemonFault> {
    const l = this.mustGet(id);
    const kind = faultKind(l.entry.kind)!;
    if (!kind.setPeers) throw ApiError.unprocessable(`${l.entry.kind} has no peers to change`, [{ field: '/peers', reason: `${l.entry.kind} has no peers` }]);
    await l.busy.catch(() => undefined);
    if (l.recovering || !this.live.has(id)) throw ApiError.conflict(`fault ${id} is being recovered`);
    if (l.entry.phase !== 'active') throw ApiError.conflict(`fault ${id} is ${l.entry.phase}, not active`);
    const run = kind.setPeers(this.ctx(kind, l), l.entry.state as never, peers);
    l.busy = run.catch(() => undefined);
    l.entry.state = { ...(await run) };
    await this.o.journal.write(l.entry);
    return toWire(l.entry);
  }

  /** DELETE /v1/faults/:id, lease expiry, shutdown. Idempotent; resolves when the fault is reverted. */
  async recover(id: string, reason: RecoveryReason): Promise<DaemonFault> {
    const l = this.mustGet(id);
    if (l.recovering) {
      await l.busy;
      if (this.live.has(id)) throw new ApiError(500, 'recover_failed', `fault ${id} could not be reverted: ${l.entry.error}`);
      return { ...toWire(l.entry, false), phase: 'recovered' };
    }
    l.recovering = true;
    l.abort.abort(RECOVERING); // one shared reason: abort() without one builds a DOMException with a stack per fault
    const run = (async () => {
      await l.busy; // an injection in flight finishes (or fails and undoes itself) first
      if (!this.live.has(id)) return;
      await this.revert(l, reason);
    })();
    l.busy = run.catch(() => undefined);
    try {
      await run;
    } finally {
      if (this.live.has(id)) l.recovering = false; // failed: may be retried
    }
    return { ...toWire(l.entry, false), phase: 'recovered' };
  }

  private async revert(l: Live, reason: RecoveryReason): Promise<void> {
    const kind = faultKind(l.entry.kind);
    const k = l.entry.kind;
    const wasActive = l.entry.phase === 'active';
    l.entry.phase = 'recovering';
    const t0 = process.hrtime.bigint();
    try {
      if (!kind) this.o.log.error({ fault: l.entry.id, kind: k }, 'journal holds a kind this daemon does not know; dropping it');
      else if (!l.revertedNow) await kind.recover(this.ctx(kind, l), l.entry.state as never);
      await this.o.journal.remove(l.entry.id);
    } catch (err) {
      l.entry.phase = 'failed';
      l.entry.error = `recover failed: ${String(err)}`;
      await this.o.journal.write(l.entry).catch(() => undefined);
      this.o.log.error({ fault: l.entry.id, kind: k, err: String(err) }, 'recover failed');
      throw err;
    }
    this.live.delete(l.entry.id);
    if (wasActive) this.o.metrics.active.dec({ kind: k });
    this.o.metrics.recoveries.inc({ kind: k, reason });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    this.o.metrics.recoverDuration.observe({ kind: k }, seconds);
    // how long this fault's revert took, in the log too: the watchdog's revert after a crash has no /metrics
    this.o.log.info({ fault: l.entry.id, kind: k, reason, ms: Math.round(seconds * 1e4) / 10 }, 'fault recovered');
  }

  /**
   * POST /v1/recover: every id reverted concurrently; each item says what its own DELETE would have.
   * First, in one synchronous pass, every active fault of a kind whose revert is only signals
   * (FaultKind.recoverNow: the SIGCONTs of process-pause) is reverted: on a busy node each await or
   * piece of bookkeeping before a kill() is a chance for the scheduler to run something else first.
   */
  async recoverMany(ids: string[]): Promise<DaemonRecoverItem[]> {
    for (const id of ids) {
      const l = this.live.get(id);
      const kind = l && faultKind(l.entry.kind);
      // active and not recovering: no injection or other revert of it is in flight
      if (!l || !kind?.recoverNow || l.recovering || l.entry.phase !== 'active') continue;
      try {
        kind.recoverNow(l.entry.resolved, l.entry.state as never);
        l.revertedNow = true;
      } catch (err) {
        this.o.log.warn({ fault: id, err: String(err) }, 'immediate revert failed; reverting the usual way');
      }
    }
    return Promise.all(ids.map((id) => this.recoverItem(id)));
  }

  private async recoverItem(id: string): Promise<DaemonRecoverItem> {
    try {
      return { id, status: 200, fault: await this.recover(id, 'requested') };
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, 'recover_failed', String(err));
      return { id, status: e.status, error: { code: e.code, message: e.message } };
    }
  }

  /** Reverts every fault whose lease ran out (called every 200 ms) and retries failed ones. */
  sweep(now = Date.now()): void {
    for (const l of this.live.values()) {
      if (l.recovering || (l.retryAt !== undefined && now < l.retryAt)) continue;
      if (Date.parse(l.entry.leaseExpiresAt) > now) continue;
      this.recover(l.entry.id, 'lease_expired').catch((err) => {
        l.retryAt = Date.now() + 5000;
        this.o.log.error({ fault: l.entry.id, err: String(err) }, 'lease expiry recover failed; retrying in 5s');
      });
    }
  }

  /**
   * Every fault the journal holds is reverted: at start (the previous run died or stopped without
   * recovering), and by the watchdog when the daemon died (reason daemon_died). All at once, so one slow
   * revert (a proxy draining) does not hold up the others. Returns how many entries there were.
   */
  async restore(reason: RecoveryReason = 'restart'): Promise<number> {
    const { entries, broken } = await this.o.journal.loadAll();
    for (const b of broken) this.o.log.error({ file: b }, 'unreadable journal entry left in place');
    for (const entry of entries) {
      this.live.set(entry.id, { entry, abort: new AbortController(), busy: Promise.resolve(), recovering: false });
      if (entry.phase === 'active') this.o.metrics.active.inc({ kind: entry.kind });
    }
    await Promise.all(
      entries.map((entry) => this.recover(entry.id, reason).catch((err) => this.o.log.error({ fault: entry.id, err: String(err) }, `${reason} recover failed; will retry`))),
    );
    return entries.length;
  }

  /** Reverts everything (graceful shutdown). */
  async recoverAll(reason: RecoveryReason): Promise<void> {
    await Promise.all([...this.live.keys()].map((id) => this.recover(id, reason).catch((err) => this.o.log.error({ fault: id, err: String(err) }, 'recover failed'))));
  }

  /** Waits for in-flight operations (used by close()). */
  async settle(): Promise<void> {
    await Promise.all([...this.live.values()].map((l) => l.busy));
  }
}

/** The abort reason of a fault being recovered (an injection still in flight sees it and stops). */
const RECOVERING = new Error('the fault is being recovered');

function supportOf(kind: FaultKind, caps: Capabilities): Support {
  if (kind.support) return kind.support(caps);
  const missing = kind.spec.requires.filter((r) => !caps[r]?.available);
  if (missing.length === 0) return { supported: true };
  return { supported: false, reason: missing.map((m) => `${m}: ${caps[m]?.detail ?? 'unavailable'}`).join('; ') };
}

/** Target processes that exited since (checked on every listing, so the exporter can record it). */
function goneOf(e: JournalEntry): { processesGone?: number[] } {
  const gone = e.resolved.processes.filter((p) => !isSameProcessNow(p.pid, p.startTime)).map((p) => p.pid);
  return gone.length ? { processesGone: gone } : {};
}

/** A fault as the API shows it; `gone` reads /proc for its processes (pointless once it is recovered). */
function toWire(e: JournalEntry, gone = true): DaemonFault {
  return {
    id: e.id,
    kind: e.kind,
    params: e.params,
    ...(e.target ? { target: e.target } : {}),
    phase: e.phase,
    ...(e.injectedAt ? { injectedAt: e.injectedAt } : {}),
    leaseExpiresAt: e.leaseExpiresAt,
    ...(e.resolved.processes.length ? { processes: e.resolved.processes } : {}),
    ...(gone ? goneOf(e) : {}),
    state: e.state,
    ...(e.error ? { error: e.error } : {}),
  };
}
