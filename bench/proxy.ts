import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import pino from 'pino';
import type { TObject } from '@sinclair/typebox';
import { validate } from '../api/validate';
import httpFault from '../daemon/faults/http-fault';
import tcpFault from '../daemon/faults/tcp-fault';
import type { FaultContext, FaultKind } from '../daemon/faults/types';
import { printTable, summarize } from './stats';

// The fault proxy side by side with a direct connection, in one run, on loopback:
// - added round-trip latency with no toxic (goal: p50 < 0.2 ms),
// - bulk TCP throughput through the proxy vs direct (goal ≥ 80 %),
// - HTTP requests/s through the http-fault proxy (a rule that matches nothing) vs direct (goal ≥ 70 %).
// The servers run in a process of their own, the proxy in its own child (as in the daemon), the
// clients here. Direct and proxied runs alternate so drift in machine load hits both.

const SERVERS = `
const net = require('net'), http = require('http');
const echo = net.createServer((s) => { s.setNoDelay(true); s.on('error', () => {}); s.on('data', (d) => s.write(d)); }).listen(0, '127.0.0.1');
const sink = net.createServer((s) => { s.on('error', () => {}); s.on('data', () => {}); s.on('end', () => s.end('done')); }).listen(0, '127.0.0.1');
const body = Buffer.from(JSON.stringify({ ok: true, items: [1, 2, 3] }));
const web = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }); res.end(body); });
web.keepAliveTimeout = 60000;
web.listen(0, '127.0.0.1');
setTimeout(() => console.log(JSON.stringify({ echo: echo.address().port, sink: sink.address().port, web: web.address().port })), 200);
`;

const PINGS = 4000;
const BULK_BYTES = 256 * 1024 * 1024;
const HTTP_SECONDS = 4;
const HTTP_PARALLEL = 32;

interface Ports {
  echo: number;
  sink: number;
  web: number;
}

async function startServers(): Promise<{ ports: Ports; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', SERVERS], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ports = await new Promise<Ports>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as Ports));
    child.once('exit', (code) => reject(new Error(`bench servers exited ${code}`)));
  });
  return { ports, child };
}

