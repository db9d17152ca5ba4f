import type { Experiment, Phase } from '../../api/experiment';
import { ACTIVE_PHASES, SCHEDULE_LABEL } from '../../api/experiment';
import type { Statement } from 'better-sqlite3';
import type { DB } from './db';

// Experiments as one JSON document per row, with the columns that filters, metrics and the
// engine's restart need pulled out beside it. Every write replaces the whole document.

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

export class ExperimentStore {
  private readonly insertStmt;
  private readonly updateStmt;
  private readonly byNameStmt;
  private readonly byUidStmt;
  private readonly deleteStmt;
  /** Prepared once per distinct SQL (filters build a handful of shapes; scrapes run the same two every time). */
  private readonly stmts = new Map<string, Statement<unknown[]>>();

  constructor(private readonly db: DB) {
    this.insertStmt = db.prepare(
      `INSERT INTO experiments (uid, namespace, name, kind, phase, schedule_parent, created_ms, updated_ms, doc)
       VALUES (@uid, @namespace, @name, @kind, @phase, @parent, @created, @updated, @doc)`,
    );
    this.updateStmt = db.prepare('UPDATE experiments SET phase = @phase, updated_ms = @updated, doc = @doc WHERE uid = @uid');
    this.byNameStmt = db.prepare('SELECT doc FROM experiments WHERE namespace = ? AND name = ?');
    this.byUidStmt = db.prepare('SELECT doc FROM experiments WHERE uid = ?');
    this.deleteStmt = db.prepare('DELETE FROM experiments WHERE uid = ?');
  }

  private stmt(sql: string): Statement<unknown[]> {
    let st = this.stmts.get(sql);
    if (!st) this.stmts.set(sql, (st = this.db.prepare<unknown[]>(sql)));
    return st;
  }

  /** Inserts a new experiment; false when the namespace/name is taken. */
  insert(e: Experiment): boolean {
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
      throw err;
    }
  }

  update(e: Experiment): void {
    this.updateStmt.run({ uid: e.metadata.uid, phase: e.status.phase, updated: Date.now(), doc: JSON.stringify(e) });
  }

  get(namespace: string, name: string): Experiment | undefined {
    const row = this.byNameStmt.get(namespace, name) as Row | undefined;
    return row ? (JSON.parse(row.doc) as Experiment) : undefined;
  }

  getByUid(uid: string): Experiment | undefined {
    const row = this.byUidStmt.get(uid) as Row | undefined;
    return row ? (JSON.parse(row.doc) as Experiment) : undefined;
  }

  delete(uid: string): void {
    this.deleteStmt.run(uid);
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
    if (f.target) {
      const needle = f.target.toLowerCase();
      items = items.filter((e) => e.status.targets.some((t) => t.description.toLowerCase().includes(needle) || t.daemon.toLowerCase().includes(needle)));
    }
    return items;
  }

  /** Experiments the engine must drive (after a restart too). */
  listActive(): Experiment[] {
    return this.list({ phase: ACTIVE_PHASES.join(',') });
  }

  /** Counts per namespace, kind and phase, for the faultline_experiments gauge. */
  countByPhase(): { namespace: string; kind: string; phase: Phase; n: number }[] {
    return this.stmt('SELECT namespace, kind, phase, COUNT(*) AS n FROM experiments GROUP BY namespace, kind, phase').all() as {
      namespace: string;
      kind: string;
      phase: Phase;
      n: number;
    }[];
  }

  /** Experiments in phase Running (faults injected now), for faultline_experiment_running. */
  running(): { namespace: string; name: string; kind: string }[] {
    return this.stmt("SELECT namespace, name, kind FROM experiments WHERE phase = 'Running'").all() as { namespace: string; name: string; kind: string }[];
  }

  /** Ended runs of a schedule, oldest first (for the history limit). */
  endedRuns(namespace: string, schedule: string): { uid: string; name: string }[] {
    return this.stmt(
      `SELECT uid, name FROM experiments WHERE namespace = ? AND schedule_parent = ? AND phase IN ('Finished','Aborted','Failed') ORDER BY created_ms ASC, name ASC`,
    ).all(namespace, schedule) as { uid: string; name: string }[];
  }
}
