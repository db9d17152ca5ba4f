import net from 'node:net';
import { ApiError } from '../../api/errors';
import tcpFault from '../../daemon/faults/tcp-fault';
import type { FaultKind } from '../../daemon/faults/types';
import { accepts, connect, echoServer, injectFault, listen, makeCtx, outcome, pingRtts, proxyAlive, stats, type TestFault } from './proxy-helpers';

// tcp-fault in explicit mode with real traffic on loopback: each toxic observed by a real client,
// through the kind's own inject/recover (the daemon's code path). Generous bounds: the machine is
// shared and loaded; speed is measured in bench/proxy.ts, not here.

jest.setTimeout(120_000);
const kind = tcpFault as unknown as FaultKind;
const faults: TestFault[] = [];
let echo: Awaited<ReturnType<typeof echoServer>>;

async function proxy(toxics: unknown[]): Promise<TestFault & { port: number }> {
  const f = await injectFault(kind, { listen: '127.0.0.1:0', upstream: `127.0.0.1:${echo.port}`, toxics });
  faults.push(f);
  return Object.assign(f, { port: f.state.proxyPort as number });
}

/** A server that runs `onConn` for every connection; closed after the test. */
async function server(onConn: (s: net.Socket) => void) {
  const srv = net.createServer((s) => {
    s.on('error', () => undefined);
    onConn(s);
  });
  const port = await listen(srv);
  cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
  return port;
}
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  echo = await echoServer();
});
afterEach(async () => {
  for (const f of faults.splice(0)) await f.recover();
  for (const c of cleanups.splice(0)) await c();
});
afterAll(async () => {
  await echo.close();
});

