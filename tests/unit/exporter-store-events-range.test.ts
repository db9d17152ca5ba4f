import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { FaultlineEvent } from '../../api/events';
import { openDatabase } from '../../exporter/store/db';
import { EventStore, type EventFilter } from '../../exporter/store/event-log';
import { MIGRATIONS } from '../../exporter/store/migrations';

// Time ranges become id ranges through the time high-water mark and the late flag: whatever order
// the times come in (clock steps back, explicit times, equal times), a range query returns exactly
// the events a scan of the whole log would, in a fresh database and in one migrated from before.

jest.setTimeout(60_000);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), `fl-events-range-${process.pid}-`));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A deterministic pseudo-random sequence (the same events every run). */
function rng(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

const T0 = Date.parse('2031-03-01T00:00:00Z');

/** Mostly increasing times, with steps back (late events), repeats and a few far-off ones. */
function times(n: number): number[] {
  const r = rng(7);
  const out: number[] = [];
  let t = T0;
  for (let i = 0; i < n; i++) {
    const x = r();
    if (x < 0.1) out.push(t - Math.floor(r() * 60_000)); // late: before the newest so far
    else if (x < 0.15) out.push(t); // the same millisecond again
    else if (x < 0.17) out.push(T0 - 3_600_000 + Math.floor(r() * 600_000)); // far back
    else out.push((t += Math.floor(r() * 2_000)));
  }
  return out;
}

function insertAll(store: EventStore, ts: number[]): void {
  ts.forEach((time, i) => store.insert({ time: new Date(time).toISOString(), type: i % 3 ? 'injected' : 'recovered', namespace: `ns-${i % 4}`, message: `m${i}` }));
}

type Timed = FaultlineEvent & { ms: number };

/** What the range query must return: every event, filtered in JS, oldest id first. */
function reference(all: Timed[], f: EventFilter): FaultlineEvent[] {
  return all
    .filter((e) => (f.fromMs === undefined || e.ms >= f.fromMs) && (f.toMs === undefined || e.ms <= f.toMs))
    .filter((e) => (f.after === undefined || e.id > f.after) && (!f.namespace || e.namespace === f.namespace))
    .slice(0, f.limit)
    .map(({ ms: _ms, ...e }) => e);
}

function checkRanges(store: EventStore, ts: number[]): void {
  const all = store.query({ limit: 100_000 }).items.map((e) => ({ ...e, ms: Date.parse(e.time) }));
  expect(all).toHaveLength(ts.length);
  const r = rng(11);
  const lo = Math.min(...ts) - 1_000;
  const hi = Math.max(...ts) + 1_000;
  for (let i = 0; i < 150; i++) {
    const a = lo + Math.floor(r() * (hi - lo));
    const b = a + Math.floor(r() * (hi - lo) * (i % 3 === 0 ? 0.02 : 0.3));
    const f: EventFilter = { limit: i % 5 === 0 ? 7 : 10_000 };
    if (i % 7 !== 1) f.fromMs = a;
    if (i % 7 !== 2) f.toMs = b;
    if (i % 4 === 0) f.namespace = `ns-${i % 3}`;
    if (i % 6 === 0) f.after = Math.floor(r() * ts.length);
    const want = reference(all, f);
    expect([f, store.query(f).items.map((e) => e.id)]).toEqual([f, want.map((e) => e.id)]);
    expect([f, JSON.parse(store.queryJson(f).json)]).toEqual([f, want]);
  }
  // exact times of late and repeated events as both ends of the range
  for (const t of ts.slice(0, 100)) {
    const f = { fromMs: t, toMs: t, limit: 10_000 };
    expect(store.query(f).items.map((e) => e.id)).toEqual(reference(all, f).map((e) => e.id));
  }
}

describe('event time ranges', () => {
  it('are exact with late, repeated and far-off times', () => {
    const db = openDatabase(dir);
    try {
      const store = new EventStore(db);
      const ts = times(2_000);
      insertAll(store, ts);
      expect((db.prepare('SELECT COUNT(*) AS n FROM events WHERE late = 1').get() as { n: number }).n).toBeGreaterThan(100);
      checkRanges(store, ts);
      // nothing in range at all, before the first and after the last event
      expect(store.query({ fromMs: Math.max(...ts) + 1, limit: 10 }).items).toEqual([]);
      expect(store.query({ toMs: Math.min(...ts) - 1, limit: 10 }).items).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('are exact in a database migrated from before the high-water mark, and after more events', () => {
    const old = new Database(path.join(dir, 'faultline.db'));
    old.pragma('journal_mode = WAL');
    for (let v = 0; v < 3; v++) old.exec(MIGRATIONS[v]);
    old.pragma('user_version = 3');
    const ts = times(1_500);
    const ins = old.prepare('INSERT INTO events (time_ms, type, namespace, message) VALUES (?, ?, ?, ?)');
    ts.forEach((t, i) => ins.run(t, i % 3 ? 'injected' : 'recovered', `ns-${i % 4}`, `m${i}`));
    old.close();

    const db = openDatabase(dir);
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      const store = new EventStore(db);
      checkRanges(store, ts);
      const more = ts.slice(0, 300).map((t) => t + 30_000);
      insertAll(store, more);
      checkRanges(store, [...ts, ...more]);
    } finally {
      db.close();
    }
  });
});
