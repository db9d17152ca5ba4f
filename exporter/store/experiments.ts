import type { Experiment, Phase } from '../../api/experiment';
import { ACTIVE_PHASES, SCHEDULE_LABEL } from '../../api/experiment';
import type { Statement } from 'better-sqlite3';
import type { DB } from './db';
import { groupCommit, type GroupCommit } from './group-commit';
import { storeHealth, type StoreHealth } from './health';

// Experiments as one JSON document per row, with the columns that filters, metrics and the
// engine's restart need pulled out beside it. Every write replaces the whole document.
//
// update() and delete() never throw: the stop path calls them after the faults are reverted, and a
// full disk must not turn that into an error (store/health.ts). What could not be written waits in
// `pending` (the newest document of each experiment, or its deletion), every read sees it first, and
// the retry writes it out. insert() does throw: a new experiment that cannot be recorded must not start.

export interface ExperimentFilter {
  namespace?: string;
  kind?: string;
  /** One phase or several separated by commas. */
  phase?: string;
  /** Exact name; also matches the runs of a schedule of that name. */
  name?: string;
  /** Substring of any target's description or daemon. */
  target?: string;
  /** Only runs of this schedule. */
  schedule?: string;
}

interface Row {
  doc: string;
}

/** What waits to be written for one experiment: its newest document, or its deletion. */
type Pending = { doc: Experiment; deleted?: undefined } | { deleted: true; namespace: string; name: string };

/** Whether an experiment passes a list filter (the SQL does this for stored rows; this for documents kept in memory). */
function matches(e: Experiment, f: ExperimentFilter): boolean {
  if (f.namespace && e.metadata.namespace !== f.namespace) return false;
  if (f.kind && e.spec.fault.kind !== f.kind) return false;
  if (f.phase && !f.phase.split(',').map((p) => p.trim()).includes(e.status.phase)) return false;
  const parent = e.metadata.labels?.[SCHEDULE_LABEL];
  if (f.name && e.metadata.name !== f.name && parent !== f.name) return false;
  if (f.schedule && parent !== f.schedule) return false;
  return true;
}

export class ExperimentStore {
  private readonly insertStmt;
  private readonly updateStmt;
  private readonly byNameStmt;
  private readonly byUidStmt;
  private readonly existsStmt;
  private readonly deleteStmt;
  /** Prepared once per distinct SQL (filters build a handful of shapes; scrapes run the same two every time). */
  private readonly stmts = new Map<string, Statement<unknown[]>>();
  /** Writes that failed, by uid, oldest first (see the top of the file). */
  private readonly pending = new Map<string, Pending>();
  readonly health: StoreHealth;
  private readonly turn: GroupCommit;
  /** Documents written in this turn's transaction (group-commit.ts), kept until it commits. */
  private readonly turnDocs = new Map<string, string>();

  constructor(private readonly db: DB) {
    this.health = storeHealth(db);
    this.health.register(() => this.flush(), () => this.pending.size);
    this.turn = groupCommit(db);
    this.turn.register({
      committed: () => this.turnDocs.clear(),
      rolledBack: () => {
        for (const [uid, doc] of this.turnDocs) if (!this.pending.has(uid)) this.pending.set(uid, { doc: JSON.parse(doc) as Experiment });
        this.turnDocs.clear();
      },
    });
    this.insertStmt = db.prepare(
      `INSERT INTO experiments (uid, namespace, name, kind, phase, schedule_parent, created_ms, updated_ms, doc)
       VALUES (@uid, @namespace, @name, @kind, @phase, @parent, @created, @updated, @doc)`,
    );
    this.updateStmt = db.prepare('UPDATE experiments SET phase = @phase, updated_ms = @updated, doc = @doc WHERE uid = @uid');
    this.byNameStmt = db.prepare('SELECT doc FROM experiments WHERE namespace = ? AND name = ?');
    this.byUidStmt = db.prepare('SELECT doc FROM experiments WHERE uid = ?');
    this.existsStmt = db.prepare('SELECT 1 FROM experiments WHERE uid = ?').pluck();
    this.deleteStmt = db.prepare('DELETE FROM experiments WHERE uid = ?');
  }

  private stmt(sql: string): Statement<unknown[]> {
    let st = this.stmts.get(sql);
    if (!st) this.stmts.set(sql, (st = this.db.prepare<unknown[]>(sql)));
    return st;
  }

