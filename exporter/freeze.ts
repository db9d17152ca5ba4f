import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import type { FreezeState } from '../api/alerts';
import { ApiError } from '../api/errors';
import { storeHealth, type StoreHealth } from './store/health';
import { groupCommit } from './store/group-commit';

// Emergency freeze: stop every experiment and refuse every start, resume and scheduled run until
// lifted. A freeze with `until` lifts itself then (event `unfrozen` by `system`).
//
// The freeze lives in memory and holds from the moment it is asked for, whatever the disk does. It
// is kept across restarts in two places, each written when it can be:
//   - `<data-dir>/freeze.json`, a marker file. It is created (padded to MARKER_BYTES) at start while
//     there is room, and a freeze overwrites it in place: rewriting blocks a file already has needs no
//     free space, so the marker is written even on a full disk, and it is written first (before the
//     experiments are stopped), so a crash during the stop keeps the freeze. A marker that exists but
//     does not read as "not frozen" (cut short, garbled, empty) counts as frozen: on doubt, frozen.
//   - the `faultline_freeze` table of the SQLite file, retried until the file takes writes.
// At start, chaos is frozen when either says so. Lifting writes both; a lift that could not be
// written is retried, and until then a restart comes back frozen (the safe side).

export interface FreezeDeps {
  db: Database;
  /** Stop every active experiment (as stop-all does). */
  stopAll(actor: string, reason: string): Promise<unknown>;
  /** Record an event (`frozen` / `unfrozen`) so dashboards get an annotation. */
  emit(type: 'frozen' | 'unfrozen', message: string, actor: string): void;
  now?: () => number;
  /** Where freeze.json goes; default: beside the database file. */
  dataDir?: string;
}

interface Row {
  reason: string;
  actor: string;
  since: string;
  until: string | null;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
/** The marker's fixed size: any freeze record fits, so overwriting it never needs a new block. */
const MARKER_BYTES = 4096;
const IDLE = '{"frozen":false}';

export class Freeze {
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private current: Row | undefined;
  /** The table does not hold the in-memory state yet (a write failed): retried by the store's loop. */
  private dirty = false;
  /** Absent for an in-memory database without a dataDir (tests). */
  private readonly marker: string | undefined;
  private readonly health: StoreHealth;

  constructor(private readonly deps: FreezeDeps) {
    this.now = deps.now ?? Date.now;
    this.marker = deps.dataDir ?? !deps.db.memory ? path.join(deps.dataDir ?? path.dirname(deps.db.name), 'freeze.json') : undefined;
    this.health = storeHealth(deps.db);
    deps.db.exec(`CREATE TABLE IF NOT EXISTS faultline_freeze (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      reason TEXT NOT NULL,
      actor TEXT NOT NULL,
      since TEXT NOT NULL,
      until TEXT
    )`);
    const stored = deps.db.prepare('SELECT reason, actor, since, until FROM faultline_freeze WHERE id = 1').get() as Row | undefined;
    const marked = this.readMarker();
    this.current = stored ?? marked;
    if (!stored && marked) {
      // frozen on a full disk, never recorded in the table: record it now (or when the file takes writes)
      this.dirty = true;
      this.persist();
    }
    if (!this.current) this.writeMarker(IDLE, true); // reserve the marker's blocks while there is room
    this.health.register(() => this.persist(), () => (this.dirty ? 1 : 0));
    this.arm();
  }

  /** The marker's freeze, if it says frozen; a marker that does not read as idle counts as frozen. */
  private readMarker(): Row | undefined {
    let text: string;
    if (!this.marker) return undefined;
    try {
      text = readFileSync(this.marker, 'utf8').replace(/[\s\0]+$/, '');
    } catch {
      return undefined; // none: never frozen here (or an older version)
    }
    try {
      const m = JSON.parse(text) as { frozen?: boolean; reason?: string; actor?: string; since?: string; until?: string };
      if (m.frozen === false) return undefined;
      if (m.frozen === true && typeof m.reason === 'string' && typeof m.actor === 'string' && typeof m.since === 'string') {
        return { reason: m.reason, actor: m.actor, since: m.since, until: typeof m.until === 'string' ? m.until : null };
      }
    } catch {
      /* cut short or garbled: frozen, below */
    }
    return { reason: `a freeze whose record in ${this.marker} could not be read (written on a full disk?)`, actor: 'system', since: new Date(this.now()).toISOString(), until: null };
  }

  /**
   * Overwrites the marker in place (no new blocks needed once it exists), padded to MARKER_BYTES.
   * `fresh` (at start) writes a new file beside it and renames it over, so the marker is never seen
   * half-written; false when the disk refused.
   */
  private writeMarker(json: string, fresh = false): boolean {
    if (!this.marker) return true;
    const buf = Buffer.alloc(MARKER_BYTES, 0x20);
    buf.write(json.slice(0, MARKER_BYTES - 1), 'utf8');
    buf[MARKER_BYTES - 1] = 0x0a;
    const file = fresh ? `${this.marker}.tmp` : this.marker;
    let fd: number | undefined;
    try {
      fd = openSync(file, fresh ? 'w' : 'r+');
      writeSync(fd, buf, 0, buf.length, 0);
      fsyncSync(fd);
      closeSync(fd);
      fd = undefined;
      if (fresh) renameSync(file, this.marker);
      return true;
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      if (!fresh && (err as NodeJS.ErrnoException).code === 'ENOENT') return this.writeMarker(json, true);
      if (!fresh) this.health.failed(err, `writing ${this.marker}`);
      return false;
    }
  }

