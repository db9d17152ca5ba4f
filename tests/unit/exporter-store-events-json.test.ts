import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { FaultlineEvent } from '../../api/events';
import { authenticate } from '../../exporter/auth/middleware';
import { TokenSet } from '../../exporter/auth/tokens';
import { EventBus } from '../../exporter/event-bus';
import { eventRoutes } from '../../exporter/routes/events';
import { appOf } from '../../exporter/routes/router';
import { openDatabase, type DB } from '../../exporter/store/db';
import { EventStore, type EventFilter, type NewEvent } from '../../exporter/store/event-log';

// GET /api/v1/events splices the JSON text SQLite writes for each event: it must be, byte for
// byte, what JSON.stringify gave for the event objects (key order, absent fields, escapes, times).

let dir: string;
let db: DB;
let store: EventStore;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), `fl-events-json-${process.pid}-`));
  db = openDatabase(dir);
  store = new EventStore(db);
});
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const awkward = [
  'plain',
  'quote " backslash \\ slash / <html> & \'',
  'controls \u0000\u0001\b\t\n\u000b\f\r\u001f\u007f end',
  'unicode é ü 漢字 😀 \u2028\u2029 \ufeff',
  'lone surrogate \ud800 here', // stored as U+FFFD by SQLite's UTF-8: both paths read that back
  '',
];

const times = [
  '2030-01-01T00:00:00.000Z',
  '2030-01-01T00:00:00.001Z',
  '2030-06-15T12:34:56.789Z',
  '1970-01-01T00:00:00.000Z',
  '1969-12-31T23:59:59.999Z',
  '1900-02-28T01:02:03.450Z',
  '0001-01-01T00:00:00.000Z',
  '0000-01-01T00:00:00.000Z',
  '-000001-12-31T23:59:59.999Z',
  '9999-12-31T23:59:59.999Z',
  '+010000-01-01T00:00:00.000Z', // beyond strftime: serialised in JS instead
  '-000001-06-01T00:00:00.000Z',
];

function fixtures(): NewEvent[] {
  const out: NewEvent[] = [];
  times.forEach((time, i) => out.push({ time, type: 'created', message: `time ${i}` }));
  awkward.forEach((s, i) =>
    out.push({ time: '2031-01-01T00:00:00.000Z', type: i % 2 ? 'injected' : s || 'x', message: s, experiment: s, namespace: 'ns', uid: s, kind: s, target: s, phase: s, actor: s }),
  );
  // every optional field present alone, then all absent
  for (const k of ['experiment', 'namespace', 'uid', 'kind', 'target', 'phase', 'actor'] as const) out.push({ time: '2032-01-01T00:00:00.000Z', type: 'running', message: k, [k]: `${k} value` });
  for (let i = 0; i < 50; i++) out.push({ time: new Date(Date.parse('2033-01-01T00:00:00Z') + i * 1000 + (i % 7)).toISOString(), type: ['injected', 'recovered'][i % 2], namespace: `ns-${i % 3}`, experiment: `e${i % 4}`, kind: 'process-pause', message: `m${i}` });
  return out;
}

const expected = (f: EventFilter) => {
  const { items, more } = store.query(f);
  return { json: JSON.stringify(items), count: items.length, lastId: items.length ? items[items.length - 1].id : 0, more };
};

describe('events as JSON text from the store', () => {
  beforeAll(() => {
    for (const e of fixtures()) store.insert(e);
  });

  it('gives exactly the bytes JSON.stringify gives for the event objects', () => {
    const all = store.queryJson({ limit: 10_000 });
    expect(all).toEqual(expected({ limit: 10_000 }));
    expect(all.count).toBe(fixtures().length);
    // every field of the wire schema is written (a field added to api/events.ts must be added here too)
    const full = (JSON.parse(all.json) as Record<string, unknown>[]).find((e) => e.message === 'plain')!;
    expect(Object.keys(full)).toEqual(['id', 'time', 'type', 'message', 'experiment', 'namespace', 'uid', 'kind', 'target', 'phase', 'actor']);
    expect(new Set(Object.keys(full))).toEqual(new Set(Object.keys(FaultlineEvent.properties)));
  });

  it('pages, filters and ranges like query()', () => {
    const t = (s: string) => Date.parse(s);
    const filters: EventFilter[] = [
      { limit: 7 },
      { limit: 7, after: 7 },
      { limit: 1000, fromMs: t('2033-01-01T00:00:10Z'), toMs: t('2033-01-01T00:00:30Z') },
      { limit: 5, fromMs: t('2033-01-01T00:00:10Z'), toMs: t('2033-01-01T00:00:30Z') },
      { limit: 1000, namespace: 'ns-1', type: 'injected,recovered', fromMs: t('2033-01-01T00:00:00Z') },
      { limit: 1000, experiment: 'e2', kind: 'process-pause' },
      { limit: 1000, fromMs: t('2040-01-01T00:00:00Z') },
      { limit: 1000, toMs: t('1000-01-01T00:00:00Z') },
      { limit: 1000, namespace: 'nobody' },
    ];
    for (const f of filters) expect([f, store.queryJson(f)]).toEqual([f, expected(f)]);
  });

  it('GET /events sends the same body res.json sent for { items, nextCursor }', async () => {
    const log = pino({ level: 'silent' });
    const bus = new EventBus(store, { log });
    const app = appOf({ routes: eventRoutes(store, bus), authenticate: authenticate({ tokens: TokenSet.empty() }), log });
    const server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/api/v1/events`;
      for (const [qs, f] of [
        ['limit=10', { limit: 10 }],
        ['limit=10&after=60', { limit: 10, after: 60 }],
        ['namespace=ns-2&type=injected', { limit: 1000, namespace: 'ns-2', type: 'injected' }],
        ['from=2040-01-01T00:00:00Z', { limit: 1000, fromMs: Date.parse('2040-01-01T00:00:00Z') }],
      ] as [string, EventFilter][]) {
        const res = await fetch(`${base}?${qs}`);
        expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
        const { items, more } = store.query(f);
        expect(await res.text()).toBe(JSON.stringify({ items, ...(more && items.length ? { nextCursor: String(items[items.length - 1].id) } : {}) }));
      }
    } finally {
      bus.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