async function startProxy(kind: FaultKind<TObject>, params: unknown): Promise<{ port: number; stop(): Promise<void> }> {
  const ctx: FaultContext<any> = {
    id: `bench-proxy-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    params: validate(kind.spec.params, params, 'params', '/params'),
    target: { processes: [] },
    log: pino({ level: 'silent' }),
    save: async () => undefined,
    signal: new AbortController().signal,
  };
  const state = (await kind.inject(ctx)) as Record<string, any>;
  return { port: state.proxyPort, stop: () => kind.recover(ctx, state) };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.setNoDelay(true);
    s.once('error', reject);
  });
}

/** Round-trip times (ms) of 1-byte pings on one connection. */
async function pings(port: number, n: number): Promise<number[]> {
  const s = await connect(port);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await new Promise((r) => {
      s.once('data', r);
      s.write('x');
    });
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  s.destroy();
  return out;
}

/** Bytes per second of one bulk upload to the sink (until its "done" after our end). */
async function bulk(port: number, bytes: number): Promise<number> {
  const s = await connect(port);
  const block = Buffer.alloc(256 * 1024, 1);
  const t = process.hrtime.bigint();
  for (let sent = 0; sent < bytes; sent += block.length) {
    if (!s.write(block)) await new Promise((r) => s.once('drain', r));
  }
  s.end();
  await new Promise((r) => s.once('data', r));
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  s.destroy();
  return bytes / seconds;
}

/** Requests per second with HTTP_PARALLEL keep-alive connections for `seconds`. */
async function httpRate(port: number, seconds: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: HTTP_PARALLEL });
  const until = Date.now() + seconds * 1000;
  let done = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/api/items', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        })
        .on('error', reject);
    });
  const t = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: HTTP_PARALLEL }, async () => {
      while (Date.now() < until) {
        await one();
        done++;
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - t) / 1e9;
  agent.destroy();
  return done / elapsed;
}

export async function benchProxy(): Promise<unknown> {
  const { ports, child } = await startServers();
  try {
    const tcp = await startProxy(tcpFault as unknown as FaultKind<TObject>, { listen: '127.0.0.1:0', upstream: `127.0.0.1:${ports.echo}`, toxics: [] });
    const tcpSink = await startProxy(tcpFault as unknown as FaultKind<TObject>, { listen: '127.0.0.1:0', upstream: `127.0.0.1:${ports.sink}`, toxics: [] });
    const web = await startProxy(httpFault as unknown as FaultKind<TObject>, {
      listen: '127.0.0.1:0',
      upstream: `127.0.0.1:${ports.web}`,
      match: { path: '/never/**' },
      abort: { status: 503 },
    });
    const tcpWeb = await startProxy(tcpFault as unknown as FaultKind<TObject>, { listen: '127.0.0.1:0', upstream: `127.0.0.1:${ports.web}`, toxics: [] });
    try {
      // Warm up both paths (JIT, connection setup) before measuring.
      await pings(ports.echo, 300);
      await pings(tcp.port, 300);
      await httpRate(ports.web, 0.5);
      await httpRate(web.port, 0.5);

      const direct: number[] = [];
      const proxied: number[] = [];
      for (let round = 0; round < 2; round++) {
        direct.push(...(await pings(ports.echo, PINGS / 2)));
        proxied.push(...(await pings(tcp.port, PINGS / 2)));
      }
      const d = summarize(direct);
      const p = summarize(proxied);

      const bulkDirect: number[] = [];
      const bulkProxied: number[] = [];
      for (let round = 0; round < 2; round++) {
        bulkDirect.push(await bulk(ports.sink, BULK_BYTES));
        bulkProxied.push(await bulk(tcpSink.port, BULK_BYTES));
      }
      const bd = Math.max(...bulkDirect);
      const bp = Math.max(...bulkProxied);

      const rpsDirect: number[] = [];
      const rpsProxied: number[] = [];
      const rpsRaw: number[] = [];
      for (let round = 0; round < 2; round++) {
        rpsDirect.push(await httpRate(ports.web, HTTP_SECONDS / 2));
        rpsProxied.push(await httpRate(web.port, HTTP_SECONDS / 2));
        rpsRaw.push(await httpRate(tcpWeb.port, HTTP_SECONDS / 2));
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const rd = mean(rpsDirect);
      const rp = mean(rpsProxied);
      const rr = mean(rpsRaw);

      const figures = {
        // Every ratio here is CPU-bound on a small machine: record how busy it was.
        loadAverage1m: Math.round(os.loadavg()[0] * 100) / 100,
        cpus: os.cpus().length,
        latencyMs: { direct: d, proxied: p, addedP50: round3(p.p50 - d.p50), addedP99: round3(p.p99 - d.p99), goalAddedP50: 0.2 },
        bulk: { directMBps: round3(bd / 1e6), proxiedMBps: round3(bp / 1e6), ratio: round3(bp / bd), goalRatio: 0.8 },
        http: { directRps: Math.round(rd), proxiedRps: Math.round(rp), ratio: round3(rp / rd), goalRatio: 0.7, parallel: HTTP_PARALLEL, throughTcpProxyRps: Math.round(rr), tcpProxyRatio: round3(rr / rd) },
      };
      printTable('fault proxy: round trip (ms), 1-byte ping-pong, no toxic', [
        { path: 'direct', n: d.n, p50: d.p50, p90: d.p90, p99: d.p99, mean: d.mean },
        { path: 'tcp-fault proxy', n: p.n, p50: p.p50, p90: p.p90, p99: p.p99, mean: p.mean },
        { path: 'added', n: '', p50: figures.latencyMs.addedP50, p90: round3(p.p90 - d.p90), p99: figures.latencyMs.addedP99, mean: round3(p.mean - d.mean) },
      ]);
      printTable('fault proxy: throughput side by side', [
        { what: `bulk TCP upload ${BULK_BYTES / 2 ** 20} MiB (MB/s)`, direct: figures.bulk.directMBps, proxied: figures.bulk.proxiedMBps, ratio: figures.bulk.ratio, goal: '≥ 0.8' },
        { what: `HTTP GET, ${HTTP_PARALLEL} keep-alive conns (req/s)`, direct: figures.http.directRps, proxied: figures.http.proxiedRps, ratio: figures.http.ratio, goal: '≥ 0.7' },
        { what: 'same HTTP load through tcp-fault (bytes only)', direct: figures.http.directRps, proxied: figures.http.throughTcpProxyRps, ratio: figures.http.tcpProxyRatio, goal: '' },
      ]);
      console.log(
        `\nload average ${figures.loadAverage1m} on ${figures.cpus} CPUs · added latency p50 ${figures.latencyMs.addedP50} ms (goal < 0.2) · bulk ratio ${figures.bulk.ratio} (goal ≥ 0.8) · HTTP ratio ${figures.http.ratio} (goal ≥ 0.7)`,
      );
      return figures;
    } finally {
      await tcp.stop();
      await tcpSink.stop();
      await web.stop();
      await tcpWeb.stop();
    }
  } finally {
    child.kill('SIGKILL');
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
