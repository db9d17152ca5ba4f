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
import { CLK_TCK, PAGE_SIZE, readStat } from '../daemon/sys/proc';
import { printTable, summarize } from './stats';

// The fault proxy side by side with a direct connection, in one run, on loopback:
// - added round-trip latency with no toxic (goal: p50 < 0.2 ms),
// - bulk TCP throughput through the proxy vs direct (goal ≥ 80 %),
// - HTTP requests/s through the http-fault proxy (a rule that matches nothing) vs direct (goal ≥ 70 %),
//   with the CPU seconds per 100k requests of client, proxy and server: client and server alone keep
//   2 CPUs busy, so there the ratio is about (client + server) / (client + proxy + server) per request.
//   Client, servers and proxy each run in a session of their own, as three separate services would:
//   the proxy child is detached as in the daemon, and so is the servers' process. With the scheduler's
//   autogroups (one per session, on by default; systemd services get the same fairness from their
//   cgroups) a proxy in its own group next to client and server sharing one would get as much CPU as
//   both together, and they would be capped at half the machine: that measured the grouping, not the
//   proxy (HTTP ratio ~0.55–0.64 that way, ~0.75–0.86 with each in its own).
// The servers run in a process of their own, the proxy in its own child (as in the daemon), the
// clients here. Direct and proxied runs alternate so drift in machine load hits both.
//
// Bulk throughput is CPU-bound on loopback: client, proxy child and server are three busy processes,
// and a proxy that terminates TCP adds a whole second loopback hop (its receive, its send, and the
// kernel's TCP work for both, most of which loopback charges to the sender). With fewer CPUs than
// that (2 where these goals were set) the direct run already keeps every CPU busy, so the ratio is
// bounded by CPU, not by the proxy's design: on such a machine a native recv_into/sendall proxy with
// 4 MiB buffers (Python) measured the same ratio as this one, and so did kernel relays with
// splice(2) (a C relay with a thread per direction: 0.5–0.6; an epoll splice addon in the proxy child:
// 0.43 median over 5 × 2 GiB against 0.59 for this one in the same run; splice moved the proxy's copy
// cost onto the server, whose CPU per GB doubled). The bench therefore also records CPU seconds per
// GB of each process (client: process.cpuUsage, proxy child and servers: /proc/<pid>/stat) and the
// ceiling that follows from them, so a reader can judge the proxy's cost apart from the machine it
// ran on. Each round moves 2 GiB: at ~4 GB/s a smaller transfer ends before TCP windows, read
// buffers and the scheduler settle (256 MiB rounds swung from 0.3 to 0.9 of direct in one run).

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
const BULK_BYTES = 2048 * 1024 * 1024;
const BULK_ROUNDS = 5;
const HTTP_SECONDS = 6;
const HTTP_ROUNDS = 3;
const HTTP_PARALLEL = 32;

interface Ports {
  echo: number;
  sink: number;
  web: number;
}

async function startServers(): Promise<{ ports: Ports; child: ChildProcess }> {
  // detached: a session (so an autogroup) of its own, like a service (see the top of this file)
  const child = spawn(process.execPath, ['-e', SERVERS], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const ports = await new Promise<Ports>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as Ports));
    child.once('exit', (code) => reject(new Error(`bench servers exited ${code}`)));
  });
  return { ports, child };
}

