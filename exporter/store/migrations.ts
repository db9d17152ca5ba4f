// Schema changes, in order. `PRAGMA user_version` records how many have run; each runs once in its
// own transaction, so a crash mid-migration leaves the previous version intact.
export const MIGRATIONS: string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE experiments (
     uid TEXT PRIMARY KEY,
     namespace TEXT NOT NULL,
     name TEXT NOT NULL,
     kind TEXT NOT NULL,
     phase TEXT NOT NULL,
     schedule_parent TEXT,
     created_ms INTEGER NOT NULL,
     updated_ms INTEGER NOT NULL,
     doc TEXT NOT NULL,
     UNIQUE (namespace, name)
   );
   CREATE INDEX experiments_phase ON experiments (phase);
   CREATE INDEX experiments_parent ON experiments (namespace, schedule_parent);
   CREATE TABLE events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     time_ms INTEGER NOT NULL,
     type TEXT NOT NULL,
     experiment TEXT,
     namespace TEXT,
     uid TEXT,
     kind TEXT,
     target TEXT,
     phase TEXT,
     message TEXT NOT NULL,
     actor TEXT
   );
   CREATE INDEX events_time ON events (time_ms);
   CREATE INDEX events_experiment ON events (namespace, experiment, id);`,
  // faultline_experiments is computed at every scrape: count from the index alone, never the documents
  `CREATE INDEX experiments_counts ON experiments (namespace, kind, phase);`,
  // faultline_experiment_running (one series per running experiment) from the index alone too; it
  // leads with phase, so it serves every phase filter the old one-column index did, which it replaces
  `CREATE INDEX experiments_phase_names ON experiments (phase, namespace, name, kind);
   DROP INDEX experiments_phase;`,
  // events: the time high-water mark and the late flag that turn a time range into an id range
  // through indexes (see store/event-log.ts), computed once for the events already stored
  `ALTER TABLE events ADD COLUMN time_hw INTEGER;
   ALTER TABLE events ADD COLUMN late INTEGER NOT NULL DEFAULT 0;
   UPDATE events SET time_hw = w.hw, late = IFNULL(events.time_ms < w.prev, 0)
     FROM (SELECT id,
                  MAX(time_ms) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING) AS hw,
                  MAX(time_ms) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev
           FROM events) AS w
     WHERE events.id = w.id;
   CREATE INDEX events_time_hw ON events (time_hw);
   CREATE INDEX events_late ON events (time_ms) WHERE late = 1;`,
];
