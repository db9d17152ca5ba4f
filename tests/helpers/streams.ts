import { createHash } from 'node:crypto';
import type net from 'node:net';

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
