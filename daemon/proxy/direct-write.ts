import type { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';

// socket.write() costs, per call, the Writable's bookkeeping, and a process.nextTick that runs its
// callback (and with it another pass through Node's tick queue) after the kernel took the bytes.
// A proxy writes once per read per direction, so on its hot path that is most of the JavaScript it
// runs. Node 24.22 writes a Buffer at once with `handle.writeBuffer(null, buf)` and answers a
// number when the write completed there (no request object, nothing called later), the WriteWrap
// of a pending write otherwise; this calls it directly, and falls back to socket.write whenever the
// stream has anything of its own queued (connecting, buffered, ended) and on a Node without that
// protocol. Like read-buffer.ts, everything is feature-detected: an upgrade can cost speed, never
// correctness. Measured (daemon/proxy/README.md): the child's run time per wakeup in 64-byte
// ping-pong p50 26 → 25 µs, p99 59 → 54 µs; its CPU per HTTP request ~3–8 % lower.

interface WriteReq {
  oncomplete: ((status: number) => void) | undefined;
  buffer: unknown;
  writeStatus?: number | null;
}

interface WritableHandle {
  writeBuffer(req: null, buf: Uint8Array): number | WriteReq;
}

interface StreamBinding {
  WriteWrap: new () => object;
  streamBaseState: Int32Array;
  kLastWriteErr: number;
}

/** The stream binding when this Node speaks the `writeBuffer(null, buf)` protocol (a WriteWrap carries `writeStatus`). */
function streamBinding(): StreamBinding | undefined {
  try {
    const b = (process as unknown as { binding(name: string): Partial<StreamBinding> }).binding('stream_wrap');
    if (typeof b.WriteWrap !== 'function' || !ArrayBuffer.isView(b.streamBaseState) || typeof b.kLastWriteErr !== 'number') return undefined;
    return 'writeStatus' in new b.WriteWrap() ? (b as StreamBinding) : undefined;
  } catch {
    return undefined;
  }
}

const binding = streamBinding();

/** Whether writes bypass the stream on this Node (for tests: the pinned Node must take the fast path). */
export const directWrites = binding !== undefined;

function failed(socket: Socket, status: number): void {
  const code = getSystemErrorName(status);
  socket.destroy(Object.assign(new Error(`write ${code}`), { code, errno: status, syscall: 'write' }));
}

/**
 * Writes `buf` to `socket`. Returns true when nothing is left pending (the kernel took it whole, or
 * the write failed at once and the socket is destroyed with the error); false when part of it is
 * still on its way: `done` is called once it is written (or failed). Until then `buf` must stay
 * as it is (it is the caller's read buffer: the callers stop reading meanwhile). Writes leave in
 * call order in both paths (libuv queues a write behind a pending one).
 */
export function writeNow(socket: Socket, buf: Buffer, done: () => void): boolean {
  const handle = (socket as unknown as { _handle?: Partial<WritableHandle> | null })._handle;
  if (!binding || !handle || typeof handle.writeBuffer !== 'function' || socket.connecting || socket.writableLength > 0 || socket.writableEnded || socket.destroyed) {
    return writeStream(socket, buf, done);
  }
  const ret = handle.writeBuffer(null, buf);
  if (typeof ret === 'number') {
    if (ret < 0) failed(socket, ret);
    return true;
  }
  const err = binding.streamBaseState[binding.kLastWriteErr];
  if (err !== 0) {
    failed(socket, err);
    return true;
  }
  ret.buffer = buf; // kept alive until libuv is done with it
  ret.oncomplete = (status: number) => {
    if (status < 0) failed(socket, status);
    done();
  };
  // Completed inside the call before oncomplete was set: the status waits on the request.
  const status = ret.writeStatus;
  if (status !== null && status !== undefined) {
    ret.writeStatus = null;
    ret.oncomplete = undefined;
    if (status < 0) failed(socket, status);
    return true;
  }
  return false;
}

/** The stream path: a write the kernel took whole leaves the Writable empty at once. */
function writeStream(socket: Socket, buf: Buffer, done: () => void): boolean {
  let whole = false;
  socket.write(buf, () => {
    if (!whole) done();
  });
  whole = socket.writableLength === 0;
  return whole;
}
