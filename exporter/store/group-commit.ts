import type { DB } from './db';
import { storeHealth } from './health';

// Group commit: the experiment documents and events written in one turn of the event loop go to
// SQLite as one transaction, committed on setImmediate. On its own each write is a transaction (a WAL
// append and the write lock taken and given back, ~0.1 ms here); an alert aborting a thousand
// experiments writes some six thousand rows before its last recover request can leave, and in one
// transaction they cost a tenth of that. Reads on the one connection see grouped writes at once.
//
// Order: the first grouped write of a turn queues the commit, so it runs before whatever that turn
// queued later with setImmediate. The daemon requests DaemonClient batches per turn also commit the
// turn first (the exporter's `beforeSend`, exporter/daemons.ts): a run's "Recovering" is committed
// before its recover request leaves, as it was with one commit a write, whichever came first in the turn.
// A kill -9 loses at most the turn that was being written (the daemons' leases cover that, as for
// any exporter crash).
//
// Failure: when COMMIT (or a write inside the turn) fails, the turn is rolled back and every
// participant takes back what it wrote in it into its in-memory queue (health.ts), events under the
// same ids, and the store turns degraded as for any failed write. While degraded nothing is grouped:
// each write stands alone, which is what health.ts's retry and reserve expect.
//
// Writes that must stand or fail on their own (a new experiment's insert, a deletion, workflows,
// firing alerts, the freeze, retention) call commit() first, so they never run inside a turn.

/** A store whose writes join the turn: it is told how the turn ended. */
export interface TurnParticipant {
  /** The turn's writes are in the file: forget them. */
  committed(): void;
  /** The turn was rolled back: keep what was written in it in memory, to be written later. */
  rolledBack(): void;
}

export class GroupCommit {
  private open = false;
  private readonly participants = new Set<TurnParticipant>();

  constructor(private readonly db: DB) {}

  register(p: TurnParticipant): void {
    this.participants.add(p);
  }

  /** Called before a write that may be grouped; true when the write runs inside this turn's transaction. */
  join(): boolean {
    if (this.open) return true;
    if (!this.db.open || this.db.inTransaction || storeHealth(this.db).degraded) return false;
    try {
      this.db.exec('BEGIN');
    } catch {
      return false; // the write runs alone and reports its own failure
    }
    this.open = true;
    setImmediate(() => this.commit());
    return true;
  }

  /** Commits the turn now (before a write that must stand alone, before close). */
  commit(): void {
    if (!this.open) return;
    this.open = false;
    try {
      // SQLite rolls a transaction back by itself after some errors (a full disk inside a write)
      if (!this.db.inTransaction) throw new Error('the transaction was rolled back');
      this.db.exec('COMMIT');
    } catch (err) {
      this.fail(err);
      return;
    }
    for (const p of this.participants) p.committed();
  }

  /** A write inside the turn failed (the writer reports that failure): roll the turn back, hand its writes back. */
  abort(): void {
    if (!this.open) return;
    this.open = false;
    this.rollBack();
  }

  private fail(err: unknown): void {
    this.rollBack();
    storeHealth(this.db).failed(err, "committing one turn's writes");
  }

  private rollBack(): void {
    try {
      if (this.db.open && this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch {
      /* rolled back already */
    }
    for (const p of this.participants) p.rolledBack();
  }
}

const byDb = new WeakMap<DB, GroupCommit>();

/** The one GroupCommit of a database connection (every store on it shares it). */
export function groupCommit(db: DB): GroupCommit {
  let g = byDb.get(db);
  if (!g) byDb.set(db, (g = new GroupCommit(db)));
  return g;
}
