import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { groupCommit } from './group-commit';
import { storeHealth } from './health';
import { MIGRATIONS } from './migrations';

// One SQLite file per exporter (`<data-dir>/faultline.db`), WAL so readers (scrapes, event
// queries) never wait for the engine's writes. synchronous=NORMAL: in WAL mode a crash of the
// process loses nothing; a power loss may lose the last transactions, never corrupt the file.

export type DB = Database.Database;

export function openDatabase(dataDir: string): DB {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(path.join(dataDir, 'faultline.db'));
  // Retention (store/retention.ts) gives deleted pages back to the file system: that needs
  // auto_vacuum INCREMENTAL, set before anything is written to a new file; one made before it gets it
  // by one VACUUM here (once). The WAL is cut back to journal_size_limit after each checkpoint.
  if ((db.pragma('auto_vacuum', { simple: true }) as number) !== 2) {
    db.pragma('auto_vacuum = INCREMENTAL');
    try {
      if ((db.pragma('user_version', { simple: true }) as number) > 0) db.exec('VACUUM');
    } catch {
      /* no room for the copy VACUUM makes (a full disk): the next start tries again */
    }
  }
  db.pragma('journal_mode = WAL');
  db.pragma('journal_size_limit = 67108864');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  storeHealth(db).makeReserve();
  return db;
}

export function migrate(db: DB): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return MIGRATIONS.length;
}

/** A value kept across restarts (e.g. the exporter's instance id). */
export function metaGet(db: DB, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

export function metaSet(db: DB, key: string, value: string): void {
  groupCommit(db).commit();
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
}
