import type { FaultlineEvent } from '../../api/events';
import type { Statement } from 'better-sqlite3';
import type { DB } from './db';

// The event log. Ids are SQLite rowids: monotonic, the SSE id and the pagination cursor. Time
// ranges are turned into a rowid range first (events are appended in time order), so a dashboard
// query scans only its own slice of the table whatever the other filters are.

export interface EventFilter {
  fromMs?: number;
  toMs?: number;
  namespace?: string;
  kind?: string;
  experiment?: string;
  /** One type or several separated by commas. */
  type?: string;
  uid?: string;
  after?: number;
  limit: number;
}

interface Row {
  id: number;
  time_ms: number;
  type: string;
  experiment: string | null;
  namespace: string | null;
  uid: string | null;
  kind: string | null;
  target: string | null;
  phase: string | null;
  message: string;
  actor: string | null;
}

export type NewEvent = Omit<FaultlineEvent, 'id' | 'time'> & { time?: string };

function toEvent(r: Row): FaultlineEvent {
  const e: FaultlineEvent = { id: r.id, time: new Date(r.time_ms).toISOString(), type: r.type, message: r.message };
  if (r.experiment !== null) e.experiment = r.experiment;
  if (r.namespace !== null) e.namespace = r.namespace;
  if (r.uid !== null) e.uid = r.uid;
  if (r.kind !== null) e.kind = r.kind;
  if (r.target !== null) e.target = r.target;
  if (r.phase !== null) e.phase = r.phase;
  if (r.actor !== null) e.actor = r.actor;
  return e;
}

export class EventStore {
  private readonly insertStmt;
  private readonly firstAtOrAfter;
  private readonly lastAtOrBefore;
  /** Prepared statements by SQL text: a query shape is compiled once. */
  private readonly stmts = new Map<string, Statement<unknown[]>>();

  constructor(private readonly db: DB) {
    this.insertStmt = db.prepare(
      `INSERT INTO events (time_ms, type, experiment, namespace, uid, kind, target, phase, message, actor)
       VALUES (@time_ms, @type, @experiment, @namespace, @uid, @kind, @target, @phase, @message, @actor)`,
    );
    this.firstAtOrAfter = db.prepare('SELECT MIN(id) AS id FROM events WHERE time_ms >= ?');
    this.lastAtOrBefore = db.prepare('SELECT MAX(id) AS id FROM events WHERE time_ms <= ?');
  }

  insert(e: NewEvent): FaultlineEvent {
    const timeMs = e.time ? Date.parse(e.time) : Date.now();
    const row = {
      time_ms: timeMs,
      type: e.type,
      experiment: e.experiment ?? null,
      namespace: e.namespace ?? null,
      uid: e.uid ?? null,
      kind: e.kind ?? null,
      target: e.target ?? null,
      phase: e.phase ?? null,
      message: e.message,
      actor: e.actor ?? null,
    };
    const res = this.insertStmt.run(row);
    return toEvent({ id: Number(res.lastInsertRowid), ...row });
  }

  /** Events matching `f`, oldest first; `more` says whether another page follows. */
  query(f: EventFilter): { items: FaultlineEvent[]; more: boolean } {
    const where: string[] = [];
    const args: unknown[] = [];
    let lo = f.after ?? 0;
    if (f.fromMs !== undefined) {
      const first = (this.firstAtOrAfter.get(f.fromMs) as { id: number | null }).id;
      if (first === null) return { items: [], more: false };
      lo = Math.max(lo, first - 1);
      where.push('time_ms >= ?');
      args.push(f.fromMs);
    }
    where.push('id > ?');
    args.push(lo);
    if (f.toMs !== undefined) {
      const last = (this.lastAtOrBefore.get(f.toMs) as { id: number | null }).id;
      if (last === null) return { items: [], more: false };
      where.push('id <= ?', 'time_ms <= ?');
      args.push(last, f.toMs);
    }
    for (const [col, val] of [['namespace', f.namespace], ['kind', f.kind], ['experiment', f.experiment], ['uid', f.uid]] as const) {
      if (val !== undefined && val !== '') {
        where.push(`${col} = ?`);
        args.push(val);
      }
    }
    if (f.type) {
      const types = f.type.split(',').map((t) => t.trim()).filter(Boolean);
      where.push(`type IN (${types.map(() => '?').join(',')})`);
      args.push(...types);
    }
    const sql = `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`;
    let stmt = this.stmts.get(sql);
    if (!stmt) this.stmts.set(sql, (stmt = this.db.prepare<unknown[]>(sql)));
    const rows = stmt.all(...args, f.limit + 1) as Row[];
    const more = rows.length > f.limit;
    return { items: rows.slice(0, f.limit).map(toEvent), more };
  }

  /** Events after `id` (SSE replay), at most `limit`. */
  since(id: number, limit: number): FaultlineEvent[] {
    return (this.db.prepare('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?').all(id, limit) as Row[]).map(toEvent);
  }

  lastId(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM events').get() as { id: number }).id;
  }
}