async function startProxy(kind: FaultKind<TObject>, params: unknown): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const ctx: FaultContext<any> = {
    id: `bench-proxy-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    params: validate(kind.spec.params, params, 'params', '/params'),
    target: { processes: [] },
    log: pino({ level: 'silent' }),
    save: async () => undefined,
    signal: new AbortController().signal,
  };
  const state = (await kind.inject(ctx)) as Record<string, any>;
  return { port: state.proxyPort, pid: state.pid, stop: () => kind.recover(ctx, state) };
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

/** CPU seconds a process has used so far (0 when it is gone). */
async function cpuSeconds(pid: number): Promise<number> {
  return ((await readStat(pid))?.cpuTicks ?? 0) / CLK_TCK;
}

interface BulkRun {
  bytesPerSecond: number;
  /** CPU seconds per GB moved: the client (this process), the proxy child (0 direct) and the servers. */
  cpu: { client: number; proxy: number; server: number };
}

/** One bulk upload, with the CPU each process spent on it. */
async function measuredBulk(port: number, serverPid: number, proxyPid?: number): Promise<BulkRun> {
  const c0 = process.cpuUsage();
  const s0 = await cpuSeconds(serverPid);
  const p0 = proxyPid ? await cpuSeconds(proxyPid) : 0;
  const bytesPerSecond = await bulk(port, BULK_BYTES);
  const c = process.cpuUsage(c0);
  const gb = BULK_BYTES / 1e9;
  return {
    bytesPerSecond,
    cpu: {
      client: (c.user + c.system) / 1e6 / gb,
      proxy: proxyPid ? ((await cpuSeconds(proxyPid)) - p0) / gb : 0,
      server: ((await cpuSeconds(serverPid)) - s0) / gb,
    },
  };
}

interface HttpRun {
  rps: number;
  /** Milliseconds per request, as the client saw them. */
  latencies: number[];
  /** CPU seconds per 100k requests: the client (this process), the proxy child (0 direct) and the server. */
  cpu: { client: number; proxy: number; server: number };
}

/** Requests per second with HTTP_PARALLEL keep-alive connections for `seconds`, with the CPU each process spent. */
async function httpRate(port: number, seconds: number, serverPid?: number, proxyPid?: number): Promise<HttpRun> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: HTTP_PARALLEL });
  const until = Date.now() + seconds * 1000;
  const latencies: number[] = [];
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      http
        .get({ host: '127.0.0.1', port, path: '/api/items', agent }, (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
            resolve();
          });
        })
        .on('error', reject);
    });
  const c0 = process.cpuUsage();
  const s0 = serverPid ? await cpuSeconds(serverPid) : 0;
  const p0 = proxyPid ? await cpuSeconds(proxyPid) : 0;
  const t = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: HTTP_PARALLEL }, async () => {
      while (Date.now() < until) await one();
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - t) / 1e9;
  const c = process.cpuUsage(c0);
  const per100k = 1e5 / latencies.length;
  const cpu = {
    client: ((c.user + c.system) / 1e6) * per100k,
    proxy: proxyPid ? ((await cpuSeconds(proxyPid)) - p0) * per100k : 0,
    server: serverPid ? ((await cpuSeconds(serverPid)) - s0) * per100k : 0,
  };
  agent.destroy();
  return { rps: latencies.length / elapsed, latencies, cpu };
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

      const bulkDirect: BulkRun[] = [];
      const bulkProxied: BulkRun[] = [];
      for (let round = 0; round < BULK_ROUNDS; round++) {
        bulkDirect.push(await measuredBulk(ports.sink, child.pid!));
        bulkProxied.push(await measuredBulk(tcpSink.port, child.pid!, tcpSink.pid));
      }
      const bd = Math.max(...bulkDirect.map((r) => r.bytesPerSecond));
      const bp = Math.max(...bulkProxied.map((r) => r.bytesPerSecond));
      // Per-round ratios too: each proxied run against the direct run just before it.
      const roundRatios = bulkProxied.map((r, i) => round3(r.bytesPerSecond / bulkDirect[i].bytesPerSecond));
      const medianCpu = (runs: BulkRun[], k: keyof BulkRun['cpu']) => round3(summarize(runs.map((r) => r.cpu[k])).p50);
      const cpuDirect = { client: medianCpu(bulkDirect, 'client'), server: medianCpu(bulkDirect, 'server') };
      const cpuProxied = { client: medianCpu(bulkProxied, 'client'), proxy: medianCpu(bulkProxied, 'proxy'), server: medianCpu(bulkProxied, 'server') };
      // The most the proxied path can move with every CPU busy on it and nothing else, against the
      // direct run: what CPU alone allows on this machine (other load on it lowers both).
      const cpuCeiling = round3(os.cpus().length / (cpuProxied.client + cpuProxied.proxy + cpuProxied.server) / (bd / 1e9));
      // With a CPU of its own for each process (3 or more CPUs) the slowest process sets each path's
      // speed: an estimate from the same CPU seconds per GB, for a reader on a machine like this one.
      const perProcessRate = (cpuPerGB: number[]) => Math.min(...cpuPerGB.map((c) => 1 / c));
      const onePerProcess = round3(perProcessRate([cpuProxied.client, cpuProxied.proxy, cpuProxied.server]) / perProcessRate([cpuDirect.client, cpuDirect.server]));
      const proxyRss = ((await readStat(tcpSink.pid))?.rssPages ?? 0) * PAGE_SIZE;

      // Interleaved rounds: direct, http-fault, tcp-fault; each proxied round against the direct one just before it.
      const httpDirect: HttpRun[] = [];
      const httpProxied: HttpRun[] = [];
      const httpRaw: HttpRun[] = [];
      for (let round = 0; round < HTTP_ROUNDS; round++) {
        httpDirect.push(await httpRate(ports.web, HTTP_SECONDS / HTTP_ROUNDS, child.pid!));
        httpProxied.push(await httpRate(web.port, HTTP_SECONDS / HTTP_ROUNDS, child.pid!, web.pid));
        httpRaw.push(await httpRate(tcpWeb.port, HTTP_SECONDS / HTTP_ROUNDS, child.pid!, tcpWeb.pid));
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const rd = mean(httpDirect.map((r) => r.rps));
      const rp = mean(httpProxied.map((r) => r.rps));
      const rr = mean(httpRaw.map((r) => r.rps));
      const httpRoundRatios = httpProxied.map((r, i) => round3(r.rps / httpDirect[i].rps));
      const httpCpu = (runs: HttpRun[]) => {
        const m = (k: keyof HttpRun['cpu']) => round3(summarize(runs.map((r) => r.cpu[k])).p50);
        const out = { client: m('client'), proxy: m('proxy'), server: m('server') };
        return { ...out, total: round3(out.client + out.proxy + out.server) };
      };
      const httpCpuPer100k = { direct: httpCpu(httpDirect), httpFault: httpCpu(httpProxied), tcpFault: httpCpu(httpRaw) };
      const httpLatency = {
        direct: summarize(httpDirect.flatMap((r) => r.latencies)),
        httpFault: summarize(httpProxied.flatMap((r) => r.latencies)),
        tcpFault: summarize(httpRaw.flatMap((r) => r.latencies)),
      };

      const figures = {
        // Every ratio here is CPU-bound on a small machine: record how busy it was.
        loadAverage1m: Math.round(os.loadavg()[0] * 100) / 100,
        cpus: os.cpus().length,
        latencyMs: { direct: d, proxied: p, addedP50: round3(p.p50 - d.p50), addedP99: round3(p.p99 - d.p99), goalAddedP50: 0.2 },
        bulk: {
          directMBps: round3(bd / 1e6),
          proxiedMBps: round3(bp / 1e6),
          ratio: round3(bp / bd),
          goalRatio: 0.8,
          rounds: BULK_ROUNDS,
          roundRatios,
          cpuSecondsPerGB: { direct: cpuDirect, proxied: cpuProxied },
          cpuCeilingRatio: Math.min(1, cpuCeiling),
          oneCpuPerProcessRatio: Math.min(1, onePerProcess),
          proxyRssMB: round3(proxyRss / 1e6),
        },
        http: {
          directRps: Math.round(rd),
          proxiedRps: Math.round(rp),
          ratio: round3(rp / rd),
          goalRatio: 0.7,
          parallel: HTTP_PARALLEL,
          rounds: HTTP_ROUNDS,
          roundRatios: httpRoundRatios,
          throughTcpProxyRps: Math.round(rr),
          tcpProxyRatio: round3(rr / rd),
          cpuSecondsPer100kRequests: httpCpuPer100k,
          latencyMs: httpLatency,
        },
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
      printTable('fault proxy: bulk upload, CPU seconds per GB (median of rounds)', [
        { path: 'direct', client: cpuDirect.client, proxy: '', server: cpuDirect.server, total: round3(cpuDirect.client + cpuDirect.server) },
        { path: 'tcp-fault proxy', client: cpuProxied.client, proxy: cpuProxied.proxy, server: cpuProxied.server, total: round3(cpuProxied.client + cpuProxied.proxy + cpuProxied.server) },
      ]);
      printTable(`fault proxy: HTTP GET, CPU seconds per 100k requests (median of ${HTTP_ROUNDS} rounds)`, [
        { path: 'direct', ...httpCpuPer100k.direct, proxy: '' },
        { path: 'http-fault proxy', ...httpCpuPer100k.httpFault },
        { path: 'tcp-fault proxy', ...httpCpuPer100k.tcpFault },
      ]);
      printTable(`fault proxy: HTTP GET, ms per request, ${HTTP_PARALLEL} in parallel`, [
        { path: 'direct', ...httpLatency.direct },
        { path: 'http-fault proxy', ...httpLatency.httpFault },
        { path: 'tcp-fault proxy', ...httpLatency.tcpFault },
      ]);
      console.log(
        `\nHTTP: ratio per round ${httpRoundRatios.join(' ')} (median ${summarize(httpRoundRatios).p50})` +
          ` · with client and server keeping every CPU busy, the ratio follows the proxy's share of the CPU per request:` +
          ` ${httpCpuPer100k.httpFault.proxy} of ${httpCpuPer100k.httpFault.total} CPU s per 100k requests`,
      );
      console.log(
        `\nbulk: ratio per round ${roundRatios.join(' ')} (median ${summarize(roundRatios).p50}) · proxy child RSS after ${BULK_ROUNDS} × ${BULK_BYTES / 2 ** 20} MiB ${figures.bulk.proxyRssMB} MB` +
          `\nbulk ceiling from CPU alone on ${figures.cpus} CPUs: ${figures.bulk.cpuCeilingRatio} of direct` +
          (figures.cpus < 3 ? ' (client, proxy and server are three busy processes: fewer than 3 CPUs bound the ratio)' : '') +
          `\nbulk with a CPU per process (estimate from the same CPU seconds per GB): ${figures.bulk.oneCpuPerProcessRatio} of direct`,
      );
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