  /** Inserts a new experiment; false when the namespace/name is taken; throws when the file takes no writes. */
  insert(e: Experiment): boolean {
    const p = this.pendingByName(e.metadata.namespace, e.metadata.name);
    if (p && !p.deleted) return false;
    this.turn.commit(); // a new experiment's record stands alone: if it fails, the experiment does not start
    try {
      this.insertStmt.run({
        uid: e.metadata.uid,
        namespace: e.metadata.namespace,
        name: e.metadata.name,
        kind: e.spec.fault.kind,
        phase: e.status.phase,
        parent: e.metadata.labels?.[SCHEDULE_LABEL] ?? null,
        created: Date.parse(e.metadata.creationTimestamp),
        updated: Date.now(),
        doc: JSON.stringify(e),
      });
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' || (err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return false;
      this.health.failed(err, `recording experiment ${e.metadata.namespace}/${e.metadata.name}`);
      throw err;
    }
  }

  /** Replaces the stored document; kept in memory when the file takes no writes (never throws). */
  update(e: Experiment): void {
    const uid = e.metadata.uid;
    if (this.pending.get(uid)?.deleted || !this.db.open) return; // closed: a run ending during shutdown records nothing
    const grouped = this.turn.join();
    try {
      const doc = JSON.stringify(e);
      this.updateStmt.run({ uid, phase: e.status.phase, updated: Date.now(), doc });
      this.pending.delete(uid);
      if (grouped) this.turnDocs.set(uid, doc);
    } catch (err) {
      if (grouped) this.turn.abort(); // what the turn wrote goes back to `pending` first, then this newer document
      this.pending.delete(uid); // re-added at the end: the map stays in write order
      this.pending.set(uid, { doc: structuredClone(e) });
      this.health.failed(err, `recording experiment ${e.metadata.namespace}/${e.metadata.name}`);
    }
  }

  get(namespace: string, name: string): Experiment | undefined {
    const p = this.pendingByName(namespace, name);
    if (p) return p.deleted ? undefined : structuredClone(p.doc);
    const row = this.byNameStmt.get(namespace, name) as Row | undefined;
    if (!row) return undefined;
    const e = JSON.parse(row.doc) as Experiment;
    return this.pending.get(e.metadata.uid)?.deleted ? undefined : e;
  }

  /** Whether the experiment is still recorded (not deleted), without reading its document. */
  has(uid: string): boolean {
    const p = this.pending.get(uid);
    if (p) return !p.deleted;
    return this.existsStmt.get(uid) !== undefined;
  }

  getByUid(uid: string): Experiment | undefined {
    const p = this.pending.get(uid);
    if (p) return p.deleted ? undefined : structuredClone(p.doc);
    const row = this.byUidStmt.get(uid) as Row | undefined;
    return row ? (JSON.parse(row.doc) as Experiment) : undefined;
  }

  /** Deletes; kept in memory (and hidden from every read) when the file takes no writes (never throws). */
  delete(uid: string): void {
    const known = this.getByUid(uid);
    this.turn.commit();
    try {
      this.deleteStmt.run(uid);
      this.pending.delete(uid);
    } catch (err) {
      this.pending.delete(uid);
      this.pending.set(uid, { deleted: true, namespace: known?.metadata.namespace ?? '', name: known?.metadata.name ?? '' });
      this.health.failed(err, `deleting experiment ${known ? `${known.metadata.namespace}/${known.metadata.name}` : uid}`);
    }
  }

  private pendingByName(namespace: string, name: string): Pending | undefined {
    if (this.pending.size === 0) return undefined;
    let found: Pending | undefined;
    for (const p of this.pending.values()) {
      const ns = p.deleted ? p.namespace : p.doc.metadata.namespace;
      const n = p.deleted ? p.name : p.doc.metadata.name;
      if (ns === namespace && n === name) found = p; // the newest wins (a name deleted, then taken again)
    }
    return found;
  }

  /** Writes out what waits in memory, oldest first; true when nothing is left. */
  private flush(): boolean {
    for (const [uid, p] of this.pending) {
      try {
        if (p.deleted) this.deleteStmt.run(uid);
        else this.updateStmt.run({ uid, phase: p.doc.status.phase, updated: Date.now(), doc: JSON.stringify(p.doc) });
      } catch (err) {
        this.health.failed(err, 'writing experiments kept in memory');
        return false;
      }
      this.pending.delete(uid);
    }
    return true;
  }

  /** Whether anything waits to be written (reads then merge it in). */
  get pendingWrites(): number {
    return this.pending.size;
  }

