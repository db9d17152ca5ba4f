import type { Logger } from 'pino';
import { parseDuration } from '../../api/units';
import type { DB } from './db';
import { storeHealth } from './health';
import { groupCommit } from './group-commit';

// Retention: the database stays bounded under any churn. Events older than `retention`, or beyond
// the newest `maxEvents`, are deleted; so are ended experiments (Finished, Aborted, Failed, and
// ended workflows) last updated before `retention`, and the oldest ended experiments beyond
// `maxEndedRuns`. Active experiments are never touched. The freed pages go back to the file system
// (auto_vacuum INCREMENTAL + incremental_vacuum), and the WAL is cut after each pass
// (journal_size_limit), so the file shrinks instead of only stopping to grow.
//
// It runs every `everyMs` in batches of BATCH rows, yielding to the event loop between batches, so a
// pass over a large backlog never holds a request up for more than one batch (a few ms). A degraded
// store (disk full) is left alone: deleting needs the WAL to grow first.

export interface RetentionOptions {
  /** Age after which events and ended runs are deleted (a duration, e.g. "14d"; "0" turns age off). */
  retention?: string;
  /** Most events kept (0: no count limit). */
  maxEvents?: number;
  /** Most ended experiments kept (0: no count limit). */
  maxEndedRuns?: number;
  everyMs?: number;
}

export const RETENTION_DEFAULTS = { retention: '336h', maxEvents: 500_000, maxEndedRuns: 10_000 } as const;

/** Rows deleted per statement: small enough that one batch is a few ms. */
const BATCH = 2000;
/** Pages returned to the file system per step. */
const VACUUM_PAGES = 1000;

export interface RetentionPass {
  events: number;
  experiments: number;
  workflows: number;
  /** Bytes of the file and its WAL after the pass. */
  bytes: number;
}

export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RetentionPass> | undefined;
  readonly ageMs: number;
  readonly maxEvents: number;
  readonly maxEndedRuns: number;
  /** Rows deleted since start, by table (faultline_retention_deleted_total). */
  readonly deleted = { events: 0, experiments: 0, workflows: 0 };
  private closed = false;

  constructor(
    private readonly db: DB,
    o: RetentionOptions = {},
    private readonly log?: Logger,
  ) {
    const age = o.retention ?? RETENTION_DEFAULTS.retention;
    this.ageMs = age === '0' ? 0 : parseDuration(age);
    this.maxEvents = o.maxEvents ?? RETENTION_DEFAULTS.maxEvents;
    this.maxEndedRuns = o.maxEndedRuns ?? RETENTION_DEFAULTS.maxEndedRuns;
    const every = o.everyMs ?? 60_000;
    this.timer = setInterval(() => void this.run(), every);
    this.timer.unref();
    const first = setTimeout(() => void this.run(), Math.min(every, 5000));
    first.unref();
  }

  /** One pass (a running pass is joined, never doubled). */
  run(): Promise<RetentionPass> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<RetentionPass> {
    const out: RetentionPass = { events: 0, experiments: 0, workflows: 0, bytes: 0 };
    const health = storeHealth(this.db);
    if (this.closed || !this.db.open || health.degraded) return { ...out, bytes: health.bytes() };
    try {
      const now = Date.now();
      const cutoffMs = this.ageMs > 0 ? now - this.ageMs : undefined;
      // events: one id below which everything goes (time via the high-water index, count via ids)
      let below = 0;
      if (cutoffMs !== undefined) {
        const first = this.db.prepare('SELECT id FROM events WHERE time_hw >= ? ORDER BY time_hw, id LIMIT 1').get(cutoffMs) as { id: number } | undefined;
        below = first ? first.id : ((this.db.prepare('SELECT MAX(id) AS id FROM events').get() as { id: number | null }).id ?? 0) + 1;
      }
      if (this.maxEvents > 0) {
        const newest = (this.db.prepare('SELECT MAX(id) AS id FROM events').get() as { id: number | null }).id ?? 0;
        below = Math.max(below, newest - this.maxEvents + 1);
      }
      if (below > 0) out.events = await this.batches('DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id < ? ORDER BY id LIMIT ?)', [below]);
      // ended experiments: by age, then the oldest beyond the count
      const ended = "phase IN ('Finished','Aborted','Failed')";
      if (cutoffMs !== undefined) {
        out.experiments += await this.batches(`DELETE FROM experiments WHERE uid IN (SELECT uid FROM experiments WHERE ${ended} AND updated_ms < ? LIMIT ?)`, [cutoffMs]);
      }
      if (this.maxEndedRuns > 0) {
        const n = (this.db.prepare(`SELECT COUNT(*) AS n FROM experiments WHERE ${ended}`).get() as { n: number }).n;
        if (n > this.maxEndedRuns) {
          out.experiments += await this.batches(
            `DELETE FROM experiments WHERE uid IN (SELECT uid FROM experiments WHERE ${ended} ORDER BY updated_ms LIMIT MIN(?, ?))`,
            [n - this.maxEndedRuns],
            true,
          );
        }
      }
      if (cutoffMs !== undefined && this.hasTable('workflows')) {
        out.workflows = await this.batches(
          `DELETE FROM workflows WHERE uid IN (SELECT uid FROM workflows WHERE phase IN ('Succeeded','Failed','Aborted') AND json_extract(doc, '$.status.endedAt') < ? LIMIT ?)`,
          [new Date(cutoffMs).toISOString()],
        );
      }
      if (out.events + out.experiments + out.workflows > 0) await this.shrink();
      this.deleted.events += out.events;
      this.deleted.experiments += out.experiments;
      this.deleted.workflows += out.workflows;
    } catch (err) {
      // a write the disk refuses is the store's to report (store/health.ts); the next pass tries again
      if (this.db.open) health.failed(err, 'retention');
      this.log?.warn({ err: String(err) }, 'retention pass failed');
    }
    out.bytes = health.bytes();
    return out;
  }

  /**
   * Runs a DELETE … LIMIT ? until it deletes nothing, yielding between batches. With `budget`, the
   * first argument is how many rows may go in all (counted down; the statement's MIN caps a batch).
   */
  private async batches(sql: string, args: unknown[], budget = false): Promise<number> {
    const stmt = this.db.prepare(sql);
    let total = 0;
    let left = budget ? (args[0] as number) : Infinity;
    for (;;) {
      if (this.closed || !this.db.open || left <= 0) return total;
      groupCommit(this.db).commit(); // deletions stand alone (group-commit.ts)
      const changes = budget ? stmt.run(left, BATCH).changes : stmt.run(...args, BATCH).changes;
      total += changes;
      left -= changes;
      if (changes < BATCH && !(budget && left > 0 && changes > 0)) return total;
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Gives free pages back to the file system and cuts the WAL. */
  private async shrink(): Promise<void> {
    for (;;) {
      if (this.closed || !this.db.open) return;
      groupCommit(this.db).commit();
      const free = this.db.pragma('freelist_count', { simple: true }) as number;
      if (free === 0) break;
      this.db.pragma(`incremental_vacuum(${VACUUM_PAGES})`);
      await new Promise((r) => setImmediate(r));
      if (free <= VACUUM_PAGES) break;
    }
    if (this.db.open) this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  private hasTable(name: string): boolean {
    return !!this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
