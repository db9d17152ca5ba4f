import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

// One exporter per data dir. Two exporters on one SQLite file would each drive "their" running
// experiments: the second rewrites the first's runs while their faults stay applied. The lock is
// an exclusive SQLite lock on `<data-dir>/exporter.lock` (locking_mode EXCLUSIVE: taken by the first
// write transaction and kept until the connection closes), so the kernel drops it when the process
// dies, kill -9 included: no stale lock file to clean up. SQLite keeps the lock state per file
// across connections of one process too, so two exporters in one process (tests) exclude each
// other as well. `exporter.pid` beside it names the holder in the refusal (best effort: a full
// disk may leave it unwritten, never the lock untaken).

export interface DataDirLock {
  release(): void;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    holder: string,
  ) {
    super(`data dir ${dataDir} is in use by another exporter${holder}: one exporter per data dir (stop that one, or give this one another --data-dir)`);
    this.name = 'DataDirLockedError';
  }
}

export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, 'exporter.lock');
  const pidFile = path.join(dataDir, 'exporter.pid');
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT;');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
    let holder = '';
    try {
      const info = JSON.parse(readFileSync(pidFile, 'utf8')) as { pid?: number; since?: string };
      holder = ` (pid ${info.pid}, since ${info.since})`;
    } catch {
      /* unknown holder */
    }
    throw new DataDirLockedError(dataDir, holder);
  }
  try {
    writeFileSync(pidFile, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }));
  } catch {
    /* the lock is what counts */
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      db.close();
    },
  };
}
