import { type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { canUseNetns, makeNetnsPair, type NetnsPair } from '../helpers/netns';
import { daemonUrlOf, nftTables, request, startDaemonProcess, stopDaemonProcess, tempDir, waitFor } from './daemon-helpers';
import { accepts, connect, echoServer, listen, pingRtts, proxyAlive, stats } from './proxy-helpers';

// The proxy kinds through a real `faultline daemon` process: create over HTTP, bad input answered
// with the field and nothing journaled, DELETE stops the proxy; and kill -9 of the daemon with an
// explicit and a transparent proxy running (and its watchdog): the restart kills the leftover proxy children by pid +
// start time and removes the nft table.

jest.setTimeout(240_000);
const nsOk = canUseNetns();


(nsOk.ok ? describe : describe.skip)('fault proxy through the daemon API', () => {
  let stateDir: string;
  let daemon: ChildProcess | undefined;
  let pair: NetnsPair;
  let echo: Awaited<ReturnType<typeof echoServer>>;

  beforeAll(async () => {
    stateDir = tempDir('proxyd');
    pair = makeNetnsPair('pxd');
    echo = await echoServer();
  });
  afterAll(async () => {
    await stopDaemonProcess(daemon);
    await echo.close();
    pair?.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('creates, refuses bad input, deletes; after kill -9 the restart stops leftover proxies and rules; lease expiry reverts', async () => {
    daemon = startDaemonProcess(stateDir);
    let url = await daemonUrlOf(stateDir, daemon);
    const info = (await request(url, 'GET', '/v1/info')).body;
    for (const kind of ['tcp-fault', 'http-fault']) expect(info.kinds).toContainEqual(expect.objectContaining({ kind, supported: true }));

    // Bad input: the field and the reason, nothing journaled, nothing listening.
    const busy = net.createServer();
    const busyPort = await listen(busy);
    const bad: [unknown, number, string][] = [
      [{ listen: '127.0.0.1:0', upstream: `127.0.0.1:${echo.port}`, toxics: [{ type: 'latency', latency: '1ms', toxicity: 2 }] }, 400, '/params/toxics/0/toxicity'],
      [{ listen: `127.0.0.1:${busyPort}`, upstream: `127.0.0.1:${echo.port}` }, 409, '/params/listen'],
      [{ listen: '127.0.0.1:0', upstream: '127.0.0.1:1' }, 422, '/params/upstream'],
      [{ port: 8080, listen: '127.0.0.1:0' }, 400, '/params/listen'],
    ];
    for (const [params, status, field] of bad) {
      const res = await request(url, 'POST', '/v1/faults', { id: `pxd-bad-${process.pid}`, kind: 'tcp-fault', params, leaseSeconds: 60 });
      expect([res.status, res.body.error?.details?.map((d: { field: string }) => d.field)]).toEqual([status, expect.arrayContaining([field])]);
    }
    busy.close();
    expect((await request(url, 'GET', '/v1/faults')).body.faults).toEqual([]);

    // Create, see the latency, delete: the proxy is gone.
    const created = await request(url, 'POST', '/v1/faults', {
      id: `pxd-explicit-${process.pid}`,
      kind: 'tcp-fault',
      params: { listen: '127.0.0.1:0', upstream: `127.0.0.1:${echo.port}`, toxics: [{ type: 'latency', latency: '80ms' }] },
      leaseSeconds: 300,
    });
    expect(created.status).toBe(201);
    const explicit = created.body.state;
    const c = await connect(explicit.proxyPort);
    expect(stats(await pingRtts(c, 5)).min).toBeGreaterThan(75);
    c.destroy();
    expect((await request(url, 'DELETE', `/v1/faults/pxd-explicit-${process.pid}`)).status).toBeLessThan(300);
    expect(await proxyAlive(explicit)).toBe(false);
    expect(await accepts(explicit.proxyPort)).toBe(false);

    // Two proxies running, then the daemon dies without any chance to clean up.
    const a = await request(url, 'POST', '/v1/faults', {
      id: `pxd-crash-a-${process.pid}`,
      kind: 'http-fault',
      params: { listen: '127.0.0.1:0', upstream: `127.0.0.1:${echo.port}`, abort: { percent: 50 } },
      leaseSeconds: 300,
    });
    const b = await request(url, 'POST', '/v1/faults', {
      id: `pxd-crash-b-${process.pid}`,
      kind: 'tcp-fault',
      params: { port: 18080, toxics: [{ type: 'latency', latency: '10ms' }] },
      target: { netns: pair.a },
      leaseSeconds: 300,
    });
    expect([a.status, b.status]).toEqual([201, 201]);
    // its watchdog too: this is the restart's path (daemon-crash.test.ts has the watchdog's)
    const watchdog = JSON.parse(readFileSync(path.join(stateDir, 'daemon.lock'), 'utf8')).watchdog?.pid as number | undefined;
    if (watchdog) process.kill(watchdog, 'SIGKILL');
    daemon.kill('SIGKILL');
    await new Promise((r) => daemon!.once('exit', r));
    expect(await proxyAlive(a.body.state)).toBe(true);
    expect(await proxyAlive(b.body.state)).toBe(true);
    expect(nftTables(pair.a)).toContain(b.body.state.table);

    daemon = startDaemonProcess(stateDir);
    url = await daemonUrlOf(stateDir, daemon);
    expect((await request(url, 'GET', '/v1/faults')).body.faults).toEqual([]);
    expect(await proxyAlive(a.body.state)).toBe(false);
    expect(await proxyAlive(b.body.state)).toBe(false);
    expect(await accepts(a.body.state.proxyPort)).toBe(false);
    expect(nftTables(pair.a)).not.toContain(b.body.state.table);

    // A lease that is not renewed reverts the proxy fault like any other.
    const leased = await request(url, 'POST', '/v1/faults', {
      id: `pxd-lease-${process.pid}`,
      kind: 'tcp-fault',
      params: { port: 18081, toxics: [] },
      target: { netns: pair.a },
      leaseSeconds: 10,
    });
    expect([leased.status, leased.body.error?.message]).toEqual([201, undefined]);
    expect(nftTables(pair.a)).toContain(leased.body.state.table);
    await waitFor('lease expiry to stop the proxy', async () => !(await proxyAlive(leased.body.state)), 60_000);
    expect(nftTables(pair.a)).not.toContain(leased.body.state.table);
  });
});
