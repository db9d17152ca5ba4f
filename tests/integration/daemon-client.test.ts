import { getEventListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { DaemonClient } from '../../exporter/daemons';
import { faultId, killChildren, procState, spawnSleep, startTestDaemon, waitFor, type TestDaemon } from './daemon-helpers';
import { selfSignedCert } from '../helpers/tls';
import { removeDir, tempDir } from '../helpers/tmp';

// The exporter's daemon client against a real daemon, seen through a recording relay in front of it:
// recoveries asked for in one tick go out as one POST /v1/recover; a daemon without that route (older
// daemons, the in-exporter pod daemon) gets one DELETE per fault; a long-lived signal keeps no listeners.

const isRoot = process.getuid?.() === 0;
const d = isRoot ? describe : describe.skip;

interface Relay {
  url: string;
  seen: string[];
  close(): Promise<void>;
}

/** Forwards to `target`, recording `METHOD path`; `refuseBatch` answers POST /v1/recover with 404 as an older daemon would. */
async function relay(target: string, refuseBatch = false): Promise<Relay> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (refuseBatch && req.url === '/v1/recover') {
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'no route' } }));
      return;
    }
    const up = http.request(target + req.url, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

d('exporter daemon client', () => {
  let dm: TestDaemon;
  beforeAll(async () => {
    dm = await startTestDaemon({}, 'client');
  }, 60_000);
  afterAll(async () => {
    killChildren();
    await dm?.destroy();
  });

  async function pauseSome(n: number): Promise<{ ids: string[]; pids: number[] }> {
    const ids: string[] = [];
    const pids: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = spawnSleep();
      const id = faultId('cl');
      expect((await dm.req('POST', '/v1/faults', { id, kind: 'process-pause', target: { pid: s.pid } })).status).toBe(201);
      ids.push(id);
      pids.push(s.pid!);
    }
    return { ids, pids };
  }

  it('sends the recoveries of one tick as one POST /v1/recover and answers each caller', async () => {
    const r = await relay(dm.url);
    try {
      const client = new DaemonClient({ url: r.url, name: 'local' });
      const { ids, pids } = await pauseSome(5);
      const gone = faultId('gone');
      const results = await Promise.all([...ids, gone, ids[0]].map((id) => client.deleteFault(id)));
      expect(r.seen).toEqual(['POST /v1/recover']);
      for (const [i, id] of ids.entries()) expect(results[i]).toMatchObject({ id, phase: 'recovered' });
      expect(results[5]).toBeUndefined(); // 404: already gone counts as done
      expect(results[6]).toMatchObject({ id: ids[0], phase: 'recovered' }); // the same id twice: both callers answered
      for (const pid of pids) expect(procState(pid)).not.toBe('T');
      // a lone recovery is a plain DELETE
      const [one] = (await pauseSome(1)).ids;
      r.seen.length = 0;
      expect(await client.deleteFault(one)).toMatchObject({ id: one, phase: 'recovered' });
      expect(r.seen).toEqual([`DELETE /v1/faults/${one}`]);
    } finally {
      await r.close();
    }
  });

  it("sends every daemon's batch of a tick before what the tick queued after the first one", async () => {
    // Two clients stand for two daemons. Between their first calls the tick queues other work with
    // setImmediate, as the engine does for each aborted run's announcement: both requests are out
    // before that work runs, instead of the second daemon's waiting for it.
    const a = new DaemonClient({ url: dm.url, name: 'a' });
    const b = new DaemonClient({ url: dm.url, name: 'b' });
    const { ids, pids } = await pauseSome(2);
    const sent = jest.spyOn(http, 'request');
    try {
      let sentBeforeWork = -1;
      const done = [a.deleteFault(ids[0])];
      setImmediate(() => (sentBeforeWork = sent.mock.calls.length));
      done.push(b.deleteFault(ids[1]));
      expect((await Promise.all(done)).map((f) => f?.phase)).toEqual(['recovered', 'recovered']);
      expect(sentBeforeWork).toBe(2);
      for (const pid of pids) expect(procState(pid)).not.toBe('T');
    } finally {
      sent.mockRestore();
    }
  });

  it('falls back to one DELETE per fault when the daemon has no batch route, and remembers it', async () => {
    const r = await relay(dm.url, true);
    try {
      const client = new DaemonClient({ url: r.url, name: 'old' });
      const first = await pauseSome(3);
      const results = await Promise.all(first.ids.map((id) => client.deleteFault(id)));
      expect(results.map((f) => f?.phase)).toEqual(['recovered', 'recovered', 'recovered']);
      expect(r.seen[0]).toBe('POST /v1/recover');
      expect(r.seen.slice(1).sort()).toEqual(first.ids.map((id) => `DELETE /v1/faults/${id}`).sort());
      for (const pid of first.pids) await waitFor('SIGCONT', () => procState(pid) !== 'T');
      const second = await pauseSome(2);
      r.seen.length = 0;
      await Promise.all(second.ids.map((id) => client.deleteFault(id)));
      expect(r.seen.sort()).toEqual(second.ids.map((id) => `DELETE /v1/faults/${id}`).sort());
    } finally {
      await r.close();
    }
  });

  it('leaves no abort listener on a long-lived signal once its requests are done', async () => {
    const client = new DaemonClient({ url: dm.url, name: 'local' });
    const ac = new AbortController();
    for (let i = 0; i < 20; i++) await client.fetchInfo(ac.signal);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    // and a signal aborted mid-request still cancels it
    const slow = new AbortController();
    const pending = client.listFaults(slow.signal);
    slow.abort(new Error('stop'));
    await expect(pending).rejects.toThrow(/unreachable|stop/);
  });

  it('a daemon that does not answer in time is reported with the timeout', async () => {
    const silent = http.createServer(() => undefined); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const client = new DaemonClient({ url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, name: 'mute' }, 300);
      await expect(client.fetchInfo()).rejects.toThrow(/no answer within 300ms/);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});

describe('where the daemon client sends a request, from the daemon URL parsed once', () => {
  const seen: { url?: string; host?: string; authorization?: string }[] = [];
  const servers: (http.Server | https.Server)[] = [];
  const dir = tempDir('client-url');
  afterAll(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    removeDir(dir);
  });

  async function serve(host: string, tls?: { key: Buffer; cert: Buffer }): Promise<number> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      seen.push({ url: req.url, host: req.headers.host, authorization: req.headers.authorization });
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"hostname":"h"}');
    };
    const s = tls ? https.createServer(tls, handler) : http.createServer(handler);
    servers.push(s);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(0, host, () => resolve());
    });
    return (s.address() as AddressInfo).port;
  }

  it('a path prefix, user info as Basic auth, an IPv6 address without its brackets', async () => {
    const port = await serve('127.0.0.1');
    await new DaemonClient({ url: `http://127.0.0.1:${port}/behind/a/proxy/` }).fetchInfo();
    expect(seen.pop()).toMatchObject({ url: '/behind/a/proxy/v1/info', host: `127.0.0.1:${port}` });
    await new DaemonClient({ url: `http://ops:p%40ss@127.0.0.1:${port}` }).fetchInfo();
    expect(seen.pop()).toMatchObject({ url: '/v1/info', authorization: `Basic ${Buffer.from('ops:p@ss').toString('base64')}` });
    const v6 = await serve('::1');
    await new DaemonClient({ url: `http://[::1]:${v6}` }).fetchInfo();
    expect(seen.pop()).toMatchObject({ url: '/v1/info', host: `[::1]:${v6}` });
  });

  it('an https URL speaks TLS (an untrusted certificate is refused, naming why)', async () => {
    const { key, cert } = selfSignedCert(dir);
    const port = await serve('127.0.0.1', { key: readFileSync(key), cert: readFileSync(cert) });
    await expect(new DaemonClient({ url: `https://127.0.0.1:${port}` }).fetchInfo()).rejects.toThrow(/unreachable: DEPTH_ZERO_SELF_SIGNED_CERT/);
    expect(seen).toEqual([]);
  });
});
