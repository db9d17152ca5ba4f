import type { FaultlineEvent } from '../../api/events';
import type { Statement } from 'better-sqlite3';
import type { DB } from './db';
import { groupCommit, type GroupCommit } from './group-commit';
import { storeHealth, type StoreHealth } from './health';

// The event log. Ids are SQLite rowids: monotonic, the SSE id and the pagination cursor. Time
// ranges are turned into a rowid range first (events are appended in time order), so a dashboard
// query scans only its own slice of the table whatever the other filters are.
//
// The range comes from two columns kept on insert, not from MIN(id)/MAX(id) over a time condition
// (SQLite answers those by walking the table from one end: every event before `from`, so the whole
// history for a "last 6 hours" dashboard). `time_hw` is the highest time of any event up to this
// one: it never decreases with the id, so its index gives the first event at or after `from`
// exactly. `late` marks an event whose time is below the high-water mark before it (a clock step,
// an explicit time): the only kind of event after the last one with time_hw <= `to` that can still
// be at or before `to`. A small partial index finds those.

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

/** The columns of an event (absent fields are NULL); the id is SQLite's or the queue's. */
function toRow(e: NewEvent, timeMs: number): Omit<Row, 'id'> {
  return {
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
}

/**
 * One event as JSON, written by SQLite: the keys in toEvent()'s order, absent (NULL) ones left out,
 * strings through json_quote (the escapes JSON.stringify uses) and the time as toISOString() gives
 * it. A year outside 0000–9999 (toISOString writes ±YYYYYY; the exporter's events are "now")
 * makes the whole text NULL, and queryJson() serialises that row in JS.
 */
const EVENT_JSON = `'{"id":' || id
  || ',"time":"' || iif(time_ms BETWEEN -62167219200000 AND 253402300799999,
       strftime('%Y-%m-%dT%H:%M:%S', (time_ms - ((time_ms % 1000) + 1000) % 1000) / 1000, 'unixepoch'), NULL)
  || printf('.%03dZ', ((time_ms % 1000) + 1000) % 1000)
  || '","type":' || json_quote(type) || ',"message":' || json_quote(message)
  || iif(experiment IS NULL, '', ',"experiment":' || json_quote(experiment))
  || iif(namespace IS NULL, '', ',"namespace":' || json_quote(namespace))
  || iif(uid IS NULL, '', ',"uid":' || json_quote(uid))
  || iif(kind IS NULL, '', ',"kind":' || json_quote(kind))
  || iif(target IS NULL, '', ',"target":' || json_quote(target))
  || iif(phase IS NULL, '', ',"phase":' || json_quote(phase))
  || iif(actor IS NULL, '', ',"actor":' || json_quote(actor))
  || '}'`;

/** Most events kept in memory while the file takes no writes; older ones are dropped (and counted). */
const MAX_PENDING_EVENTS = 100_000;

export class EventStore {
  private readonly insertStmt;
  private readonly insertWithIdStmt;
  /**
   * Events the file did not take (disk full), in order, with the ids they will be stored under.
   * While any wait, new events queue behind them, so ids stay monotonic and the SSE stream and its
   * replay (since()) carry on; the store's retry writes them out (store/health.ts).
   */
  private readonly pending: FaultlineEvent[] = [];
  /** Events dropped from a full in-memory queue. */
  droppedPending = 0;
  readonly health: StoreHealth;
  private readonly turn: GroupCommit;
  /** Events written in this turn's transaction (group-commit.ts), kept until it commits. */
  private readonly turnEvents: FaultlineEvent[] = [];
  private readonly firstAtOrAfter;
  private readonly lastInOrderAtOrBefore;
  private readonly lastLateAtOrBefore;
  private readonly byId;
  /** Prepared statements by SQL text: a query shape is compiled once. */
  private readonly stmts = new Map<string, Statement<unknown[]>>();

  constructor(private readonly db: DB) {
    // the high-water mark is read from the newest row in the same statement, so two stores on one
    // database (tests) or a restart never work from a stale copy. A scalar subquery in VALUES: the same
    // as INSERT ... SELECT FROM (SELECT ... AS prev), which took about twice as long a row (10 against
    // 21 µs median in a microbench of 1000-row transactions on a 30 000-row log), as much as the
    // whole insert.
    const prev = '(SELECT time_hw FROM events ORDER BY id DESC LIMIT 1)';
    const hw = `MAX(@time_ms, IFNULL(${prev}, @time_ms)), IFNULL(@time_ms < ${prev}, 0)`;
    this.insertStmt = db.prepare(
      `INSERT INTO events (time_ms, type, experiment, namespace, uid, kind, target, phase, message, actor, time_hw, late)
       VALUES (@time_ms, @type, @experiment, @namespace, @uid, @kind, @target, @phase, @message, @actor, ${hw})`,
    );
    this.insertWithIdStmt = db.prepare(
      `INSERT INTO events (id, time_ms, type, experiment, namespace, uid, kind, target, phase, message, actor, time_hw, late)
       VALUES (@id, @time_ms, @type, @experiment, @namespace, @uid, @kind, @target, @phase, @message, @actor, ${hw})`,
    );
    this.health = storeHealth(db);
    this.health.register(() => this.flush(), () => this.pending.length);
    this.turn = groupCommit(db);
    this.turn.register({
      committed: () => (this.turnEvents.length = 0),
      // rolled back: the turn's events wait in memory under the ids the stream already carried
      rolledBack: () => this.pending.unshift(...this.turnEvents.splice(0)),
    });
    this.firstAtOrAfter = db.prepare('SELECT id FROM events WHERE time_hw >= ? ORDER BY time_hw, id LIMIT 1');
    this.lastInOrderAtOrBefore = db.prepare('SELECT id FROM events WHERE time_hw <= ? ORDER BY time_hw DESC, id DESC LIMIT 1');
    this.lastLateAtOrBefore = db.prepare('SELECT MAX(id) AS id FROM events INDEXED BY events_late WHERE late = 1 AND time_ms <= ?');
    this.byId = db.prepare('SELECT * FROM events WHERE id = ?');
  }

  insert(e: NewEvent): FaultlineEvent {
    const row = toRow(e, e.time ? Date.parse(e.time) : Date.now());
    // after close (a late daemon health answer during shutdown): nothing records any more, nothing fails
    if (!this.db.open) return toEvent({ id: 0, ...row });
    if (this.pending.length === 0) {
      const grouped = this.turn.join();
      try {
        const res = this.insertStmt.run(row);
        const ev = toEvent({ id: Number(res.lastInsertRowid), ...row });
        if (grouped) this.turnEvents.push(ev);
        return ev;
      } catch (err) {
        if (grouped) this.turn.abort(); // the turn's events go to `pending` first; this one queues behind them
        this.health.failed(err, `recording a ${e.type} event`);
      }
    }
    const id = this.pending.length ? this.pending[this.pending.length - 1].id + 1 : this.storedLastId() + 1;
    const ev = toEvent({ id, ...row });
    this.pending.push(ev);
    if (this.pending.length > MAX_PENDING_EVENTS) {
      this.pending.shift();
      this.droppedPending++;
    }
    return ev;
  }

  /** The highest id the file holds or has handed out (AUTOINCREMENT never reuses a retired one). */
  private storedLastId(): number {
    const row = this.db.prepare("SELECT MAX(COALESCE((SELECT MAX(id) FROM events), 0), COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)) AS id").get() as { id: number };
    return row.id;
  }

  /** Writes the events kept in memory, oldest first, under their ids; true when none is left. */
  private flush(): boolean {
    while (this.pending.length) {
      const e = this.pending[0];
      try {
        this.insertWithIdStmt.run({ id: e.id, ...toRow(e, Date.parse(e.time)) });
      } catch (err) {
        if ((err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) {
          this.pending.shift(); // that id was taken meanwhile (another writer on the file): keep going
          continue;
        }
        this.health.failed(err, 'writing events kept in memory');
        return false;
      }
      this.pending.shift();
    }
    return true;
  }

  /** Events matching `f`, oldest first; `more` says whether another page follows. */
  query(f: EventFilter): { items: FaultlineEvent[]; more: boolean } {
    const w = this.where(f);
    if (!w) return { items: [], more: false };
    const rows = this.prepared(`SELECT * FROM events WHERE ${w.sql} ORDER BY id LIMIT ?`).all(...w.args, f.limit + 1) as Row[];
    const more = rows.length > f.limit;
    return { items: rows.slice(0, f.limit).map(toEvent), more };
  }

  /**
   * The same page as query(), as the JSON text of its items (`[...]`), each byte for byte what
   * JSON.stringify(toEvent(row)) gives. SQLite writes the text (EVENT_JSON), so a page of a
   * thousand events costs no row objects, no event objects and no stringify: about a third of
   * query() and then JSON.stringify.
   */
  queryJson(f: EventFilter): { json: string; count: number; lastId: number; more: boolean } {
    const w = this.where(f);
    if (!w) return { json: '[]', count: 0, lastId: 0, more: false };
    const rows = this.prepared(`SELECT id, ${EVENT_JSON} AS json FROM events WHERE ${w.sql} ORDER BY id LIMIT ?`)
      .raw()
      .all(...w.args, f.limit + 1) as [number, string | null][];
    const more = rows.length > f.limit;
    if (more) rows.pop();
    const parts = rows.map(([id, json]) => json ?? JSON.stringify(toEvent(this.byId.get(id) as Row)));
    return { json: `[${parts.join(',')}]`, count: rows.length, lastId: rows.length ? rows[rows.length - 1][0] : 0, more };
  }

  /** The WHERE clause of a filter; null when the time range holds no event at all. */
  private where(f: EventFilter): { sql: string; args: unknown[] } | null {
    const where: string[] = [];
    const args: unknown[] = [];
    let lo = f.after ?? 0;
    if (f.fromMs !== undefined) {
      // the first id whose high-water mark reaches `from` is the first event at or after it
      const first = (this.firstAtOrAfter.get(f.fromMs) as { id: number } | undefined)?.id;
      if (first === undefined) return null;
      lo = Math.max(lo, first - 1);
      where.push('time_ms >= ?');
      args.push(f.fromMs);
    }
    where.push('id > ?');
    args.push(lo);
    if (f.toMs !== undefined) {
      // the last event at or before `to`: the last whose high-water mark is still there, or a late one after it
      const inOrder = (this.lastInOrderAtOrBefore.get(f.toMs) as { id: number } | undefined)?.id ?? null;
      const late = (this.lastLateAtOrBefore.get(f.toMs) as { id: number | null }).id;
      if (inOrder === null && late === null) return null;
      where.push('id <= ?', 'time_ms <= ?');
      args.push(Math.max(inOrder ?? 0, late ?? 0), f.toMs);
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
    return { sql: where.join(' AND '), args };
  }

  private prepared(sql: string): Statement<unknown[]> {
    let stmt = this.stmts.get(sql);
    if (!stmt) this.stmts.set(sql, (stmt = this.db.prepare<unknown[]>(sql)));
    return stmt;
  }

  /** Events after `id` (SSE replay), at most `limit`. */
  since(id: number, limit: number): FaultlineEvent[] {
    const stored = (this.db.prepare('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?').all(id, limit) as Row[]).map(toEvent);
    if (this.pending.length === 0 || stored.length >= limit) return stored;
    return [...stored, ...this.pending.filter((e) => e.id > id)].slice(0, limit);
  }

  lastId(): number {
    if (this.pending.length) return this.pending[this.pending.length - 1].id;
    return (this.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM events').get() as { id: number }).id;
  }
}
