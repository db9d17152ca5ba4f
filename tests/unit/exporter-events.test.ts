import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import pino from 'pino';
import { EventBus } from '../../exporter/event-bus';
import { openDatabase, type DB } from '../../exporter/store/db';
import { EventStore } from '../../exporter/store/event-log';

// The live stream over a real HTTP server: ids, Last-Event-ID replay without gaps or repeats,
// filters, heartbeats, and a subscriber that stops reading is dropped while the others get everything.

jest.setTimeout(60_000);

let dir: string;
let db: DB;
let bus: EventBus;
let server: http.Server;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), `fl-sse-${process.pid}-`));
  db = openDatabase(dir);
  bus = new EventBus(new EventStore(db), { log: pino({ level: 'silent' }), heartbeatMs: 200, maxBufferedBytes: 64 * 1024 });
  const app = express();
  app.get('/stream', (req, res) => {
    const last = req.header('last-event-id');
    bus.stream(req, res, { namespace: typeof req.query.namespace === 'string' ? req.query.namespace : undefined }, last ? Number(last) : undefined);
  });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
afterAll(async () => {
  bus.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Reads frames from the stream until `until` says stop. */
async function collect(p: string, headers: Record<string, string>, until: (frames: string[]) => boolean): Promise<string[]> {
  const ac = new AbortController();
  const res = await fetch(url + p, { headers, signal: ac.signal });
  const frames: string[] = [];
  let buf = '';
  const deadline = setTimeout(() => ac.abort(), 20_000);
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += Buffer.from(chunk).toString();
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        frames.push(buf.slice(0, i));
        buf = buf.slice(i + 2);
      }
      if (until(frames)) break;
    }
  } finally {
    clearTimeout(deadline);
    ac.abort();
  }
  return frames;
}

const ids = (frames: string[]) => frames.filter((f) => f.startsWith('id: ')).map((f) => Number(/^id: (\d+)/.exec(f)![1]));

describe('event stream', () => {
  it('sends id + JSON data, replays after Last-Event-ID, then continues live without repeats', async () => {
    const first = [1, 2, 3].map((i) => bus.emit({ type: 'created', namespace: 'a', experiment: `e${i}`, message: `m${i}` }));
    const p = collect('/stream', { 'last-event-id': String(first[0].id) }, (f) => ids(f).length >= 3);
    await new Promise((r) => setTimeout(r, 300));
    const live = bus.emit({ type: 'running', namespace: 'a', message: 'live' });
    const frames = await p;
    expect(ids(frames)).toEqual([first[1].id, first[2].id, live.id]);
    const data = JSON.parse(frames.find((f) => f.startsWith(`id: ${live.id}`))!.split('data: ')[1]);
    expect(data).toMatchObject({ id: live.id, type: 'running', namespace: 'a', message: 'live' });
  });

  it('filters and heartbeats', async () => {
    const p = collect('/stream?namespace=b', {}, (f) => ids(f).length >= 1 && f.some((x) => x.includes(': heartbeat')));
    await new Promise((r) => setTimeout(r, 100));
    bus.emit({ type: 'created', namespace: 'other', message: 'not for b' });
    const mine = bus.emit({ type: 'created', namespace: 'b', message: 'for b' });
    const frames = await p;
    expect(ids(frames)).toEqual([mine.id]);
  });

  it('drops a subscriber that stops reading; the others get every event', async () => {
    // a raw socket that sends the request and then never reads
    const port = Number(new URL(url).port);
    const stuck = net.connect({ port, host: '127.0.0.1' });
    await new Promise((r) => stuck.once('connect', r));
    stuck.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n');
    stuck.pause();
    await new Promise((r) => setTimeout(r, 200));
    const subsBefore = bus.subscribers;
    const n = 800;
    const healthy = collect('/stream', {}, (f) => ids(f).length >= n);
    await new Promise((r) => setTimeout(r, 200));
    // 800 × 16 KiB: more than loopback socket buffers absorb, in small bursts a reader keeps up with
    const big = 'x'.repeat(16 * 1024);
    const sent: number[] = [];
    for (let i = 0; i < n; i++) {
      sent.push(bus.emit({ type: 'injected', message: big }).id);
      if (i % 2 === 1) await new Promise((r) => setTimeout(r, 2));
    }
    const got = await healthy;
    expect(ids(got).slice(0, n)).toEqual(sent);
    expect(bus.dropped).toBeGreaterThanOrEqual(1);
    expect(bus.subscribers).toBeLessThan(subsBefore + 1);
    stuck.destroy();
  });

  it('frames emitted in one tick are written together, in order, each with its own id', async () => {
    const p = collect('/stream', {}, (f) => ids(f).length >= 300);
    await new Promise((r) => setTimeout(r, 200));
    // one synchronous burst (one tick): coalesced into one write per subscriber, split only at the
    // socket's high-water mark
    const sent = Array.from({ length: 300 }, (_, i) => bus.emit({ type: 'injected', namespace: 'burst', message: `m${i} – naïve ✓` }));
    const frames = await p;
    expect(ids(frames)).toEqual(sent.map((e) => e.id));
    for (const f of frames.filter((x) => x.startsWith('id: '))) {
      const [head, data] = f.split('\ndata: ');
      expect(JSON.parse(data).id).toBe(Number(head.slice(4)));
    }
  });

  it('replays, then goes live, in order, to an HTTP/1.0 client too (no chunk framing)', async () => {
    const before = bus.emit({ type: 'created', namespace: 'h10', message: 'before' });
    const missed = bus.emit({ type: 'created', namespace: 'h10', message: 'missed' });
    const sock = net.connect({ port: Number(new URL(url).port), host: '127.0.0.1' });
    await new Promise((r) => sock.once('connect', r));
    let text = '';
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => (text += c));
    sock.write(`GET /stream?namespace=h10 HTTP/1.0\r\nLast-Event-ID: ${before.id}\r\n\r\n`);
    await pollFor(() => text.includes('connected'));
    const live = [1, 2, 3].map((i) => bus.emit({ type: 'running', namespace: 'h10', message: `live${i}` }));
    await pollFor(() => text.includes('"message":"live3"'));
    sock.destroy();
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    expect(text.startsWith('HTTP/1.0 200') || text.startsWith('HTTP/1.1 200')).toBe(true);
    expect(body.startsWith('retry: 2000\n')).toBe(true); // no chunk-size line before the frames
    expect(ids(body.split('\n\n'))).toEqual([missed.id, ...live.map((e) => e.id)]);
  });

  it('close() still delivers what the current tick emitted, then ends the stream', async () => {
    const own = new EventBus(new EventStore(db), { log: pino({ level: 'silent' }) });
    const app = express();
    app.get('/s', (req, res) => own.stream(req, res, {}, undefined));
    const srv = http.createServer(app);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(srv.address() as net.AddressInfo).port}/s`);
      const reading = res.text(); // resolves only if the chunked body ends properly
      await pollFor(() => own.subscribers === 1);
      const last = own.emit({ type: 'finished', message: 'last words' });
      own.close();
      const frames = (await reading).split('\n\n');
      expect(ids(frames)).toEqual([last.id]);
    } finally {
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
  });
});

async function pollFor(ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('condition not met in 10 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}
