import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { directWrites, writeNow } from '../../daemon/proxy/direct-write';
import { sha, socketPair } from '../helpers/streams';

// The proxies' write path (direct-write.ts) on real loopback sockets: small writes complete at once,
// a write the kernel cannot take whole reports pending and calls back once written, bytes and
// order stay exact across both paths (direct and the stream fallback while connecting), end()
// after a pending write sends everything before the FIN, and a write to a reset peer destroys the
// socket instead of waiting for ever.

jest.setTimeout(30_000);

function collect(s: net.Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  return new Promise((r) => s.once('end', () => r(Buffer.concat(parts))));
}

describe('direct writes', () => {
  it('are what this Node (the pinned 24.x) uses', () => {
    expect(directWrites).toBe(true);
  });

  it('a small write completes at once; a large one to a peer that does not read is pending until written, then exact', async () => {
    const p = await socketPair();
    p.inbound.pause();
    let called = 0;
    expect(writeNow(p.out, Buffer.from('hello'), () => called++)).toBe(true);
    const big = randomBytes(32 * 1024 * 1024);
    let done!: () => void;
    const written = new Promise<void>((r) => (done = r));
    expect(
      writeNow(p.out, big, () => {
        called++;
        done();
      }),
    ).toBe(false);
    // A write behind a pending one queues behind it: order is kept.
    const tail = Buffer.from('tail');
    const tailWhole = writeNow(p.out, tail, () => called++);
    expect(tailWhole).toBe(false);
    const got = collect(p.inbound);
    p.inbound.resume();
    await written;
    p.out.end();
    const all = await got;
    expect(sha(all)).toBe(sha(Buffer.concat([Buffer.from('hello'), big, tail])));
    expect(called).toBe(2);
    await p.close();
  });

  it('while connecting it queues in the stream and still keeps order', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
    const out = net.connect({ host: '127.0.0.1', port: (srv.address() as net.AddressInfo).port });
    let called = 0;
    expect(writeNow(out, Buffer.from('early '), () => called++)).toBe(false);
    const inbound = await accepted;
    const got = collect(inbound);
    await new Promise((r) => out.once('connect', r));
    expect(writeNow(out, Buffer.from('late'), () => called++)).toBe(true);
    out.end();
    expect((await got).toString()).toBe('early late');
    expect(called).toBe(1);
    inbound.destroy();
    await new Promise((r) => srv.close(r));
  });

  it('a write to a reset peer destroys the socket with the error', async () => {
    const p = await socketPair();
    const errors: string[] = [];
    p.out.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? ''));
    const closed = new Promise((r) => p.out.once('close', r));
    p.inbound.resetAndDestroy();
    // The first write may still go out before the reset is in; one after it fails at once, and
    // then the socket is destroyed: nothing is left waiting for a callback.
    for (let i = 0; i < 1000 && !p.out.destroyed; i++) {
      writeNow(p.out, Buffer.alloc(1024), () => undefined);
      await new Promise((r) => setImmediate(r));
    }
    await closed;
    expect(p.out.destroyed).toBe(true);
    expect(errors[0]).toMatch(/^E(PIPE|CONNRESET)$/);
    await p.close();
  });
});
