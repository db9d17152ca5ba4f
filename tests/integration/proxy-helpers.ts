import net from 'node:net';
import pino from 'pino';
import type { TObject } from '@sinclair/typebox';
import { validate } from '../../api/validate';
import type { FaultContext, FaultKind, ResolvedTarget } from '../../daemon/faults/types';
import { isSameProcess } from '../../daemon/sys/proc';

// Shared by the proxy integration tests: a FaultContext like the daemon builds (the real inject /
// recover code path), servers on random loopback ports, and small clients that measure.

export interface TestFault {
  ctx: FaultContext<any>;
  saved: Record<string, unknown>[];
  state: Record<string, any>;
  recover(): Promise<void>;
}

let seq = 0;

export function makeCtx(kind: FaultKind<TObject>, rawParams: unknown, target: ResolvedTarget = { processes: [] }) {
  const params = validate(kind.spec.params, structuredClone(rawParams), 'params', '/params');
  const saved: Record<string, unknown>[] = [];
  const ctx: FaultContext<any> = {
    id: `proxy-${process.pid}-${++seq}`,
    params,
    target,
    log: pino({ level: 'silent' }),
    save: async (s) => void saved.push(structuredClone(s)),
    signal: new AbortController().signal,
  };
  return { ctx, saved, params };
}

/** Prechecks and injects like the daemon does; returns the state and a recover function. */
export async function injectFault(kind: FaultKind<TObject>, rawParams: unknown, target?: ResolvedTarget): Promise<TestFault> {
  const { ctx, saved } = makeCtx(kind, rawParams, target);
  await kind.precheck?.(ctx.params, ctx.target);
  const state = (await kind.inject(ctx)) as Record<string, any>;
  return { ctx, saved, state, recover: () => kind.recover(ctx, state) };
}

export function listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** A TCP echo server (answers every chunk at once). */
export async function echoServer(): Promise<{ server: net.Server; port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.on('data', (d) => s.write(d));
  });
  const port = await listen(server);
  return {
    server,
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Round trip times (ms) of `n` one-byte pings on one connection to an echo server. */
export async function pingRtts(sock: net.Socket, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const got = new Promise((r) => sock.once('data', r));
    sock.write('x');
    await got;
    out.push(performance.now() - t);
  }
  return out;
}

/** How the connection ended as the client sees it: data received, then 'end' / 'reset' / 'open'. */
export function outcome(sock: net.Socket, waitMs: number): Promise<{ bytes: number; how: 'end' | 'reset' | 'error' | 'open'; afterMs: number }> {
  const t0 = performance.now();
  let bytes = 0;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ bytes, how: 'open', afterMs: performance.now() - t0 }), waitMs);
    sock.on('data', (d: Buffer) => (bytes += d.length));
    sock.once('end', () => {
      clearTimeout(timer);
      resolve({ bytes, how: 'end', afterMs: performance.now() - t0 });
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ bytes, how: err.code === 'ECONNRESET' ? 'reset' : 'error', afterMs: performance.now() - t0 });
    });
  });
}

export function stats(xs: number[]) {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  const sorted = [...xs].sort((a, b) => a - b);
  return { mean, sd, min: sorted[0], max: sorted[sorted.length - 1], p: (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] };
}

/** Whether a proxy child recorded in a fault state is still running. */
export async function proxyAlive(state: { pid?: number; startTime?: number }): Promise<boolean> {
  return !!state.pid && state.startTime !== undefined && (await isSameProcess(state.pid, state.startTime));
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function accepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Sets which relay the proxy children started from now on use (FAULTLINE_PROXY_RELAY=js for 'js', the
 * native one where built otherwise) and returns a function that puts the previous setting back.
 */
export function setRelay(relay: string): () => void {
  const before = process.env.FAULTLINE_PROXY_RELAY;
  if (relay === 'js') process.env.FAULTLINE_PROXY_RELAY = 'js';
  else delete process.env.FAULTLINE_PROXY_RELAY;
  return () => {
    if (before === undefined) delete process.env.FAULTLINE_PROXY_RELAY;
    else process.env.FAULTLINE_PROXY_RELAY = before;
  };
}

/** In a describe block: its proxy children use `relay` (see setRelay). */
export function useRelay(relay: string): void {
  let restore = () => undefined as void;
  beforeAll(() => void (restore = setRelay(relay)));
  afterAll(() => restore());
}
