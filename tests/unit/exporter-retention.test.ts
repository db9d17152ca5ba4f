import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Experiment } from '../../api/experiment';
import { openDatabase, type DB } from '../../exporter/store/db';
import { EventStore } from '../../exporter/store/event-log';
import { ExperimentStore } from '../../exporter/store/experiments';
import { Retention } from '../../exporter/store/retention';

// Retention on a real SQLite file: old events, events beyond the count, old and surplus ended
// experiments go; active experiments and recent events stay; the file gives the pages back.

jest.setTimeout(30_000);

let dir: string;
let db: DB;
let retention: Retention | undefined;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), `fl-retention-${process.pid}-`));
  db = openDatabase(dir);
});
afterEach(() => {
  retention?.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function exp(name: string, phase: Experiment['status']['phase']): Experiment {
  return {
    apiVersion: 'faultline.dev/v1alpha1',
    kind: 'Experiment',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: new Date().toISOString() },
    spec: { fault: { kind: 'process-pause', params: {} }, duration: '1m' },
    status: { phase, targets: [{ id: '0', daemon: 'a', target: { pid: 1 }, description: 'x'.repeat(2000), phase: 'Pending' }], conditions: [] },
  };
}

const size = () => statSync(path.join(dir, 'faultline.db')).size;

describe('retention', () => {
  it('the database uses incremental auto-vacuum', () => {
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
  });

  it('deletes events by age and by count, keeps the newest, and shrinks the file', async () => {
    const events = new EventStore(db);
    const old = Date.now() - 3 * 3600_000;
    db.transaction(() => {
      for (let i = 0; i < 6000; i++) events.insert({ type: 'created', message: `old ${i} ${'y'.repeat(1000)}`, time: new Date(old + i).toISOString() });
      for (let i = 0; i < 1500; i++) events.insert({ type: 'created', message: `new ${i} ${'y'.repeat(1000)}` });
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    const before = size();
    retention = new Retention(db, { retention: '1h', maxEvents: 1000, maxEndedRuns: 0, everyMs: 3_600_000 });
    const pass = await retention.run();
    expect(pass.events).toBe(6500);
    const left = db.prepare('SELECT COUNT(*) AS n, MIN(message) AS m FROM events').get() as { n: number; m: string };
    expect(left.n).toBe(1000);
    expect(events.query({ limit: 1 }).items[0].message).toMatch(/^new 500 /); // the newest 1000 of the recent ones
    expect(size()).toBeLessThan(before / 3);
  });

  it('deletes ended experiments by age and beyond the count, never active ones', async () => {
    const store = new ExperimentStore(db);
    for (let i = 0; i < 50; i++) store.insert(exp(`ended-${i}`, 'Finished'));
    for (let i = 0; i < 5; i++) store.insert(exp(`active-${i}`, 'Running'));
    // ten ended long ago
    db.prepare("UPDATE experiments SET updated_ms = ? WHERE name LIKE 'ended-1_'").run(Date.now() - 48 * 3600_000);
    retention = new Retention(db, { retention: '24h', maxEvents: 0, maxEndedRuns: 30, everyMs: 3_600_000 });
    const pass = await retention.run();
    expect(pass.experiments).toBe(20); // 10 by age, then 10 of the 40 left beyond 30
    expect(store.list({ phase: 'Running' })).toHaveLength(5);
    expect(store.list({ phase: 'Finished' })).toHaveLength(30);
    expect(store.get('default', 'ended-15')).toBeUndefined();
  });

  it('"0" turns each limit off', async () => {
    const events = new EventStore(db);
    events.insert({ type: 'created', message: 'ancient', time: '2001-01-01T00:00:00.000Z' });
    retention = new Retention(db, { retention: '0', maxEvents: 0, maxEndedRuns: 0, everyMs: 3_600_000 });
    expect((await retention.run()).events).toBe(0);
  });
});
