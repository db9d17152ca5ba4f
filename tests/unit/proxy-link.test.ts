import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { grownReadBytes } from '../../daemon/proxy/growing-reader';
import { Link } from '../../daemon/proxy/link';
import { readIntoOwnBuffer } from '../../daemon/proxy/read-buffer';
import { receiveAll, sendAll, sha } from '../helpers/streams';

// The TCP proxy's no-toxic fast path (link.ts passThrough, read-buffer.ts), in process on loopback:
// a Link between a real accepted socket and a real upstream socket, as tcp-proxy.ts builds it.
// Correctness only (bytes, order, half-close, resets, bounded memory); speed is bench/proxy.ts's job.

jest.setTimeout(60_000);

interface Rig {
  /** The test's client, connected to the proxy. */
  client: net.Socket;
  /** The upstream server's side of the proxied connection. */
  server: net.Socket;
  /** The proxy's two sockets. */
  proxyClient: net.Socket;
  proxyUpstream: net.Socket;
  close(): Promise<void>;
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

/** Client → proxy (a Link with no toxics) → server, like tcp-proxy.ts wires it. */
async function rig(): Promise<Rig> {
  const upstreamServer = net.createServer({ allowHalfOpen: true });
  const serverSide = new Promise<net.Socket>((r) => upstreamServer.once('connection', r));
  const upPort = await listen(upstreamServer);
  const proxyServer = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  let proxyUpstream!: net.Socket;
  const proxyClientP = new Promise<net.Socket>((resolve) => {
    proxyServer.once('connection', (c: net.Socket) => {
      proxyUpstream = net.connect({ host: '127.0.0.1', port: upPort, allowHalfOpen: true });
      const link = new Link(c, proxyUpstream, { upstreamStages: [], downstreamStages: [] });
      proxyUpstream.once('connect', () => c.resume());
      link.start();
      resolve(c);
    });
  });
  const proxyPort = await listen(proxyServer);
  const client = net.connect({ host: '127.0.0.1', port: proxyPort, allowHalfOpen: true });
  const [proxyClient, server] = await Promise.all([proxyClientP, serverSide]);
  await new Promise((r) => (client.connecting ? client.once('connect', r) : r(undefined)));
  for (const s of [client, server]) s.on('error', () => undefined);
  return {
    client,
    server,
    proxyClient,
    proxyUpstream,
    close: async () => {
      for (const s of [client, server, proxyClient, proxyUpstream]) s.destroy();
      await Promise.all([proxyServer, upstreamServer].map((srv) => new Promise((r) => srv.close(r))));
    },
  };
}



/** Whether a socket reads into a buffer of the proxy's own (the fast path is on, not the pipe fallback). */
function ownBuffer(s: net.Socket): boolean {
  const k = Object.getOwnPropertySymbols(s).find((x) => x.description === 'kBuffer');
  return !!k && (s as unknown as Record<symbol, unknown>)[k] instanceof Uint8Array;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
});

