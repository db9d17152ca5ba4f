import { createHash } from 'node:crypto';
import net from 'node:net';

// Byte-exactness helpers for proxy tests: send in uneven pieces with backpressure, receive to a hash.

export const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Everything `s` receives until its 'end', as a hash and a length. */
export function receiveAll(s: net.Socket): Promise<{ bytes: number; sha: string }> {
  const h = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve, reject) => {
    s.on('data', (d: Buffer) => {
      bytes += d.length;
      h.update(d);
    });
    s.once('end', () => resolve({ bytes, sha: h.digest('hex') }));
    s.once('error', reject);
  });
}

/** Writes `data` in pieces of the given sizes, in turn (so reads and writes never line up), honouring backpressure. */
export async function sendAll(s: net.Socket, data: Buffer, sizes: number[] = [1, 1000, 65_536, 300_000, 7]): Promise<void> {
  for (let off = 0, i = 0; off < data.length; i++) {
    const n = sizes[i % sizes.length];
    if (!s.write(data.subarray(off, off + n))) await new Promise((r) => s.once('drain', r));
    off += n;
  }
}

/**
 * A connected TCP pair on loopback: `out` dialled, `inbound` the server's end. `pauseOnConnect` keeps
 * the accepted socket from reading until the test reads it (as the proxies' readers do).
 */
export async function socketPair(opts: { pauseOnConnect?: boolean } = {}): Promise<{ inbound: net.Socket; out: net.Socket; close(): Promise<void> }> {
  const srv = net.createServer({ pauseOnConnect: opts.pauseOnConnect ?? false });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const out = net.connect({ host: '127.0.0.1', port: (srv.address() as net.AddressInfo).port });
  await new Promise((r) => out.once('connect', r));
  const inbound = await accepted;
  return {
    inbound,
    out,
    close: async () => {
      inbound.destroy();
      out.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}
