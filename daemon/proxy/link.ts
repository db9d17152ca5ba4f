import type { Socket } from 'node:net';
import { writeNow } from './direct-write';
import { readGrowing } from './growing-reader';
import type { Chunk, LinkControl, ToxicStage } from './toxics';

// One proxied connection: client socket ⇄ upstream socket. A direction without toxics passes bytes
// straight through (the fast path the benchmark measures, see passThrough); a direction with toxics
// reads chunks stamped with their arrival time and runs them through the stages in order, with
// backpressure on both ends.

const HIGH_WATER = 1024 * 1024;
/**
 * Read buffer of a no-toxic direction (growing-reader.ts): starts at libuv's usual read size and
 * grows up to 4 MiB while reads fill it. On loopback the proxy's CPU per byte dropped by about a
 * third again from 1 MiB to 4 MiB reads (bench/proxy.ts).
 */
const READ_SIZES = { first: 64 * 1024, max: 4 * 1024 * 1024 };

export interface LinkOptions {
  upstreamStages: ToxicStage[];
  downstreamStages: ToxicStage[];
  onClose?: () => void;
}

export class Link implements LinkControl {
  private readonly abort = new AbortController();
  readonly signal = this.abort.signal;
  private closeAfterFlush = false;
  private closed = 0;

  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    private readonly opts: LinkOptions,
  ) {}

  start(): void {
    for (const s of [this.client, this.upstream]) {
      s.setNoDelay(true);
      s.on('error', (err: NodeJS.ErrnoException) => {
        // A reset on one side is passed on as a reset, so the other peer sees what happened.
        if (err.code === 'ECONNRESET') this.reset();
        else this.destroy();
      });
      s.on('close', () => {
        if (++this.closed === 2) {
          this.abort.abort();
          this.opts.onClose?.();
        } else {
          // The other side outlives its peer only until it has flushed.
          this.other(s).end();
          setTimeout(() => this.other(s).destroy(), 2000).unref();
        }
      });
    }
    pump(this.client, this.upstream, this.opts.upstreamStages, this);
    pump(this.upstream, this.client, this.opts.downstreamStages, this);
  }

  private other(s: Socket): Socket {
    return s === this.client ? this.upstream : this.client;
  }

  closeWhenFlushed(): void {
    this.closeAfterFlush = true;
  }

  /** Called by a toxic pump when its direction has written everything. */
  flushed(): void {
    if (this.closeAfterFlush) this.close();
  }

  close(): void {
    for (const s of [this.client, this.upstream]) {
      s.end();
      setTimeout(() => s.destroy(), 2000).unref();
    }
  }

  reset(): void {
    for (const s of [this.client, this.upstream]) {
      if (!s.destroyed) s.resetAndDestroy();
    }
  }

  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
  }
}

function pump(src: Socket, dst: Socket, stages: ToxicStage[], link: Link): void {
  if (stages.length === 0) {
    if (!passThrough(src, dst)) src.pipe(dst);
    return;
  }
  let stream: AsyncIterable<Chunk> = chunks(src, link.signal);
  for (const stage of stages) stream = stage(stream, link);
  (async () => {
    for await (const chunk of stream) {
      if (dst.destroyed) return;
      if (!dst.write(chunk.data)) await drained(dst, link.signal);
    }
    if (!dst.destroyed) dst.end();
    link.flushed();
  })().catch(() => link.destroy());
}

/**
 * A direction without toxics: `src` reads into a buffer of this direction's own and each read is
 * written to `dst` from that buffer, no copy, no queue (direct-write.ts). When the kernel takes a
 * write whole (the usual case) the buffer is free for the next read at once. When it does not,
 * libuv still points into the buffer, so `src` stops reading until that write is done: that keeps
 * the bytes intact and is the backpressure too (one buffer in flight per direction, however slow
 * the reader). Returns false when this Node cannot read into our buffer (see read-buffer.ts); the
 * caller then pipes.
 */
function passThrough(src: Socket, dst: Socket): boolean {
  const written = () => {
    if (!src.destroyed) src.resume();
  };
  const fast = readGrowing(src, READ_SIZES, (chunk) => {
    // The other side is gone or was ended (close(), a peer's close): what still arrives has
    // nowhere to go. Stop reading; the link's close handling ends this side too.
    if (dst.destroyed || dst.writableEnded) return false;
    return writeNow(dst, chunk, written);
  });
  if (!fast) return false;
  // Half-close passes on as it does with pipe(): the peer's FIN becomes ours once all is written.
  src.once('end', () => dst.end());
  return true;
}

function drained(dst: Socket, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      dst.off('drain', done);
      dst.off('close', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    dst.on('drain', done);
    dst.on('close', done);
    signal.addEventListener('abort', done);
  });
}

/** The socket's bytes as stamped chunks; pauses the socket while too much waits unread. */
function chunks(src: Socket, signal: AbortSignal): AsyncIterable<Chunk> {
  const queue: Chunk[] = [];
  let queued = 0;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  src.on('data', (data: Buffer) => {
    queue.push({ data, t: performance.now() });
    queued += data.length;
    if (queued > HIGH_WATER) src.pause();
    notify();
  });
  src.on('end', () => {
    ended = true;
    notify();
  });
  src.on('close', () => {
    ended = true;
    notify();
  });
  signal.addEventListener('abort', notify, { once: true });
  return {
    async *[Symbol.asyncIterator]() {
      while (true) {
        const chunk = queue.shift();
        if (chunk) {
          queued -= chunk.data.length;
          if (queued <= HIGH_WATER / 2 && src.isPaused()) src.resume();
          yield chunk;
          continue;
        }
        if (ended || signal.aborted) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}
