import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate, openDatabase, type DB } from '../../exporter/store/db';
import { EventStore } from '../../exporter/store/event-log';
import { ExperimentStore } from '../../exporter/store/experiments';
import { checkModeValue, pickByMode } from '../../exporter/targets/mode';
import type { Experiment } from '../../api/experiment';

// The SQLite store (a real file in WAL mode), event queries with time ranges and cursors, and the
// target mode arithmetic.

let dir: string;
let db: DB;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), `fl-store-${process.pid}-`));
  db = openDatabase(dir);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function exp(name: string, phase: Experiment['status']['phase'], extra: Partial<Experiment['metadata']> = {}): Experiment {
  return {
    apiVersion: 'faultline.dev/v1alpha1',
    kind: 'Experiment',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: new Date().toISOString(), ...extra },
    spec: { fault: { kind: 'process-pause', params: {} }, duration: '1m' },
    status: { phase, targets: [{ id: '0', daemon: 'host-a', target: { pid: 1 }, description: 'pid 42 (sleep) on host-a', phase: 'Pending' }], conditions: [] },
  };
}

describe('database', () => {
  it('uses WAL and migrates once', () => {
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const v = db.pragma('user_version', { simple: true });
    expect(migrate(db)).toBe(v);
    db.close();
    db = openDatabase(dir); // reopening keeps the version and the data
    expect(db.pragma('user_version', { simple: true })).toBe(v);
  });
});

describe('experiment store', () => {
  it('refuses a taken namespace/name, filters, and counts by phase', () => {
    const s = new ExperimentStore(db);
    expect(s.insert(exp('a', 'Running'))).toBe(true);
    expect(s.insert({ ...exp('a', 'Pending'), metadata: { ...exp('a', 'Pending').metadata, uid: 'other' } })).toBe(false);
    expect(s.insert(exp('b', 'Finished'))).toBe(true);
    expect(s.insert(exp('sched-1', 'Finished', { labels: { 'faultline.dev/schedule': 'sched' } }))).toBe(true);
    expect(s.list({ phase: 'Running,Finished' }).map((e) => e.metadata.name).sort()).toEqual(['a', 'b', 'sched-1']);
    expect(s.list({ name: 'sched' }).map((e) => e.metadata.name)).toEqual(['sched-1']);
    expect(s.list({ target: 'SLEEP' })).toHaveLength(3);
    expect(s.list({ target: 'host-b' })).toHaveLength(0);
    expect(s.listActive().map((e) => e.metadata.name)).toEqual(['a']);
    expect(s.running()).toEqual([{ namespace: 'default', name: 'a', kind: 'process-pause' }]);
    expect(s.countByPhase().find((r) => r.phase === 'Finished')?.n).toBe(2);
    expect(s.endedRuns('default', 'sched').map((r) => r.name)).toEqual(['sched-1']);
    const a = s.get('default', 'a')!;
    a.status.phase = 'Finished';
    s.update(a);
    expect(s.getByUid('uid-a')?.status.phase).toBe('Finished');
    s.delete('uid-a');
    expect(s.get('default', 'a')).toBeUndefined();
  });
});

describe('event store', () => {
  it('queries a time range with filters and pages with a cursor, oldest first', () => {
    const s = new EventStore(db);
    const t0 = Date.parse('2030-01-01T00:00:00Z');
    for (let i = 0; i < 100; i++) {
      s.insert({ time: new Date(t0 + i * 1000).toISOString(), type: i % 2 ? 'injected' : 'recovered', experiment: `e${i % 3}`, namespace: 'ns', kind: 'process-pause', message: `m${i}` });
    }
    const range = s.query({ fromMs: t0 + 10_000, toMs: t0 + 19_000, limit: 1000 });
    expect(range.items.map((e) => e.message)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 10}`));
    expect(range.more).toBe(false);
    const filtered = s.query({ experiment: 'e1', type: 'injected', limit: 1000 });
    expect(filtered.items.every((e) => e.experiment === 'e1' && e.type === 'injected')).toBe(true);
    const page1 = s.query({ limit: 30 });
    expect(page1.more).toBe(true);
    const page2 = s.query({ limit: 30, after: page1.items[29].id });
    expect(page2.items[0].id).toBe(page1.items[29].id + 1);
    expect(s.query({ fromMs: t0 + 1_000_000, limit: 10 }).items).toEqual([]);
    expect(s.query({ toMs: t0 - 1, limit: 10 }).items).toEqual([]);
    expect(s.since(95, 100).map((e) => e.id)).toEqual([96, 97, 98, 99, 100]);
    expect(s.lastId()).toBe(100);
  });
});

describe('target modes', () => {
  const items = Array.from({ length: 10 }, (_, i) => i);
  it('picks the mode share', () => {
    expect(pickByMode(items, 'all', undefined)).toEqual(items);
    expect(pickByMode(items, 'one', undefined)).toHaveLength(1);
    expect(pickByMode(items, 'fixed', '3')).toHaveLength(3);
    expect(pickByMode(items, 'fixed', '30')).toHaveLength(10);
    expect(pickByMode(items, 'fixed-percent', '50')).toHaveLength(5);
    expect(pickByMode(items, 'random-max-percent', '50', () => 0.999)).toHaveLength(5);
    expect(pickByMode(items, 'random-max-percent', '50', () => 0)).toHaveLength(0);
    expect(new Set(pickByMode(items, 'fixed', '10')).size).toBe(10);
  });
  it('refuses bad values naming /spec/targets/value', () => {
    for (const [mode, value] of [['fixed', undefined], ['fixed', '0'], ['fixed-percent', '101'], ['random-max-percent', 'x'], ['fixed-percent', '0']] as const) {
      expect(() => checkModeValue(mode, value)).toThrow(expect.objectContaining({ status: 400, details: [expect.objectContaining({ field: '/spec/targets/value' })] }));
    }
  });
});
