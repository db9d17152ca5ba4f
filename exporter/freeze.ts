import type { Database } from 'better-sqlite3';
import type { FreezeState } from '../api/alerts';
import { ApiError } from '../api/errors';

// Emergency freeze: stop every experiment and refuse every start, resume and scheduled run until
// lifted. Stored in its own table of the exporter's SQLite file, so a restart keeps it. A freeze
// with `until` lifts itself then (event `unfrozen` by `system`).

export interface FreezeDeps {
  db: Database;
  /** Stop every active experiment (as stop-all does). */
  stopAll(actor: string, reason: string): Promise<unknown>;
  /** Record an event (`frozen` / `unfrozen`) so dashboards get an annotation. */
  emit(type: 'frozen' | 'unfrozen', message: string, actor: string): void;
  now?: () => number;
}

interface Row {
  reason: string;
  actor: string;
  since: string;
  until: string | null;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export class Freeze {
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly deps: FreezeDeps) {
    this.now = deps.now ?? Date.now;
    deps.db.exec(`CREATE TABLE IF NOT EXISTS faultline_freeze (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      reason TEXT NOT NULL,
      actor TEXT NOT NULL,
      since TEXT NOT NULL,
      until TEXT
    )`);
    this.arm();
  }

  private row(): Row | undefined {
    return this.deps.db.prepare('SELECT reason, actor, since, until FROM faultline_freeze WHERE id = 1').get() as Row | undefined;
  }

  /** The current state; a freeze whose `until` has passed is lifted here. */
  state(): FreezeState {
    const r = this.row();
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

  /**
   * Freezes (or confirms an existing freeze, keeping its reason and author but taking the later
   * `until`) and stops everything. Stopping runs on every call: a repeated alert costs nothing.
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
    if (!before.frozen) {
      const since = new Date(this.now()).toISOString();
      this.deps.db.prepare('INSERT INTO faultline_freeze (id, reason, actor, since, until) VALUES (1, ?, ?, ?, ?)').run(req.reason, actor, since, until);
      this.deps.emit('frozen', `chaos frozen by ${actor}: ${req.reason}${until ? ` (until ${until})` : ''}`, actor);
    } else if (before.until && (until === null || until > before.until)) {
      this.deps.db.prepare('UPDATE faultline_freeze SET until = ? WHERE id = 1').run(until);
    }
    this.arm();
    await this.deps.stopAll(actor, `chaos frozen: ${req.reason}`);
    return this.state();
  }

  /** Lifts the freeze; returns the state before. */
  unfreeze(actor: string): FreezeState {
    const before = this.state();
    if (before.frozen) this.lift(actor, `chaos unfrozen by ${actor} (was frozen by ${before.actor} since ${before.since}: ${before.reason})`);
    return before;
  }

  private lift(actor: string, message: string): void {
    const res = this.deps.db.prepare('DELETE FROM faultline_freeze WHERE id = 1').run();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (res.changes > 0) this.deps.emit('unfrozen', message, actor);
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
    const r = this.row();
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