  /** Writes the in-memory state to the table; true when it holds it. */
  private persist(): boolean {
    if (!this.dirty) return true;
    const r = this.current;
    try {
      const db = this.deps.db;
      groupCommit(db).commit(); // the freeze stands alone (store/group-commit.ts)
      db.transaction(() => {
        db.prepare('DELETE FROM faultline_freeze WHERE id = 1').run();
        if (r) db.prepare('INSERT INTO faultline_freeze (id, reason, actor, since, until) VALUES (1, ?, ?, ?, ?)').run(r.reason, r.actor, r.since, r.until);
      })();
    } catch (err) {
      this.health.failed(err, 'recording the freeze');
      return false;
    }
    this.dirty = false;
    if (!r) this.writeMarker(IDLE);
    return true;
  }

  private save(): void {
    this.dirty = true;
    const r = this.current;
    // the marker first: it can be written on a full disk, the table maybe not
    this.writeMarker(r ? JSON.stringify({ frozen: true, ...r, ...(r.until ? {} : { until: undefined }) }) : IDLE);
    this.persist();
  }

  /** The current state; a freeze whose `until` has passed is lifted here. */
  state(): FreezeState {
    const r = this.current;
    if (!r) return { frozen: false };
    if (r.until && Date.parse(r.until) <= this.now()) {
      this.lift('system', `freeze expired at ${r.until}`);
      return { frozen: false };
    }
    return { frozen: true, reason: r.reason, actor: r.actor, since: r.since, ...(r.until ? { until: r.until } : {}) };
  }

  get frozen(): boolean {
    return this.state().frozen;
  }

  /** Whether the freeze (or its lifting) is written to disk; false while only memory and maybe the marker hold it. */
  get persisted(): boolean {
    return !this.dirty;
  }

  /**
   * Freezes (or confirms an existing freeze, keeping its reason and author but taking the later
   * `until`) and stops everything. Stopping runs on every call: a repeated alert costs nothing.
   * Order: memory (starts refused at once), the marker, the stop, then the table and the event.
   */
  async freeze(req: { reason: string; until?: string }, actor: string): Promise<FreezeState> {
    let untilMs: number | undefined;
    if (req.until !== undefined) {
      untilMs = Date.parse(req.until);
      if (Number.isNaN(untilMs)) throw ApiError.invalid('until is not a time', [{ field: '/until', reason: 'must be an RFC 3339 time' }]);
      if (untilMs <= this.now()) throw ApiError.invalid('until is in the past', [{ field: '/until', reason: 'must be in the future' }]);
    }
    const until = untilMs === undefined ? null : new Date(untilMs).toISOString();
    const before = this.state();
    let changed = false;
    if (!before.frozen) {
      this.current = { reason: req.reason, actor, since: new Date(this.now()).toISOString(), until };
      changed = true;
    } else if (before.until && (until === null || until > before.until)) {
      this.current = { ...this.current!, until };
      changed = true;
    }
    if (changed) this.writeMarker(JSON.stringify({ frozen: true, ...this.current, ...(this.current!.until ? {} : { until: undefined }) }));
    this.arm();
    try {
      await this.deps.stopAll(actor, `chaos frozen: ${req.reason}`);
    } finally {
      if (changed) {
        this.dirty = true;
        this.persist();
        if (!before.frozen) this.deps.emit('frozen', `chaos frozen by ${actor}: ${req.reason}${until ? ` (until ${until})` : ''}`, actor);
      }
    }
    return this.state();
  }

  /** Lifts the freeze; returns the state before. */
  unfreeze(actor: string): FreezeState {
    const before = this.state();
    if (before.frozen) this.lift(actor, `chaos unfrozen by ${actor} (was frozen by ${before.actor} since ${before.since}: ${before.reason})`);
    return before;
  }

  private lift(actor: string, message: string): void {
    const was = this.current;
    this.current = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!was) return;
    // the table first: should only the marker say "lifted", a restart must still come back frozen
    this.dirty = true;
    this.persist();
    this.deps.emit('unfrozen', message, actor);
  }

  /** Throws 409 naming the freeze, who set it and why, when chaos is frozen. */
  checkStart(what: string): void {
    const s = this.state();
    if (s.frozen) {
      throw ApiError.conflict(`${what} refused: chaos is frozen since ${s.since} by ${s.actor}: ${s.reason}${s.until ? ` (until ${s.until})` : ''}`, [
        { field: '/', reason: 'chaos is frozen' },
      ]);
    }
  }

  /** Schedules the automatic lift for a freeze with `until`. */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const r = this.current;
    if (!r?.until) return;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, Date.parse(r.until) - this.now()));
    this.timer = setTimeout(() => {
      this.state(); // lifts when due
      this.arm();
    }, wait);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
