import type { Socket } from 'node:net';
import { readIntoOwnBuffer } from './read-buffer';

// A socket's reads into a buffer of its own (read-buffer.ts) that starts small and grows ×4 while
// reads fill it, so an interactive connection keeps a small buffer and only bulk transfers get a
// large one: fewer, larger reads and writes are most of what a byte-moving proxy can save. Used by
// the TCP fast path (link.ts) and the HTTP proxy (http-proxy.ts), each with its own sizes.
//
// Grown buffers come out of one budget per proxy process (a child runs one proxy), so many bulk
// connections cannot add up to gigabytes: past it, sockets keep the size they have. A socket's
// growth goes back to the budget when it closes.

const GROWN_BUDGET = 64 * 1024 * 1024;
let grownBytes = 0;

/** Bytes of read buffers grown past their first size, held by open sockets (for tests). */
export function grownReadBytes(): number {
  return grownBytes;
}

export interface ReadSizes {
  /** The first buffer's size. */
  first: number;
  /** No growth past this size. */
  max: number;
}

/**
 * Reads `socket` into a growing buffer of its own and hands each read to `onRead`, which returns
 * false to stop reading (`socket.resume()` restarts it). The chunk is a view of that buffer, read
 * into again once `onRead` has returned true, or once the socket is resumed: whatever must outlive
 * that is copied or already written out (a write the kernel did not take whole still points into
 * it: stop reading until it is done). A grown buffer is a new one, so a view the caller still holds
 * stays intact. Returns false, changing nothing, where read-buffer.ts cannot switch the socket
 * (the caller falls back to the stream API).
 */
export function readGrowing(socket: Socket, sizes: ReadSizes, onRead: (chunk: Buffer) => boolean): boolean {
  let buf = Buffer.allocUnsafe(sizes.first);
  const own = readIntoOwnBuffer(
    socket,
    () => buf,
    (n, read) => {
      const full = n === read.length;
      const more = onRead(full ? read : read.subarray(0, n));
      if (full && read === buf && read.length < sizes.max && grownBytes + read.length * 3 <= GROWN_BUDGET) {
        grownBytes += read.length * 3;
        buf = Buffer.allocUnsafe(read.length * 4);
      }
      return more;
    },
  );
  if (!own) return false;
  socket.once('close', () => void (grownBytes -= buf.length - sizes.first));
  return true;
}