describe('tcp-fault toxics, observed by a real client', () => {
  it('latency: mean and jitter of the added delay over 500 round trips', async () => {
    // Each ping through the toxic is paired with one through a proxy without toxics, on the same
    // kind of path at the same moment, so what a loaded machine adds cancels out of the difference.
    const p = await proxy([{ type: 'latency', latency: '50ms', jitter: '20ms' }]);
    const control = await proxy([]);
    const raw: number[] = [];
    const added = (
      await Promise.all(
        Array.from({ length: 5 }, async () => {
          const [slow, fast] = await Promise.all([connect(p.port), connect(control.port)]);
          const out: number[] = [];
          for (let i = 0; i < 100; i++) {
            const [s1] = await pingRtts(slow, 1);
            const [f1] = await pingRtts(fast, 1);
            out.push(s1 - f1);
            raw.push(s1);
          }
          slow.destroy();
          fast.destroy();
          return out;
        }),
      )
    ).flat();
    const s = stats(added);
    expect(added.length).toBeGreaterThanOrEqual(500);
    // 50 ms ± 20 ms uniform: mean and median 50, interquartile range 20, nothing under 30 ms.
    // The bounds leave room for timers a loaded machine fires late (never for early ones).
    expect(Math.min(...raw)).toBeGreaterThan(29.5);
    expect(s.mean).toBeGreaterThan(48);
    expect(s.mean).toBeLessThan(60);
    expect(s.p(0.5)).toBeGreaterThan(46);
    expect(s.p(0.5)).toBeLessThan(58);
    const iqr = s.p(0.75) - s.p(0.25);
    expect(iqr).toBeGreaterThan(14);
    expect(iqr).toBeLessThan(32);
  });

  it('bandwidth: a 1 MB download at 4mbit lands within ±15 % of the rate', async () => {
    const payload = Buffer.alloc(1_000_000, 7);
    const port = await server((s) => s.end(payload));
    const f = await injectFault(kind, { listen: '127.0.0.1:0', upstream: `127.0.0.1:${port}`, toxics: [{ type: 'bandwidth', rate: '4mbit' }] });
    faults.push(f);
    const c = await connect(f.state.proxyPort);
    let first = 0;
    let bytes = 0;
    c.on('data', (d: Buffer) => {
      if (!first) first = performance.now();
      bytes += d.length;
    });
    await new Promise((r) => c.once('end', r));
    const seconds = (performance.now() - first) / 1000;
    const rate = ((bytes - 0) * 8) / seconds;
    expect(bytes).toBe(payload.length);
    expect(rate).toBeGreaterThan(4e6 * 0.85);
    expect(rate).toBeLessThan(4e6 * 1.15);
  });

  it('timeout: no data passes and the connection closes after the timeout; 0 holds it open', async () => {
    const p = await proxy([{ type: 'timeout', timeout: '300ms' }]);
    const c = await connect(p.port);
    c.write('hello');
    const o = await outcome(c, 10_000);
    expect(o).toMatchObject({ bytes: 0, how: 'end' });
    expect(o.afterMs).toBeGreaterThan(250);

    const held = await proxy([{ type: 'timeout', timeout: '0s' }]);
    const h = await connect(held.port);
    h.write('hello');
    expect(await outcome(h, 800)).toMatchObject({ bytes: 0, how: 'open' });
    h.destroy();
  });

  it('reset-peer: data passes, then the client sees ECONNRESET after the timeout', async () => {
    const p = await proxy([{ type: 'reset-peer', timeout: '300ms' }]);
    const c = await connect(p.port);
    expect((await pingRtts(c, 3)).length).toBe(3);
    const o = await outcome(c, 10_000);
    expect(o.how).toBe('reset');
  });

  it('limit-data: exactly the limit arrives, then the connection ends', async () => {
    const port = await server((s) => s.end(Buffer.alloc(5000, 1)));
    const f = await injectFault(kind, { listen: '127.0.0.1:0', upstream: `127.0.0.1:${port}`, toxics: [{ type: 'limit-data', bytes: '1000' }] });
    faults.push(f);
    const o = await outcome(await connect(f.state.proxyPort), 10_000);
    expect(o).toMatchObject({ bytes: 1000, how: 'end' });
  });

  it('slow-close: the close arrives `delay` after the server closed', async () => {
    const port = await server((s) => s.end('bye'));
    const f = await injectFault(kind, { listen: '127.0.0.1:0', upstream: `127.0.0.1:${port}`, toxics: [{ type: 'slow-close', delay: '400ms' }] });
    faults.push(f);
    const o = await outcome(await connect(f.state.proxyPort), 10_000);
    expect(o).toMatchObject({ bytes: 3, how: 'end' });
    expect(o.afterMs).toBeGreaterThan(350);
  });

  it('slicer: one 1000-byte write arrives as many small reads, intact', async () => {
    const payload = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    const port = await server((s) => s.end(payload));
    const f = await injectFault(kind, {
      listen: '127.0.0.1:0',
      upstream: `127.0.0.1:${port}`,
      toxics: [{ type: 'slicer', averageSize: 10, sizeVariation: 5, delay: '2ms' }],
    });
    faults.push(f);
    const c = await connect(f.state.proxyPort);
    const reads: Buffer[] = [];
    c.on('data', (d: Buffer) => reads.push(d));
    await new Promise((r) => c.once('end', r));
    expect(Buffer.concat(reads).equals(payload)).toBe(true);
    expect(reads.length).toBeGreaterThan(30);
  });

  it('direction: an upstream toxic delays what the client sends, not what the server says first', async () => {
    const port = await server((s) => {
      s.write('hi');
      s.on('data', (d) => s.write(d));
    });
    const f = await injectFault(kind, { listen: '127.0.0.1:0', upstream: `127.0.0.1:${port}`, toxics: [{ type: 'latency', latency: '300ms', direction: 'upstream' }] });
    faults.push(f);
    const t0 = performance.now();
    const c = await connect(f.state.proxyPort);
    await new Promise((r) => c.once('data', r));
    expect(performance.now() - t0).toBeLessThan(250);
    const [rtt] = await pingRtts(c, 1);
    expect(rtt).toBeGreaterThan(280);
    c.destroy();
  });

  it('toxicity: a toxic applies to about that share of connections; toxics stack', async () => {
    const p = await proxy([
      { type: 'latency', latency: '500ms', toxicity: 0.5 },
      { type: 'limit-data', bytes: '4', direction: 'downstream' },
    ]);
    const rtts: number[] = [];
    for (let batch = 0; batch < 5; batch++) {
      rtts.push(
        ...(await Promise.all(
          Array.from({ length: 20 }, async () => {
            const c = await connect(p.port);
            const [rtt] = await pingRtts(c, 1);
            c.destroy();
            return rtt;
          }),
        )),
      );
    }
    // 100 connections: a share of 0.5 lands in 0.35..0.65 with 3 standard deviations to spare.
    const share = rtts.filter((r) => r > 300).length / rtts.length;
    expect(share).toBeGreaterThan(0.35);
    expect(share).toBeLessThan(0.65);
    // limit-data stacked after latency: 4 bytes pass, then the connection ends.
    const c = await connect(p.port);
    c.write('abcdefgh');
    expect(await outcome(c, 10_000)).toMatchObject({ bytes: 4, how: 'end' });
  });
});