  list(f: ExperimentFilter = {}): Experiment[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.namespace) {
      where.push('namespace = ?');
      args.push(f.namespace);
    }
    if (f.kind) {
      where.push('kind = ?');
      args.push(f.kind);
    }
    if (f.phase) {
      const phases = f.phase.split(',').map((p) => p.trim()).filter(Boolean);
      where.push(`phase IN (${phases.map(() => '?').join(',')})`);
      args.push(...phases);
    }
    if (f.name) {
      where.push('(name = ? OR schedule_parent = ?)');
      args.push(f.name, f.name);
    }
    if (f.schedule) {
      where.push('schedule_parent = ?');
      args.push(f.schedule);
    }
    const sql = `SELECT doc FROM experiments ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_ms DESC, name`;
    let items = (this.stmt(sql).all(...args) as Row[]).map((r) => JSON.parse(r.doc) as Experiment);
    if (this.pending.size) items = this.overlay(items, f);
    if (f.target) {
      const needle = f.target.toLowerCase();
      items = items.filter((e) => e.status.targets.some((t) => t.description.toLowerCase().includes(needle) || t.daemon.toLowerCase().includes(needle)));
    }
    return items;
  }

  /** Stored rows with what waits in memory put over them: newer documents, deletions, and documents that match only now. */
  private overlay(items: Experiment[], f: ExperimentFilter): Experiment[] {
    const seen = new Set<string>();
    const out: Experiment[] = [];
    for (const e of items) {
      seen.add(e.metadata.uid);
      const p = this.pending.get(e.metadata.uid);
      if (!p) out.push(e);
      else if (!p.deleted && matches(p.doc, f)) out.push(structuredClone(p.doc));
    }
    for (const [uid, p] of this.pending) if (!seen.has(uid) && !p.deleted && matches(p.doc, f)) out.push(structuredClone(p.doc));
    return out;
  }

  /** Experiments the engine must drive (after a restart too). */
  listActive(): Experiment[] {
    return this.list({ phase: ACTIVE_PHASES.join(',') });
  }

  /** Counts per namespace, kind and phase, for the faultline_experiments gauge. */
  countByPhase(): { namespace: string; kind: string; phase: Phase; n: number }[] {
    const rows = this.stmt('SELECT namespace, kind, phase, COUNT(*) AS n FROM experiments GROUP BY namespace, kind, phase').all() as {
      namespace: string;
      kind: string;
      phase: Phase;
      n: number;
    }[];
    if (this.pending.size === 0) return rows;
    // while degraded: each document kept in memory moves its count from the stored phase to its own
    const counts = new Map(rows.map((r) => [`${r.namespace}\0${r.kind}\0${r.phase}`, r]));
    const add = (namespace: string, kind: string, phase: Phase, d: number) => {
      const key = `${namespace}\0${kind}\0${phase}`;
      const r = counts.get(key) ?? { namespace, kind, phase, n: 0 };
      r.n += d;
      counts.set(key, r);
    };
    const stored = this.stmt('SELECT namespace, kind, phase FROM experiments WHERE uid = ?');
    for (const [uid, p] of this.pending) {
      const was = stored.get(uid) as { namespace: string; kind: string; phase: Phase } | undefined;
      if (was) add(was.namespace, was.kind, was.phase, -1);
      if (!p.deleted) add(p.doc.metadata.namespace, p.doc.spec.fault.kind, p.doc.status.phase, 1);
    }
    return [...counts.values()].filter((r) => r.n > 0);
  }

  /** Experiments in phase Running (faults injected now), for faultline_experiment_running. */
  running(): { namespace: string; name: string; kind: string }[] {
    const rows = this.stmt("SELECT namespace, name, kind FROM experiments WHERE phase = 'Running'").all() as { namespace: string; name: string; kind: string }[];
    if (this.pending.size === 0) return rows;
    const mem = [...this.pending.values()];
    const hidden = new Set(mem.map((p) => (p.deleted ? `${p.namespace}/${p.name}` : `${p.doc.metadata.namespace}/${p.doc.metadata.name}`)));
    return [
      ...rows.filter((r) => !hidden.has(`${r.namespace}/${r.name}`)),
      ...mem.flatMap((p) => (!p.deleted && p.doc.status.phase === 'Running' ? [{ namespace: p.doc.metadata.namespace, name: p.doc.metadata.name, kind: p.doc.spec.fault.kind }] : [])),
    ];
  }

  /** Ended runs of a schedule, oldest first (for the history limit). */
  endedRuns(namespace: string, schedule: string): { uid: string; name: string }[] {
    return this.stmt(
      `SELECT uid, name FROM experiments WHERE namespace = ? AND schedule_parent = ? AND phase IN ('Finished','Aborted','Failed') ORDER BY created_ms ASC, name ASC`,
    ).all(namespace, schedule) as { uid: string; name: string }[];
  }
}
