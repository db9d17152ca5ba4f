import type { Socket } from 'node:net';

// Node's `onread` socket option (reads land in a buffer the caller owns and go to one callback: no
// Buffer allocated, no stream queue, no 'data' event per read) is what a byte-for-byte proxy wants,
// and roughly halves the proxy's CPU per byte. But it is a constructor option only: net.Server
// builds accepted sockets without it (Node 20), and the proxy needs it on those most. The option
// is stored in three per-instance fields keyed by private symbols (kBuffer, kBufferCb, kBufferGen,
// set in the Socket constructor) and applied with `_handle.useUserBuffer`; this sets the same fields
// on an existing socket. Everything is feature-detected: on a Node without them this returns false
// and the caller keeps using the stream API, so an upgrade can cost speed but never correctness.

/** Called for every read: `n` bytes at the start of `buf`. Returning false stops reading (`resume()` restarts it). */
export type OnRead = (n: number, buf: Buffer) => boolean;

interface UserBufferHandle {
  reading?: boolean;
  useUserBuffer?: (buf: Uint8Array) => void;
}

function symbolNamed(obj: object, name: string): symbol | undefined {
  return Object.getOwnPropertySymbols(obj).find((s) => s.description === name);
}

/**
 * Makes `socket` read into `next()` (asked again after every read, so the caller can hand out a
 * bigger or another buffer) and deliver to `onRead` instead of 'data'. 'end', 'error', 'close',
 * pause() and resume() behave as usual. Only on a socket that has not started reading and holds no
 * buffered data (a connection accepted with pauseOnConnect, or a socket still connecting); returns
 * false, changing nothing, when that is not the case or this Node lacks the fields.
 */
export function readIntoOwnBuffer(socket: Socket, next: () => Buffer, onRead: OnRead): boolean {
  const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function' || handle.reading || socket.readableLength > 0 || socket.destroyed) return false;
  const kBuffer = symbolNamed(socket, 'kBuffer');
  const kBufferCb = symbolNamed(socket, 'kBufferCb');
  const kBufferGen = symbolNamed(socket, 'kBufferGen');
  if (!kBuffer || !kBufferCb || !kBufferGen) return false;
  const fields = socket as unknown as Record<symbol, unknown>;
  // Not yet switched to a buffer of its own: a null first field is how a plain socket looks.
  if (fields[kBuffer] !== null || fields[kBufferCb] !== null || fields[kBufferGen] !== null) return false;
  const first = next();
  fields[kBuffer] = first;
  fields[kBufferCb] = onRead;
  fields[kBufferGen] = next;
  handle.useUserBuffer(first);
  return true;
}