describe('tcp-fault lifecycle', () => {
  it('recover drains: open connections end, the port is closed, the child is gone; twice is fine', async () => {
    const f = await injectFault(kind, { listen: '127.0.0.1:0', upstream: `127.0.0.1:${echo.port}`, toxics: [] });
    const c = await connect(f.state.proxyPort);
    expect((await pingRtts(c, 2)).length).toBe(2);
    const ended = outcome(c, 15_000);
    await f.recover();
    expect((await ended).how).not.toBe('open');
    expect(await proxyAlive(f.state)).toBe(false);
    expect(await accepts(f.state.proxyPort)).toBe(false);
    await f.recover();
  });

  it('recovers from what was journaled before the proxy listened (as after a daemon crash)', async () => {
    const f = await injectFault(kind, { listen: '127.0.0.1:0', upstream: `127.0.0.1:${echo.port}`, toxics: [] });
    // The first journal record holds only the child's identity: all a crashed daemon would have.
    const first = f.saved[0];
    expect(first).toEqual(expect.objectContaining({ pid: f.state.pid, startTime: f.state.startTime }));
    const { ctx } = makeCtx(kind, f.ctx.params);
    await kind.recover(ctx, first);
    expect(await proxyAlive(f.state)).toBe(false);
    expect(await accepts(f.state.proxyPort)).toBe(false);
  });
});

describe('tcp-fault bad input: a clear error, nothing left listening', () => {
  const expectApiError = async (p: Promise<unknown>, status: number, field: string) => {
    const err = (await p.then(
      () => undefined,
      (e: unknown) => e,
    )) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(status);
    expect(err.details?.map((d) => d.field)).toContain(field);
  };

  it('a listen port in use: 409 at precheck, and at inject the child is gone again', async () => {
    const busy = net.createServer();
    const port = await listen(busy);
    try {
      const params = { listen: `127.0.0.1:${port}`, upstream: `127.0.0.1:${echo.port}`, toxics: [] };
      const { ctx, saved } = makeCtx(kind, params);
      await expectApiError(kind.precheck!(ctx.params, ctx.target), 409, '/params/listen');
      await expectApiError(kind.inject(ctx), 409, '/params/listen');
      expect(await proxyAlive(saved[0] as never)).toBe(false);
    } finally {
      busy.close();
    }
  });

  it('an unreachable upstream: 422 naming upstream, at precheck and at inject, no proxy left', async () => {
    const closed = net.createServer();
    const deadPort = await listen(closed);
    await new Promise((r) => closed.close(r));
    const params = { listen: '127.0.0.1:0', upstream: `127.0.0.1:${deadPort}`, toxics: [] };
    const { ctx, saved } = makeCtx(kind, params);
    await expectApiError(kind.precheck!(ctx.params, ctx.target), 422, '/params/upstream');
    await expectApiError(kind.inject(ctx), 422, '/params/upstream');
    expect(saved.length).toBe(1);
    expect(await proxyAlive(saved[0] as never)).toBe(false);
  });

  it('a foreign toxic attribute: 400 before anything starts', async () => {
    const { ctx, saved } = makeCtx(kind, { listen: '127.0.0.1:0', upstream: `127.0.0.1:${echo.port}`, toxics: [{ type: 'timeout', timeout: '1s', latency: '1s' }] });
    await expectApiError(kind.precheck!(ctx.params, ctx.target), 400, '/params/toxics/0/latency');
    await expectApiError(kind.inject(ctx), 400, '/params/toxics/0/latency');
    expect(saved).toEqual([]);
  });
});
