import type { Socket } from 'node:net';
import { addonAbsence, addonPath, loadAddon } from '../native/addon';

// Connections no toxic touches, relayed by daemon/native/relay.c on a thread of its own instead of
// through libuv and V8 for every read: a relayed hop costs what it costs in any C relay (epoll_wait,
// read, write), so the proxy adds to a round trip what haproxy adds, or less. Where the addon is not
// built, or with FAULTLINE_PROXY_RELAY=js, those connections take the JavaScript pass-through
// (link.ts), with the same behaviour.

interface RelayAddon {
  add(fdA: number, fdB: number): void;
  open(): number;
  cutAll(): void;
}

export const NATIVE_RELAY_PATH = addonPath('faultline-relay.node');
const RELAY_SWITCH = { env: 'FAULTLINE_PROXY_RELAY', value: 'js' };

/** Which relay the proxy children will use, for /v1/info (read without loading the addon into the daemon). */
export function relayBackend(): { native: boolean; detail: string } {
  const why = addonAbsence(NATIVE_RELAY_PATH, RELAY_SWITCH);
  return why ? { native: false, detail: `JavaScript relay (${why})` } : { native: true, detail: 'native relay thread for connections no toxic acts on' };
}

function load(): RelayAddon | undefined {
  return loadAddon<RelayAddon>(NATIVE_RELAY_PATH, RELAY_SWITCH).addon;
}

// loaded where it is used: the proxy child, not the daemon
let addon: RelayAddon | undefined | null = null;

export interface NativeRelay {
  /**
   * Hands a connected pair over to the relay thread and closes the sockets' own descriptors here.
   * Only for sockets that have read nothing yet (an accepted connection still paused, an upstream
   * just connected); false, changing nothing, when a socket has no descriptor to give.
   */
  adopt(a: Socket, b: Socket): boolean;
  /** Connections still being relayed (a drain waits for them). */
  open(): number;
  /** Closes every relayed connection (a drain's deadline). */
  cutAll(): void;
}

function fdOf(s: Socket): number | undefined {
  const fd = (s as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 && !s.destroyed && s.readableLength === 0 ? fd : undefined;
}

/** The native relay, or undefined where it is not built (or FAULTLINE_PROXY_RELAY=js). */
export function nativeRelay(): NativeRelay | undefined {
  if (addon === null) addon = load();
  if (!addon) return undefined;
  const a = addon;
  return {
    adopt(x, y) {
      const fx = fdOf(x);
      const fy = fdOf(y);
      if (fx === undefined || fy === undefined) return false;
      try {
        a.add(fx, fy); // duplicates both: the connections stay open when these sockets close theirs
      } catch {
        return false; // no thread or no descriptor to spare: the caller relays it in JavaScript
      }
      x.destroy();
      y.destroy();
      return true;
    },
    open: () => a.open(),
    cutAll: () => a.cutAll(),
  };
}
