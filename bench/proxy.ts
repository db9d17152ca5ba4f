import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { TObject } from '@sinclair/typebox';
import { validate } from '../api/validate';
import httpFault from '../daemon/faults/http-fault';
import tcpFault from '../daemon/faults/tcp-fault';
import type { FaultContext, FaultKind } from '../daemon/faults/types';
import { CLK_TCK, readStat } from '../daemon/sys/proc';
import { run } from '../daemon/sys/exec';
import { printTable, summarize } from './stats';
import { killGroup } from './service';

// The fault proxy with no fault, side by side with a direct connection and with Debian's haproxy
// (a C relay, default config, `mode tcp`; `mode http` for HTTP), all three interleaved round by
// round in one run on loopback so that drift in the machine's load hits every column alike:
// - round trips: 64-byte ping-pong on one connection, p50/p99 added to the direct path's
//   (goal: tcp-fault adds no more than haproxy at p50 and at p99),
// - bulk TCP: iperf3 through each path (goal: median ≥ haproxy's and ≥ 0.8 of direct),
// - HTTP: wrk with keep-alive connections through http-fault with a rule that matches nothing and
//   through haproxy in HTTP mode with an ACL that matches nothing (goal: requests/s ≥ haproxy's,
//   latency percentiles ≤ haproxy's).
// Client, servers and proxies each run in a session of their own, as separate services would: with
// the scheduler's autogroups (one per session, on by default) a proxy sharing a group with client or
// server would be measured against its share of the group, not against the machine.
//
// On 2 CPUs everything here is CPU-bound: client, proxy and server are three busy processes on two
// CPUs, so the bench records the load average at start and end, and each proxy's own CPU seconds
// (per GB and per 100k requests), which say what the proxy costs apart from the machine it ran on.

const SERVERS = `
const net = require('net'), http = require('http');
const echo = net.createServer((s) => { s.setNoDelay(true); s.on('error', () => {}); s.on('data', (d) => s.write(d)); }).listen(0, '127.0.0.1');
const body = Buffer.from(JSON.stringify({ ok: true, items: [1, 2, 3] }));
const web = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }); res.end(body); });
web.keepAliveTimeout = 60000;
web.listen(0, '127.0.0.1');
setTimeout(() => console.log(JSON.stringify({ echo: echo.address().port, web: web.address().port })), 200);
`;

// While developing: BENCH_PROXY_PARTS=rtt,http runs only those parts (rtt, bulk, http) and
// BENCH_PROXY_ROUNDS=n that many rounds of each; with BENCH_RESULTS pointing elsewhere so that a
// partial run does not replace the record.
const PARTS = new Set((process.env.BENCH_PROXY_PARTS ?? 'rtt,bulk,http').split(','));
const ROUNDS = Number(process.env.BENCH_PROXY_ROUNDS) || undefined;
const HAPROXY_THREADS = Number(process.env.BENCH_HAPROXY_THREADS) || undefined;
/** What a part left out with BENCH_PROXY_PARTS records (a scaled-down run), instead of NaNs. */
const SKIPPED = { skipped: 'not in BENCH_PROXY_PARTS' };

const PING_BYTES = 64;
const PINGS_PER_ROUND = 2000;
const PING_ROUNDS = PARTS.has('rtt') ? (ROUNDS ?? 6) : 0;
/** Pings per path before measuring: a proxy in service is warm (JIT-compiled hot path); this one is not yet. */
const PING_WARMUP = 5000;
const BULK_SECONDS = 4;
const BULK_ROUNDS = PARTS.has('bulk') ? (ROUNDS ?? 5) : 0;
const HTTP_SECONDS = 4;
/** One 4 s wrk run swings by ±15 % with the machine's other work (2 CPUs, shared): a median of 5 interleaved rounds, not 3. */
const HTTP_ROUNDS = PARTS.has('http') ? (ROUNDS ?? 5) : 0;
const HTTP_CONNECTIONS = 32;

