import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PROXY_DIR } from './paths';

// The kernel relay for connections no toxic touches (native/splice/splice.c): bytes go socket → pipe
// → socket with splice(2) on one epoll thread of the proxy process, never into JavaScript. Copying
// every byte up into the proxy and back down is what a user-space proxy pays per byte; on a machine
// whose CPUs client and server already keep busy that cost is the throughput lost (bench/proxy.ts).
// HAProxy splices for the same reason, and Go's io.Copy between TCP sockets does it under Toxiproxy.
//
// The addon is built by `npm install` (native/splice/build.mjs). Where it is missing (no compiler, not
// Linux) or turned off (FAULTLINE_PROXY_SPLICE=0), `kernelRelay()` says why and the proxy keeps its
// user-space path (link.ts): the same bytes, slower.

interface Addon {
  setup(onDone: (id: number, errno: number, bytesAtoB: number, bytesBtoA: number) => void): void;
  relay(fdA: number, fdB: number): number;
  cancel(id: number): void;
}

export const SPLICE_ADDON = path.resolve(PROXY_DIR, '../../native/splice/build/Release/faultline_splice.node');

export interface RelayEnd {
  /** errno name when the connection failed (ECONNRESET, ECANCELED for a cancel, …), else undefined. */
  error?: string;
  bytesUp: number;
  bytesDown: number;
}

const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));
const waiting = new Map<number, (end: RelayEnd) => void>();
let addon: Addon | null | undefined;
let unavailable = '';

function load(): Addon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.env.FAULTLINE_PROXY_SPLICE === '0') {
    unavailable = 'turned off by FAULTLINE_PROXY_SPLICE=0';
    return null;
  }
  try {
    const loaded = createRequire(path.join(PROXY_DIR, 'splice.ts'))(SPLICE_ADDON) as Addon;
    loaded.setup((id, errno, up, down) => {
      const done = waiting.get(id);
      waiting.delete(id);
      done?.({ error: errno ? (ERRNO_NAMES.get(errno) ?? `errno ${errno}`) : undefined, bytesUp: up, bytesDown: down });
    });
    addon = loaded;
  } catch (err) {
    unavailable = `native/splice is not built (${(err as Error).message.split('\n')[0]})`;
  }
  return addon;
}

/** Whether this process relays in the kernel, and if not, why. */
export function kernelRelay(): { available: boolean; reason?: string } {
  return load() ? { available: true } : { available: false, reason: unavailable };
}

interface FdHandle {
  fd?: number;
  reading?: boolean;
}

/** The socket's descriptor, only while nothing in Node reads from it or holds bytes it read. */
function idleFd(socket: Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: FdHandle | null })._handle;
  if (!handle || handle.reading || socket.readableLength > 0 || socket.destroyed) return undefined;
  return typeof handle.fd === 'number' && handle.fd >= 0 ? handle.fd : undefined;
}

/**
 * Hands a connected pair of sockets to the kernel relay until both directions have ended (each FIN
 * passed on after its bytes) or one fails. Both sockets must never have read (an accepted socket with
 * pauseOnConnect, an outgoing one paused before it connected). Returns the relay's id, or undefined
 * when that is not possible (the caller relays in user space instead); `onEnd` runs once, after the
 * relay has let go of both sockets. Node's sockets stay open for the caller to close.
 */
export function relayInKernel(a: Socket, b: Socket, onEnd: (end: RelayEnd) => void): number | undefined {
  const native = load();
  const fdA = idleFd(a);
  const fdB = idleFd(b);
  if (!native || fdA === undefined || fdB === undefined) return undefined;
  const id = native.relay(fdA, fdB);
  waiting.set(id, onEnd);
  return id;
}

/** Ends a relay now (its `onEnd` follows with ECANCELED; nothing when it has ended already). */
export function cancelRelay(id: number): void {
  if (waiting.has(id)) load()?.cancel(id);
}

/** Relays not yet ended, for tests. */
export function openRelays(): number {
  return waiting.size;
}
