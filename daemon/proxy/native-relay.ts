import type { Socket } from 'node:net';
import { addonAbsence, addonPath, loadAddon } from '../native/addon';

// Connections no toxic touches, relayed by daemon/native/relay.c on a thread of its own instead of
// through libuv and V8 for every read: a relayed hop costs what it costs in any C relay (epoll_wait,
// read, write), so the proxy adds to a round trip what haproxy adds, or less. Where the addon is not
// built, or with FAULTLINE_PROXY_RELAY=js, those connections take the JavaScript pass-through
// (link.ts), with the same behaviour.

/** What the relay thread can rule an http-fault's requests out by (http-match.ts relayPrefilter). */
export interface RelayRule {
  methods?: string[];
  glob?: number[];
  headers?: string[];
}

/** A connection the relay gives back, from the first request it did not take on (relay-http.c). */
export interface Handoff {
  client: number;
  /** -1 when the upstream failed before the oldest request's answer began: the proxy answers 502. */
  upstream: number;
  /** Request bytes not handled yet, from a request's first byte. */
  bytes?: Buffer;
  /** A request body's framing error: the proxy answers 400. */
  why?: string;
  /** The upstream's error code, with upstream -1. */
  upstreamError?: string;
  /** What addHttp was given. */
  label: string;
}

interface RelayAddon {
  add(fdA: number, fdB: number): void;
  addHttp(client: number, upstream: number, label: string): void;
  http(rule: RelayRule, onHandoff: (client: number, upstream: number, bytes?: Buffer, why?: string, upstreamError?: string, label?: string) => void): void;
  open(): number;
  drain(): void;
  cutAll(): void;
}

export const NATIVE_RELAY_PATH = addonPath('faultline-relay.node');
const RELAY_SWITCH = { env: 'FAULTLINE_PROXY_RELAY', value: 'js' };

/** Which relay the proxy children will use, for /v1/info (read without loading the addon into the daemon). */
export function relayBackend(): { native: boolean; detail: string } {
  const why = addonAbsence(NATIVE_RELAY_PATH, RELAY_SWITCH);
  return why
    ? { native: false, detail: `JavaScript relay (${why})` }
    : { native: true, detail: "native relay thread for connections no toxic acts on, and for http-fault's requests its rule rules out by method, path or header" };
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

/** Hands x and y to `add` (which duplicates both fds) and closes them here; false, changing nothing, when it cannot. */
function handOver(x: Socket, y: Socket, add: (fx: number, fy: number) => void): boolean {
  const fx = fdOf(x);
  const fy = fdOf(y);
  if (fx === undefined || fy === undefined) return false;
  try {
    add(fx, fy); // duplicates both: the connections stay open when these sockets close theirs
  } catch {
    return false; // no thread or no descriptor to spare: the caller relays it in JavaScript
  }
  x.destroy();
  y.destroy();
  return true;
}

/** The native relay, or undefined where it is not built (or FAULTLINE_PROXY_RELAY=js). */
export function nativeRelay(): NativeRelay | undefined {
  if (addon === null) addon = load();
  if (!addon) return undefined;
  const a = addon;
  return {
    adopt: (x, y) => handOver(x, y, (fx, fy) => a.add(fx, fy)),
    open: () => a.open(),
    cutAll: () => a.cutAll(),
  };
}

export interface NativeHttpRelay extends NativeRelay {
  /** As adopt, for an http-fault connection: relayed until a request the rule may match. */
  adoptHttp(client: Socket, upstream: Socket, label: string): boolean;
  /** Connections end once no request is open on them (a drain's start). */
  drain(): void;
}

/**
 * The relay for an http-fault's connections (daemon/native/relay-http.c): it forwards the requests
 * `rule` rules out, and gives a connection to `onHandoff` at the first it does not. Undefined where
 * the relay is not built (or FAULTLINE_PROXY_RELAY=js); once per process.
 */
export function nativeHttpRelay(rule: RelayRule, onHandoff: (h: Handoff) => void): NativeHttpRelay | undefined {
  const relay = nativeRelay();
  const a = addon;
  if (!relay || !a) return undefined;
  try {
    a.http(rule, (client, upstream, bytes, why, upstreamError, label) => onHandoff({ client, upstream, bytes, why, upstreamError, label: label ?? '' }));
  } catch {
    return undefined; // a rule it cannot hold (a method name too long): JavaScript serves every request
  }
  return {
    ...relay,
    adoptHttp: (client, upstream, label) => handOver(client, upstream, (fc, fu) => a.addHttp(fc, fu, label)),
    drain: () => a.drain(),
  };
}
