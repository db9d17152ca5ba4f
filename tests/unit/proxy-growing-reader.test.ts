import { randomBytes } from 'node:crypto';
import { grownReadBytes, readGrowing } from '../../daemon/proxy/growing-reader';
import { sha, socketPair } from '../helpers/streams';

// The one growing reader both proxies use (growing-reader.ts): on a real accepted socket on loopback,
// reads arrive whole and in order, the buffer grows ×4 only while reads fill it and never past its
// max, each view stays intact once the buffer has grown, and the growth goes back to the process-wide
// budget when the socket closes.

jest.setTimeout(30_000);

const SIZES = { first: 8 * 1024, max: 128 * 1024 };

describe('growing reader', () => {
  it('delivers every byte in order, grows ×4 only up to its max, and returns the growth to the budget on close', async () => {
    const p = await socketPair({ pauseOnConnect: true });
    const seen: Buffer[] = [];
    const kept: Buffer[] = [];
    let size = SIZES.first;
    expect(
      readGrowing(p.inbound, SIZES, (chunk) => {
        expect(chunk.length).toBeLessThanOrEqual(size);
        seen.push(Buffer.from(chunk));
        if (chunk.length === size && size < SIZES.max) {
          // A full read: the next one goes to a new buffer four times the size, so this view is kept as
          // it is and must still hold these bytes at the end.
          kept.push(chunk);
          size *= 4;
        }
        return true;
      }),
    ).toBe(true);
    // Once is all: the socket reads into its own buffer now.
    expect(readGrowing(p.inbound, SIZES, () => true)).toBe(false);
    const data = randomBytes(4 * 1024 * 1024);
    const ended = new Promise((r) => p.inbound.once('end', r));
    p.inbound.resume();
    p.out.end(data);
    await ended;
    const got = Buffer.concat(seen);
    expect(got.length).toBe(data.length);
    expect(sha(got)).toBe(sha(data));
    // Bulk bytes filled the reads: the buffer went 8 KiB → 32 KiB → 128 KiB and stopped there.
    expect(Math.max(...seen.map((s) => s.length))).toBe(SIZES.max);
    expect(grownReadBytes()).toBe(SIZES.max - SIZES.first);
    expect(kept.length).toBe(2);
    for (const k of kept) expect(data.indexOf(k)).toBeGreaterThanOrEqual(0);
    const closed = new Promise((r) => p.inbound.once('close', r));
    await p.close();
    await closed;
    expect(grownReadBytes()).toBe(0);
  });

  it('keeps a small buffer for small reads (an interactive connection)', async () => {
    const p = await socketPair({ pauseOnConnect: true });
    let largest = 0;
    readGrowing(p.inbound, SIZES, (chunk) => {
      largest = Math.max(largest, chunk.length);
      p.inbound.write(chunk);
      return true;
    });
    p.inbound.resume();
    p.out.setNoDelay(true);
    for (let i = 0; i < 50; i++) {
      const back = new Promise((r) => p.out.once('data', r));
      p.out.write(Buffer.alloc(64, i));
      await back;
    }
    expect(largest).toBe(64);
    expect(grownReadBytes()).toBe(0);
    await p.close();
  });
});
