import { closeSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import type { DB } from './db';

// Whether the exporter's SQLite file takes writes. A write that fails (disk full, I/O error, a
// read-only file) never fails the request that made it once the faults are reverted: the stores
// keep what they could not write in memory (the newest state of each experiment, events in order)
// and mark the store degraded; a retry every `retryMs` writes it out when it can and clears the
// flag. While degraded, reads come from memory first, new chaos is refused (503 store_degraded),
// and everything that stops chaos works. Reported in /api/v1/health (`store`) and by the metrics
// faultline_store_degraded, faultline_store_pending_writes, faultline_store_write_failures_total.
//
// A reserve: `<data-dir>/reserve.bin` (RESERVE_BYTES) is made at start while there is room. The first
// failed write deletes it and writes what waits at once, so the end of a stop is recorded even on a
// disk that something else filled (and a restart does not find the experiment still Running). The
// store stays degraded until the reserve could be made again, i.e. until the disk has room.

/** Writes something out; returns true when nothing is left waiting. Never throws. */
export type Flusher = () => boolean;

export interface StoreStatus {
  degraded: boolean;
  /** The last write error while degraded (e.g. "database or disk is full"). */
  error?: string;
  /** Since when writes fail (RFC 3339). */
  since?: string;
  /** Records kept in memory until the file takes writes again. */
  pendingWrites: number;
  /** Size of the database file and its write-ahead log, bytes. */
  bytes?: number;
}

/** Room kept free for the stop path's bookkeeping on a disk that fills up. */
export const RESERVE_BYTES = 2 * 1024 * 1024;

export class StoreHealth {
  /** Set while the reserve file is gone (used, or never made): the store is not healthy without it. */
  private reserveUsed = false;
  private error: string | undefined;
  private sinceMs: number | undefined;
  /** Write failures since start (faultline_store_write_failures_total). */
  failures = 0;
  private readonly flushers = new Set<Flusher>();
  private readonly pendingCounts = new Set<() => number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: ((degraded: boolean, error?: string) => void)[] = [];

  constructor(
    readonly db: DB,
    private readonly retryMs = 1000,
  ) {}

  get degraded(): boolean {
    return this.error !== undefined;
  }

  /** A store registers how to write out what it keeps in memory, and how much that is. */
  register(flush: Flusher, pending: () => number): void {
    this.flushers.add(flush);
    this.pendingCounts.add(pending);
  }

  /** Hears each change between healthy and degraded (for an event and the log). */
  onChange(fn: (degraded: boolean, error?: string) => void): void {
    this.listeners.push(fn);
  }

  /** Records a failed write; starts the retry loop. */
  failed(err: unknown, what: string): void {
    this.failures++;
    const message = `${what}: ${(err as Error)?.message ?? String(err)}`;
    const was = this.degraded;
    this.error = message;
    this.sinceMs ??= Date.now();
    if (!was) for (const l of this.listeners) safe(() => l(true, message));
    if (this.releaseReserve()) setImmediate(() => this.retry());
    this.arm();
  }

  private get reservePath(): string | undefined {
    return this.db.memory ? undefined : `${this.db.name.replace(/[^/]*$/, '')}reserve.bin`;
  }

  /** Makes the reserve file (at start, and to become healthy again); false when there is no room. */
  makeReserve(): boolean {
    const file = this.reservePath;
    if (!file) return true;
    try {
      if (statSync(file).size >= RESERVE_BYTES) return true;
    } catch {
      /* not there yet */
    }
    const tmp = `${file}.tmp`;
    let fd: number | undefined;
    try {
      fd = openSync(tmp, 'w');
      const chunk = Buffer.alloc(64 * 1024);
      for (let off = 0; off < RESERVE_BYTES; off += chunk.length) writeSync(fd, chunk, 0, chunk.length, off);
      closeSync(fd);
      fd = undefined;
      renameSync(tmp, file);
      this.reserveUsed = false;
      return true;
    } catch {
      if (fd !== undefined) closeSync(fd);
      try {
        unlinkSync(tmp);
      } catch {
        /* never made */
      }
      return false;
    }
  }

  /** Deletes the reserve so that what waits can be written; true when it freed room. */
  private releaseReserve(): boolean {
    const file = this.reservePath;
    if (!file || this.reserveUsed) return false;
    this.reserveUsed = true;
    try {
      unlinkSync(file);
      return true;
    } catch {
      return false;
    }
  }

  pending(): number {
    let n = 0;
    for (const c of this.pendingCounts) n += c();
    return n;
  }

  /** Tries to write out everything kept in memory; healthy again when all of it went. */
  retry(): boolean {
    let clean = true;
    for (const f of this.flushers) if (!f()) clean = false;
    if (clean && this.degraded && this.probe()) {
      if (this.reserveUsed && !this.makeReserve()) {
        this.error = 'the disk under the data dir is full: what waited was written into the reserve (reserve.bin), which cannot be made again until there is room';
        return false;
      }
      this.error = undefined;
      this.sinceMs = undefined;
      for (const l of this.listeners) safe(() => l(false));
    }
    return !this.degraded;
  }

  /** A write that touches nothing else: whether the file takes writes at all right now. */
  private probe(): boolean {
    try {
      this.db.prepare("INSERT INTO meta (key, value) VALUES ('store_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(new Date().toISOString());
      return true;
    } catch (err) {
      this.error = `probe: ${(err as Error).message}`;
      return false;
    }
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.retry() && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    }, this.retryMs);
    this.timer.unref();
  }

  /** Bytes of the database file and its WAL (0 for a file that is not there). */
  bytes(): number {
    return fileSize(this.db.name) + fileSize(`${this.db.name}-wal`);
  }

  status(): StoreStatus {
    return {
      degraded: this.degraded,
      ...(this.error ? { error: this.error } : {}),
      ...(this.sinceMs ? { since: new Date(this.sinceMs).toISOString() } : {}),
      pendingWrites: this.pending(),
      bytes: this.bytes(),
    };
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // a last chance for what is still in memory (a graceful stop after the disk was freed)
    for (const f of this.flushers) f();
  }
}

function fileSize(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    /* a listener's failure is not the store's */
  }
}

const byDb = new WeakMap<DB, StoreHealth>();

/** The one StoreHealth of a database connection (every store on it shares it). */
export function storeHealth(db: DB): StoreHealth {
  let h = byDb.get(db);
  if (!h) byDb.set(db, (h = new StoreHealth(db)));
  return h;
}

/** Whether an error is SQLite's refusal to write (full, I/O, read-only, locked too long). */
export function isWriteFailure(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? '';
  return /^SQLITE_(FULL|IOERR|READONLY|BUSY|LOCKED|CANTOPEN|CORRUPT|NOMEM|PROTOCOL)/.test(code);
}