describe('no-toxic fast path of the TCP proxy', () => {
  it('reads into its own buffer on this Node: accepted (paused) sockets and connecting sockets alike', async () => {
    const srv = net.createServer({ pauseOnConnect: true });
    const port = await listen(srv);
    const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
    const out = net.connect({ host: '127.0.0.1', port });
    const buf = Buffer.alloc(16);
    expect(readIntoOwnBuffer(out, () => buf, () => true)).toBe(true);
    // Once is all: a socket already switched is left alone.
    expect(readIntoOwnBuffer(out, () => buf, () => true)).toBe(false);
    const inbound = await accepted;
    const got: string[] = [];
    expect(readIntoOwnBuffer(inbound, () => buf, (n, b) => (got.push(b.toString('latin1', 0, n)), true))).toBe(true);
    inbound.resume();
    out.end('x'.repeat(40));
    await new Promise((r) => inbound.once('end', r));
    // 40 bytes through a 16-byte buffer: several reads, nothing lost, 'end' as usual.
    expect(got.join('')).toBe('x'.repeat(40));
    expect(got.every((g) => g.length <= 16)).toBe(true);
    inbound.destroy();
    out.destroy();
    await new Promise((r) => srv.close(r));
  });

  it('refuses a socket that is already reading (the caller falls back to pipe)', async () => {
    const srv = net.createServer();
    const port = await listen(srv);
    const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
    const out = net.connect({ host: '127.0.0.1', port });
    const inbound = await accepted;
    inbound.on('data', () => undefined);
    await new Promise((r) => setImmediate(r));
    expect(readIntoOwnBuffer(inbound, () => Buffer.alloc(16), () => true)).toBe(false);
    inbound.destroy();
    out.destroy();
    await new Promise((r) => srv.close(r));
  });

  it('carries 24 MB each way at once, byte for byte, and passes each half-close on', async () => {
    const r = await rig();
    rigs.push(r);
    expect(ownBuffer(r.proxyClient) && ownBuffer(r.proxyUpstream)).toBe(true);
    const up = randomBytes(24 * 2 ** 20);
    const down = randomBytes(24 * 2 ** 20 + 12_345);
    const atServer = receiveAll(r.server);
    const atClient = receiveAll(r.client);
    await Promise.all([sendAll(r.client, up).then(() => r.client.end()), sendAll(r.server, down)]);
    // The client's FIN reaches the server after all its bytes, while the other direction stays open.
    expect(await atServer).toEqual({ bytes: up.length, sha: sha(up) });
    expect(r.server.writable).toBe(true);
    r.server.end(Buffer.from('last words'));
    const expected = Buffer.concat([down, Buffer.from('last words')]);
    expect(await atClient).toEqual({ bytes: expected.length, sha: sha(expected) });
    // Once both proxy sockets are closed, their grown read buffers are back in the budget.
    await Promise.all([r.proxyClient, r.proxyUpstream].map((s) => new Promise((res) => (s.closed ? res(undefined) : s.once('close', res)))));
    expect(grownReadBytes()).toBe(0);
  });

  it('a slow reader holds the sender back: the proxy keeps at most one read buffer (≤ 4 MiB) per direction', async () => {
    const r = await rig();
    rigs.push(r);
    r.server.pause();
    const data = randomBytes(64 * 2 ** 20);
    let accepted = 0;
    // Write until the client's own socket pushes back, then give everything time to fill up.
    for (let off = 0; off < data.length; off += 256 * 1024) {
      const piece = data.subarray(off, off + 256 * 1024);
      accepted += piece.length;
      if (!r.client.write(piece)) {
        const moved = await Promise.race([new Promise((res) => r.client.once('drain', () => res(true))), new Promise((res) => setTimeout(() => res(false), 500))]);
        if (!moved) break;
      }
    }
    // Kernel buffers on loopback take a few MB; the proxy itself must not have soaked up the rest.
    expect(accepted).toBeLessThan(data.length);
    expect(r.proxyUpstream.writableLength).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(r.proxyClient.readableLength).toBe(0);
    // The reader catches up: everything arrives, in order.
    const atServer = receiveAll(r.server);
    r.server.resume();
    await sendAll(r.client, data.subarray(accepted));
    r.client.end();
    expect(await atServer).toEqual({ bytes: data.length, sha: sha(data) });
    // Catching up read megabytes at a time: the upload's buffer grew, out of the process-wide
    // budget, and goes back to it when the connection is closed.
    expect(grownReadBytes()).toBeGreaterThan(0);
    const closed = [r.proxyClient, r.proxyUpstream].map((s) => new Promise((res) => (s.closed ? res(undefined) : s.once('close', res))));
    r.server.end();
    await Promise.all(closed);
    expect(grownReadBytes()).toBe(0);
  });

  it('passes a reset on, either way', async () => {
    const a = await rig();
    rigs.push(a);
    const clientSaw = new Promise<string | undefined>((res) => a.client.once('error', (e: NodeJS.ErrnoException) => res(e.code)));
    a.server.write('hello');
    await new Promise((res) => a.client.once('data', res));
    a.server.resetAndDestroy();
    expect(await clientSaw).toBe('ECONNRESET');

    const b = await rig();
    rigs.push(b);
    const serverSaw = new Promise<string | undefined>((res) => b.server.once('error', (e: NodeJS.ErrnoException) => res(e.code)));
    b.client.write('hello');
    await new Promise((res) => b.server.once('data', res));
    b.client.resetAndDestroy();
    expect(await serverSaw).toBe('ECONNRESET');
  });
});
