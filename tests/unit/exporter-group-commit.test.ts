import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type { Experiment } from '../../api/experiment';
import pino from 'pino';
import { DaemonRegistry } from '../../exporter/daemons';
import { openDatabase, type DB } from '../../exporter/store/db';
import { EventStore } from '../../exporter/store/event-log';
import { ExperimentStore } from '../../exporter/store/experiments';
import { groupCommit } from '../../exporter/store/group-commit';
import { storeHealth } from '../../exporter/store/health';

// Group commit (exporter/store/group-commit.ts): one turn's experiment documents and events are one
// transaction; a turn that cannot be committed is rolled back and everything it wrote waits in memory
// (events under the ids the stream already carried) until the store's retry writes it.

let dir: string;
let db: DB;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), `fl-gc-${process.pid}-`));
  db = openDatabase(dir);
});
afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function exp(name: string): Experiment {
  return {
    apiVersion: 'faultline.dev/v1alpha1',
    kind: 'Experiment',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: new Date().toISOString() },
    spec: { fault: { kind: 'process-pause', params: {} }, duration: '1m' },
    status: { phase: 'Running', targets: [], conditions: [] },
  };
}

/** What another connection (a restart) finds in the file. */
function onDisk(): { phases: Record<string, string>; events: number[] } {
  const other = new Database(path.join(dir, 'faultline.db'), { readonly: true });
  try {
    const phases = Object.fromEntries((other.prepare('SELECT name, phase FROM experiments').all() as { name: string; phase: string }[]).map((r) => [r.name, r.phase]));
    const events = (other.prepare('SELECT id FROM events ORDER BY id').all() as { id: number }[]).map((r) => r.id);
    return { phases, events };
  } finally {
    other.close();
  }
}

describe('group commit', () => {
  it("one turn's updates and events are one transaction, visible at once, in the file after the turn", async () => {
    const store = new ExperimentStore(db);
    const events = new EventStore(db);
    const docs = Array.from({ length: 50 }, (_, i) => exp(`e${i}`));
    for (const d of docs) expect(store.insert(d)).toBe(true);
    for (const d of docs) {
      d.status.phase = 'Recovering';
      store.update(d);
      events.insert({ type: 'recovering', experiment: d.metadata.name, message: 'recovering' });
    }
    expect(db.inTransaction).toBe(true); // grouped
    expect(store.get('default', 'e7')?.status.phase).toBe('Recovering'); // this connection sees them
    expect(onDisk().phases.e7).toBe('Running'); // another does not, yet
    await nextTurn();
    expect(db.inTransaction).toBe(false);
    const disk = onDisk();
    expect(Object.values(disk.phases).every((p) => p === 'Recovering')).toBe(true);
    expect(disk.events).toHaveLength(50);
  });

  it("a daemon request queued in a turn leaves after the turn's writes are in the file, even those made after it", async () => {
    // The exporter's registry commits the turn before each turn's batches leave (exporter/daemons.ts):
    // a run's Recovering is durable before its recover request is on the wire, whatever came first.
    const server = http.createServer((req, res) => {
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'no such fault' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const registry = new DaemonRegistry([{ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, name: 'd' }], {
      log: pino({ level: 'silent' }),
      beforeSend: () => groupCommit(db).commit(),
    });
    const request = http.request;
    let diskWhenSent: Record<string, string> | undefined;
    const sent = jest.spyOn(http, 'request').mockImplementationOnce(((...args: Parameters<typeof http.request>) => {
      diskWhenSent = onDisk().phases;
      return request(...args);
    }) as typeof http.request);
    try {
      const store = new ExperimentStore(db);
      const a = exp('a');
      store.insert(a);
      const recovered = registry.clients[0].deleteFault('fl-a'); // queued first in the turn
      a.status.phase = 'Recovering';
      store.update(a); // then the write, grouped into the turn
      expect(db.inTransaction).toBe(true);
      await expect(recovered).resolves.toBeUndefined(); // 404: already gone
      expect(diskWhenSent).toEqual({ a: 'Recovering' });
    } finally {
      sent.mockRestore();
      registry.close();
      await new Promise((r) => server.close(r));
    }
  });

  it('a write that must stand alone commits the turn first (a new experiment, a deletion)', () => {
    const store = new ExperimentStore(db);
    const a = exp('a');
    store.insert(a);
    a.status.phase = 'Finished';
    store.update(a);
    expect(db.inTransaction).toBe(true);
    store.insert(exp('b'));
    expect(db.inTransaction).toBe(false);
    expect(onDisk().phases).toEqual({ a: 'Finished', b: 'Running' });
  });

  it('a turn rolled back: its writes wait in memory with their ids, reads see them, the retry writes them', async () => {
    const store = new ExperimentStore(db);
    const events = new EventStore(db);
    const health = storeHealth(db);
    const a = exp('a');
    store.insert(a);
    await nextTurn();
    const before = onDisk().events.length;
    a.status.phase = 'Aborted';
    store.update(a);
    const e1 = events.insert({ type: 'aborted', experiment: 'a', message: 'aborted by alert X' });
    const e2 = events.insert({ type: 'recovered', experiment: 'a', message: 'recovered' });
    // SQLite rolls a transaction back by itself after some failures (a full disk inside a write)
    db.exec('ROLLBACK');
    groupCommit(db).commit();
    expect(health.degraded).toBe(true);
    expect(health.pending()).toBe(3);
    expect(store.get('default', 'a')?.status.phase).toBe('Aborted');
    expect(onDisk().phases.a).toBe('Running');
    // the next event queues behind them with the next id; the stream's ids never go back
    const e3 = events.insert({ type: 'deleted', experiment: 'a', message: 'x' });
    expect([e1.id, e2.id, e3.id]).toEqual([e1.id, e1.id + 1, e1.id + 2]);
    expect(health.retry()).toBe(true);
    expect(health.degraded).toBe(false);
    const disk = onDisk();
    expect(disk.phases.a).toBe('Aborted');
    expect(disk.events.slice(before)).toEqual([e1.id, e2.id, e3.id]);
  });

  it('nothing is grouped while the store is degraded (each write alone, as the retry expects)', () => {
    const store = new ExperimentStore(db);
    const a = exp('a');
    store.insert(a);
    storeHealth(db).failed(new Error('disk full'), 'test');
    a.status.phase = 'Paused';
    store.update(a);
    expect(db.inTransaction).toBe(false);
    expect(onDisk().phases.a).toBe('Paused');
  });
});