type Path = 'direct' | 'haproxy' | 'faultline';
const PATHS: Path[] = ['direct', 'haproxy', 'faultline'];

interface Ports {
  echo: number;
  web: number;
}

/** A detached process (a session of its own) that is killed with its group at the end. */
function startService(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  child.once('exit', (code) => {
    if (code) console.error(`${cmd} exited ${code}: ${err.trim()}`);
  });
  return child;
}

async function startServers(): Promise<{ ports: Ports; child: ChildProcess }> {
  const child = startService(process.execPath, ['-e', SERVERS]);
  const ports = await new Promise<Ports>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as Ports));
    child.once('exit', (code) => reject(new Error(`bench servers exited ${code}`)));
  });
  return { ports, child };
}

/** A port nobody listens on right now (for the tools that need one given). */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

async function waitListening(port: number, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} is not listening on ${port}`);
}

interface Haproxy {
  child: ChildProcess;
  ports: { echo: number; bulk: number; web: number };
  version: string;
  threads: number;
}

/** haproxy from a config written to a temp folder: one TCP listener per TCP path, one HTTP listener. */
async function startHaproxy(dir: string, upstream: { echo: number; bulk: number; web: number }): Promise<Haproxy> {
  const ports = { echo: await freePort(), bulk: await freePort(), web: await freePort() };
  const cfg = path.join(dir, 'haproxy.cfg');
  writeFileSync(
    cfg,
    [
      'global',
      '  maxconn 4096',
      // BENCH_HAPROXY_THREADS=1: one thread, as the fault proxy's child has (default: haproxy's own, one per CPU)
      ...(HAPROXY_THREADS ? [`  nbthread ${HAPROXY_THREADS}`] : []),
      'defaults',
      '  timeout connect 5s',
      '  timeout client 60s',
      '  timeout server 60s',
      '  timeout http-keep-alive 60s',
      'listen echo',
      '  mode tcp',
      `  bind 127.0.0.1:${ports.echo}`,
      `  server s 127.0.0.1:${upstream.echo}`,
      'listen bulk',
      '  mode tcp',
      `  bind 127.0.0.1:${ports.bulk}`,
      `  server s 127.0.0.1:${upstream.bulk}`,
      'listen web',
      '  mode http',
      `  bind 127.0.0.1:${ports.web}`,
      // the same work as http-fault's rule that matches nothing: look at each request's path
      '  http-request return status 503 if { path_beg /never/ }',
      `  server s 127.0.0.1:${upstream.web}`,
      '',
    ].join('\n'),
  );
  const version = (await run('haproxy', ['-v'])).split('\n')[0].replace(/ - https.*/, '');
  const child = startService('haproxy', ['-db', '-f', cfg]);
  for (const p of Object.values(ports)) await waitListening(p, 'haproxy');
  const threads = readdirSync(`/proc/${child.pid}/task`).length;
  return { child, ports, version, threads };
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

/** CPU seconds a process has used so far (0 when it is gone). */
async function cpuSeconds(pid: number): Promise<number> {
  return ((await readStat(pid))?.cpuTicks ?? 0) / CLK_TCK;
}

/** One connection to an echo server that times 64-byte round trips. */
interface Pinger {
  /** One round trip, in ms. */
  ping(): Promise<number>;
  close(): void;
}

async function pinger(port: number): Promise<Pinger> {
  const s = await new Promise<net.Socket>((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => resolve(c));
    c.once('error', reject);
  });
  s.setNoDelay(true);
  const payload = Buffer.alloc(PING_BYTES, 'x');
  let got = 0;
  let back: (() => void) | undefined;
  s.on('data', (d: Buffer) => {
    got += d.length;
    if (got >= PING_BYTES && back) {
      got -= PING_BYTES;
      const b = back;
      back = undefined;
      b();
    }
  });
  return {
    async ping() {
      const t = process.hrtime.bigint();
      await new Promise<void>((resolve) => {
        back = resolve;
        s.write(payload);
      });
      return Number(process.hrtime.bigint() - t) / 1e6;
    },
    close: () => s.destroy(),
  };
}

/** One iperf3 upload through `port`: bits per second the server received. */
async function iperf(port: number): Promise<number> {
  const out = await run('iperf3', ['-c', '127.0.0.1', '-p', String(port), '-t', String(BULK_SECONDS), '-O', '1', '-J'], { timeoutMs: (BULK_SECONDS + 20) * 1000 });
  return (JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second;
}

interface HttpRun {
  rps: number;
  /** wrk's latency distribution, ms. */
  latencyMs: { p50: number; p75: number; p90: number; p99: number };
  requests: number;
}

function wrkMs(value: string, unit: string): number {
  const v = Number(value);
  return unit === 'us' ? v / 1000 : unit === 's' ? v * 1000 : unit === 'm' ? v * 60_000 : v;
}

async function wrk(port: number): Promise<HttpRun> {
  const out = await run('wrk', ['-t1', `-c${HTTP_CONNECTIONS}`, `-d${HTTP_SECONDS}s`, '--latency', `http://127.0.0.1:${port}/api/items`], {
    timeoutMs: (HTTP_SECONDS + 20) * 1000,
  });
  const pct = (p: number) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    if (!m) throw new Error(`wrk printed no ${p}%: ${out}`);
    return round3(wrkMs(m[1], m[2]));
  };
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const total = /(\d+) requests in/.exec(out);
  if (!rps || !total) throw new Error(`wrk printed no rate: ${out}`);
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk saw errors: ${out}`);
  return { rps: Number(rps[1]), requests: Number(total[1]), latencyMs: { p50: pct(50), p75: pct(75), p90: pct(90), p99: pct(99) } };
}

function median(xs: number[]): number {
  return summarize(xs).p50;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function loadAverage(): number[] {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}

export async function benchProxy(): Promise<unknown> {
  const loadAtStart = loadAverage();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fl-bench-proxy-'));
  const services: ChildProcess[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    const { ports, child: servers } = await startServers();
    services.push(servers);
    const iperfPort = await freePort();
    services.push(startService('iperf3', ['-s', '-B', '127.0.0.1', '-p', String(iperfPort)]));
    await waitListening(iperfPort, 'iperf3 -s');
    const hap = await startHaproxy(dir, { echo: ports.echo, bulk: iperfPort, web: ports.web });
    services.push(hap.child);
    const tcp = async (upstream: number) => {
      const p = await startProxy(tcpFault as unknown as FaultKind<TObject>, { listen: '127.0.0.1:0', upstream: `127.0.0.1:${upstream}`, toxics: [] });
      stops.push(p.stop);
      return p;
    };
    const flEcho = await tcp(ports.echo);
    const flBulk = await tcp(iperfPort);
    const flWeb = await startProxy(httpFault as unknown as FaultKind<TObject>, {
      listen: '127.0.0.1:0',
      upstream: `127.0.0.1:${ports.web}`,
      match: { path: '/never/**' },
      abort: { status: 503 },
    });
    stops.push(flWeb.stop);
    const echoPort: Record<Path, number> = { direct: ports.echo, haproxy: hap.ports.echo, faultline: flEcho.port };
    const bulkPort: Record<Path, number> = { direct: iperfPort, haproxy: hap.ports.bulk, faultline: flBulk.port };
    const webPort: Record<Path, number> = { direct: ports.web, haproxy: hap.ports.web, faultline: flWeb.port };
    const proxyPid = { haproxy: hap.child.pid!, faultline: { bulk: flBulk.pid, web: flWeb.pid } };

    // ---- round trips
    // Ping by ping in turn (direct, haproxy, faultline, the order rotating), so that the load other
    // processes put on the machine, which changes from one millisecond to the next, hits every path alike.
    const pingers = {} as Record<Path, Pinger>;
    for (const p of PATHS) pingers[p] = await pinger(echoPort[p]);
    for (let i = 0; i < (PING_ROUNDS ? PING_WARMUP : 0); i++) for (const p of PATHS) await pingers[p].ping();
    const rtt: Record<Path, number[]> = { direct: [], haproxy: [], faultline: [] };
    const roundAdded: Record<'haproxy' | 'faultline', { p50: number; p99: number }[]> = { haproxy: [], faultline: [] };
    for (let round = 0; round < PING_ROUNDS; round++) {
      const got: Record<Path, number[]> = { direct: [], haproxy: [], faultline: [] };
      for (let i = 0; i < PINGS_PER_ROUND; i++) {
        for (let k = 0; k < PATHS.length; k++) {
          const p = PATHS[(i + k) % PATHS.length];
          got[p].push(await pingers[p].ping());
        }
      }
      const sum = { direct: summarize(got.direct), haproxy: summarize(got.haproxy), faultline: summarize(got.faultline) };
      for (const p of PATHS) rtt[p].push(...got[p]);
      for (const p of ['haproxy', 'faultline'] as const) {
        roundAdded[p].push({ p50: round3((sum[p].p50 - sum.direct.p50) * 1000), p99: round3((sum[p].p99 - sum.direct.p99) * 1000) });
      }
    }
    for (const p of PATHS) pingers[p].close();
    const rs = { direct: summarize(rtt.direct), haproxy: summarize(rtt.haproxy), faultline: summarize(rtt.faultline) };
    const addedUs = (p: 'haproxy' | 'faultline') => ({
      p50: round3((rs[p].p50 - rs.direct.p50) * 1000),
      p90: round3((rs[p].p90 - rs.direct.p90) * 1000),
      p99: round3((rs[p].p99 - rs.direct.p99) * 1000),
    });
    const added = { haproxy: addedUs('haproxy'), faultline: addedUs('faultline') };

    // ---- bulk
    const bulk: Record<Path, number[]> = { direct: [], haproxy: [], faultline: [] };
    const bulkCpu = { haproxy: 0, faultline: 0 };
    for (let round = 0; round < BULK_ROUNDS; round++) {
      for (const p of PATHS) {
        const pid = p === 'haproxy' ? proxyPid.haproxy : p === 'faultline' ? proxyPid.faultline.bulk : 0;
        const c0 = pid ? await cpuSeconds(pid) : 0;
        bulk[p].push((await iperf(bulkPort[p])) / 8);
        if (p !== 'direct') bulkCpu[p] += (await cpuSeconds(pid)) - c0;
      }
    }
    const gbMoved = (p: 'haproxy' | 'faultline') => (bulk[p].reduce((a, b) => a + b, 0) * (BULK_SECONDS + 1)) / 1e9;
    const bulkMedian = { direct: median(bulk.direct), haproxy: median(bulk.haproxy), faultline: median(bulk.faultline) };

    // ---- HTTP
    const http: Record<Path, HttpRun[]> = { direct: [], haproxy: [], faultline: [] };
    const httpCpu = { haproxy: 0, faultline: 0 };
    if (HTTP_ROUNDS) for (const p of PATHS) await wrk(webPort[p]).catch(() => undefined); // warm up (JIT, connections)
    for (let round = 0; round < HTTP_ROUNDS; round++) {
      for (const p of PATHS) {
        const pid = p === 'haproxy' ? proxyPid.haproxy : p === 'faultline' ? proxyPid.faultline.web : 0;
        const c0 = pid ? await cpuSeconds(pid) : 0;
        http[p].push(await wrk(webPort[p]));
        if (p !== 'direct') httpCpu[p] += (await cpuSeconds(pid)) - c0;
      }
    }
    const httpOf = (p: Path) => {
      const runs = http[p];
      const m = (k: keyof HttpRun['latencyMs']) => median(runs.map((r) => r.latencyMs[k]));
      return { rps: Math.round(median(runs.map((r) => r.rps))), latencyMs: { p50: m('p50'), p75: m('p75'), p90: m('p90'), p99: m('p99') } };
    };
    const httpFig = { direct: httpOf('direct'), haproxy: httpOf('haproxy'), faultline: httpOf('faultline') };
    const per100k = (p: 'haproxy' | 'faultline') => round3((httpCpu[p] / http[p].reduce((a, r) => a + r.requests, 0)) * 1e5);

    const loadAtEnd = loadAverage();
    const figures = {
      loadAverage: { start: loadAtStart, end: loadAtEnd },
      cpus: os.cpus().length,
      haproxy: { version: hap.version, threads: hap.threads, config: `defaults${HAPROXY_THREADS ? `, nbthread ${HAPROXY_THREADS}` : ''}; mode tcp, and mode http with an ACL matching nothing` },
      roundTrip: !PARTS.has('rtt') ? SKIPPED : {
        bytes: PING_BYTES,
        pings: PINGS_PER_ROUND * PING_ROUNDS,
        rounds: PING_ROUNDS,
        ms: rs,
        addedUs: added,
        /** Per round: each proxy's p50/p99 minus the direct path's in the same round (µs). */
        roundAddedUs: roundAdded,
        goal: 'faultline added p50 and p99 ≤ haproxy',
        met: added.faultline.p50 <= added.haproxy.p50 && added.faultline.p99 <= added.haproxy.p99,
      },
      bulk: !PARTS.has('bulk') ? SKIPPED : {
        tool: `iperf3, ${BULK_SECONDS} s per run (first second omitted)`,
        rounds: BULK_ROUNDS,
        MBps: {
          direct: bulk.direct.map((b) => round3(b / 1e6)),
          haproxy: bulk.haproxy.map((b) => round3(b / 1e6)),
          faultline: bulk.faultline.map((b) => round3(b / 1e6)),
        },
        medianMBps: { direct: round3(bulkMedian.direct / 1e6), haproxy: round3(bulkMedian.haproxy / 1e6), faultline: round3(bulkMedian.faultline / 1e6) },
        ratio: { faultlineToDirect: round3(bulkMedian.faultline / bulkMedian.direct), faultlineToHaproxy: round3(bulkMedian.faultline / bulkMedian.haproxy), haproxyToDirect: round3(bulkMedian.haproxy / bulkMedian.direct) },
        /** Each proxy's own CPU seconds per GB it moved. */
        proxyCpuSecondsPerGB: { haproxy: round3(bulkCpu.haproxy / gbMoved('haproxy')), faultline: round3(bulkCpu.faultline / gbMoved('faultline')) },
        goal: 'faultline median ≥ haproxy and ≥ 0.8 of direct',
        met: bulkMedian.faultline >= bulkMedian.haproxy && bulkMedian.faultline >= 0.8 * bulkMedian.direct,
      },
      http: !PARTS.has('http') ? SKIPPED : {
        tool: `wrk -t1 -c${HTTP_CONNECTIONS}, ${HTTP_SECONDS} s per run, medians of ${HTTP_ROUNDS} rounds`,
        ...httpFig,
        roundRps: { direct: http.direct.map((r) => r.rps), haproxy: http.haproxy.map((r) => r.rps), faultline: http.faultline.map((r) => r.rps) },
        ratio: { faultlineToDirect: round3(httpFig.faultline.rps / httpFig.direct.rps), faultlineToHaproxy: round3(httpFig.faultline.rps / httpFig.haproxy.rps) },
        proxyCpuSecondsPer100kRequests: { haproxy: per100k('haproxy'), faultline: per100k('faultline') },
        goal: 'http-fault requests/s ≥ haproxy (mode http), latency percentiles ≤ haproxy',
        met:
          httpFig.faultline.rps >= httpFig.haproxy.rps &&
          (['p50', 'p75', 'p90', 'p99'] as const).every((k) => httpFig.faultline.latencyMs[k] <= httpFig.haproxy.latencyMs[k]),
      },
    };

    const goals: string[] = [];
    if (PARTS.has('rtt')) {
      printTable(`fault proxy: round trip, ${PING_BYTES}-byte ping-pong, pings in turn, ${PING_ROUNDS} rounds × ${PINGS_PER_ROUND} per path (ms; added in µs)`, [
        ...PATHS.map((p) => ({ path: p, n: rs[p].n, p50: rs[p].p50, p90: rs[p].p90, p99: rs[p].p99, 'added p50 µs': p === 'direct' ? '' : added[p].p50, 'added p99 µs': p === 'direct' ? '' : added[p].p99 })),
      ]);
      console.log(
        `added per round, µs (p50/p99): haproxy ${roundAdded.haproxy.map((r) => `${r.p50}/${r.p99}`).join(' ')}` +
          ` · faultline ${roundAdded.faultline.map((r) => `${r.p50}/${r.p99}`).join(' ')}`,
      );
      const met = added.faultline.p50 <= added.haproxy.p50 && added.faultline.p99 <= added.haproxy.p99;
      goals.push(`round trip ${met ? 'met' : 'NOT met'} (added p50 ${added.faultline.p50} vs ${added.haproxy.p50} µs, p99 ${added.faultline.p99} vs ${added.haproxy.p99} µs)`);
    }
    if (PARTS.has('bulk')) {
      printTable(`fault proxy: bulk TCP (iperf3, MB/s per round, ${BULK_ROUNDS} interleaved rounds)`, [
        ...PATHS.map((p) => ({ path: p, median: round3(bulkMedian[p] / 1e6), rounds: bulk[p].map((x) => Math.round(x / 1e6)).join(' '), 'of direct': round3(bulkMedian[p] / bulkMedian.direct) })),
      ]);
      console.log(`proxy CPU s per GB: haproxy ${round3(bulkCpu.haproxy / gbMoved('haproxy'))} · faultline ${round3(bulkCpu.faultline / gbMoved('faultline'))}`);
      const met = bulkMedian.faultline >= bulkMedian.haproxy && bulkMedian.faultline >= 0.8 * bulkMedian.direct;
      goals.push(`bulk ${met ? 'met' : 'NOT met'} (${round3(bulkMedian.faultline / bulkMedian.direct)} of direct, ${round3(bulkMedian.faultline / bulkMedian.haproxy)} of haproxy)`);
    }
    if (PARTS.has('http')) {
      printTable(`fault proxy: HTTP GET (wrk, ${HTTP_CONNECTIONS} keep-alive connections; medians of ${HTTP_ROUNDS} interleaved rounds)`, [
        ...PATHS.map((p) => ({ path: p === 'haproxy' ? 'haproxy (mode http)' : p === 'faultline' ? 'faultline (http-fault)' : p, 'req/s': httpFig[p].rps, ...httpFig[p].latencyMs, 'of direct': round3(httpFig[p].rps / httpFig.direct.rps) })),
      ]);
      console.log(`req/s per round: haproxy ${http.haproxy.map((r) => Math.round(r.rps)).join(' ')} · faultline ${http.faultline.map((r) => Math.round(r.rps)).join(' ')}`);
      console.log(`proxy CPU s per 100k requests: haproxy ${per100k('haproxy')} · faultline ${per100k('faultline')}`);
      const met = httpFig.faultline.rps >= httpFig.haproxy.rps && (['p50', 'p75', 'p90', 'p99'] as const).every((k) => httpFig.faultline.latencyMs[k] <= httpFig.haproxy.latencyMs[k]);
      goals.push(`HTTP ${met ? 'met' : 'NOT met'} (${round3(httpFig.faultline.rps / httpFig.haproxy.rps)} of haproxy's req/s)`);
    }
    console.log(`\nload average ${loadAtStart.join(' ')} → ${loadAtEnd.join(' ')} on ${figures.cpus} CPUs · ${hap.version}, ${hap.threads} threads\ngoals: ${goals.join(' · ')}`);
    return figures;
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    for (const s of services) killGroup(s, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
