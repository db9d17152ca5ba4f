import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { NATIVE_RELAY_PATH } from '../../daemon/proxy/native-relay';
import tcpFault from '../../daemon/faults/tcp-fault';
import type { FaultKind } from '../../daemon/faults/types';
import { receiveAll, sendAll, sha } from '../helpers/streams';
import { connect, injectFault, listen, useRelay, type TestFault } from './proxy-helpers';

/** Pieces other than the proxy's read sizes, so reads and writes never line up. */
const SIZES = [3, 70_000, 1_000_000, 512, 250_000];

// tcp-fault without toxics through the real proxy child, by both relays: the native relay thread
// (daemon/native/relay.c, what a connection no toxic touches gets where it is built) and the
// JavaScript pass-through (link.ts passThrough, FAULTLINE_PROXY_RELAY=js, and the direction without a
// toxic beside a toxic pump). Correctness only: bytes, order, half-close, resets. Speed is
// bench/proxy.ts's job.

jest.setTimeout(120_000);
const kind = tcpFault as unknown as FaultKind;
const faults: TestFault[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const f of faults.splice(0)) await f.recover();
  for (const c of cleanups.splice(0)) c();
});

/**
 * Client → proxy child → upstream server. Precheck and the child probe the upstream with
 * connections of their own, so the server side of the proxied connection is the one that receives
 * the client's first byte (a marker, consumed here before the test starts).
 */
async function proxied(toxics: unknown[] = [], greeting?: string): Promise<{ client: net.Socket; server: net.Socket }> {
  let found!: (s: net.Socket) => void;
  const serverSide = new Promise<net.Socket>((r) => (found = r));
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    if (greeting) s.write(greeting);
    s.once('data', () => {
      s.pause();
      found(s);
    });
  });
  const port = await listen(srv);
  cleanups.push(() => srv.close());
  const f = await injectFault(kind, { listen: '127.0.0.1:0', upstream: `127.0.0.1:${port}`, toxics });
  faults.push(f);
  const client = await connect(f.state.proxyPort);
  client.on('error', () => undefined);
  client.write('!');
  const server = await serverSide;
  server.resume();
  cleanups.push(() => {
    client.destroy();
    server.destroy();
  });
  return { client, server };
}




/** The native relay is built wherever CI runs (it needs only a C compiler and node's headers). */
const nativeBuilt = existsSync(NATIVE_RELAY_PATH);
const RELAYS = [...(nativeBuilt || process.env.CI === 'true' ? ['native'] : []), 'js'];
if (!RELAYS.includes('native')) it.skip(`native relay (skipped: ${NATIVE_RELAY_PATH} is not built)`, () => undefined);

/** Names of the proxy child's threads. */
function threadNames(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((t) => readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim());
}

describe.each(RELAYS)('tcp-fault with no toxic on a direction, %s relay: bytes pass through untouched', (relay) => {
  useRelay(relay);

  it(`carries the connection on the ${relay === 'native' ? 'relay thread' : "child's JavaScript thread"}`, async () => {
    if (relay === 'native') expect(nativeBuilt).toBe(true); // CI builds it: node daemon/native/build.js
    const { client, server } = await proxied();
    client.write('ping');
    await new Promise((r) => server.once('data', r));
    const pid = faults[faults.length - 1].state.pid as number;
    expect(threadNames(pid).includes('fl-relay')).toBe(relay === 'native');
  });

  it('16 MB each way at once arrive byte for byte; each side’s FIN arrives after its bytes', async () => {
    const { client, server } = await proxied();
    const up = randomBytes(16 * 2 ** 20 + 7);
    const down = randomBytes(16 * 2 ** 20 + 11);
    const atServer = receiveAll(server);
    const atClient = receiveAll(client);
    await Promise.all([sendAll(client, up, SIZES).then(() => client.end()), sendAll(server, down, SIZES)]);
    expect(await atServer).toEqual({ bytes: up.length, sha: sha(up) });
    // The client's half-close did not close the way back: the server still talks, then ends.
    server.end('after your FIN');
    const back = Buffer.concat([down, Buffer.from('after your FIN')]);
    expect(await atClient).toEqual({ bytes: back.length, sha: sha(back) });
  });

  it('beside a toxic on the other direction: the plain direction stays exact', async () => {
    const { client, server } = await proxied([{ type: 'latency', latency: '20ms', direction: 'upstream' }]);
    const down = randomBytes(8 * 2 ** 20);
    const atClient = receiveAll(client);
    client.write('request');
    await new Promise((r) => server.once('data', r));
    await sendAll(server, down, SIZES);
    server.end();
    expect(await atClient).toEqual({ bytes: down.length, sha: sha(down) });
  });

  it('a reader that stops holds the writer back: the proxy keeps at most a few MiB, then delivers all of it exactly', async () => {
    const { client, server } = await proxied();
    server.pause(); // proxied() resumed it: from here on the server reads nothing
    const pid = faults[faults.length - 1].state.pid as number;
    const rss = () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
    const rssBefore = rss();
    const data = randomBytes(64 * 2 ** 20);
    const sent = sendAll(client, data, SIZES).then(() => client.end());
    // wait until the writer is held back: nothing more leaves the client for half a second
    let last = -1;
    while (client.bytesWritten - client.writableLength !== last) {
      last = client.bytesWritten - client.writableLength;
      await new Promise((r) => setTimeout(r, 500));
    }
    // The kernel's socket buffers on both hops plus one read buffer per direction (at most 4 MiB)
    expect(last).toBeLessThan(32 * 2 ** 20);
    expect(rss() - rssBefore).toBeLessThan(16 * 2 ** 20);
    const atServer = receiveAll(server);
    server.resume();
    await sent;
    expect(await atServer).toEqual({ bytes: data.length, sha: sha(data) });
  });

  it('a server that speaks first (a banner before any request) is heard', async () => {
    const { client, server } = await proxied([], '220 ready\r\n');
    const atClient = receiveAll(client);
    server.end('bye\r\n');
    client.end();
    const expected = Buffer.from('220 ready\r\nbye\r\n');
    expect(await atClient).toEqual({ bytes: expected.length, sha: sha(expected) });
  });

  it('200 connections at once, each echoed exactly', async () => {
    const echo = net.createServer((s) => {
      s.on('error', () => undefined);
      s.pipe(s);
    });
    const port = await listen(echo);
    cleanups.push(() => echo.close());
    const f = await injectFault(kind, { listen: '127.0.0.1:0', upstream: `127.0.0.1:${port}`, toxics: [] });
    faults.push(f);
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const c = await connect(f.state.proxyPort);
        const data = randomBytes(10_000 + i * 97);
        const back = receiveAll(c);
        await sendAll(c, data, SIZES);
        c.end();
        return (await back).sha === sha(data);
      }),
    );
    expect(results.every(Boolean)).toBe(true);
  });

  it('a reset passes on, from either side', async () => {
    const a = await proxied();
    const clientSaw = new Promise<string | undefined>((r) => a.client.once('error', (e: NodeJS.ErrnoException) => r(e.code)));
    a.server.write('hi');
    await new Promise((r) => a.client.once('data', r));
    a.server.resetAndDestroy();
    expect(await clientSaw).toBe('ECONNRESET');

    const b = await proxied();
    const serverSaw = new Promise<string | undefined>((r) => b.server.once('error', (e: NodeJS.ErrnoException) => r(e.code)));
    b.client.write('hi');
    await new Promise((r) => b.server.once('data', r));
    b.client.resetAndDestroy();
    expect(await serverSaw).toBe('ECONNRESET');
  });
});
