import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startProxyChild, stopProxyChild } from '../daemon/proxy/supervisor';
import { printTable, summarize } from './stats';

// How fast Faultline's processes start, side by side with bare `node -e 0` in the same run (rounds
// interleaved, so machine load hits all alike). Goals (issue 17): `faultline --help` and
// `faultline get experiments` within 4x of bare node; `faultline start` listening with its embedded
// daemon up in < 1 s; a tcp-fault proxy child ready in < 150 ms. Everything runs the compiled
// JavaScript in dist-server/ (`npm run bench` builds it first), as production does.

const ROUNDS = Number(process.env.BENCH_STARTUP_ROUNDS ?? 10);
const ROOT = process.cwd();
const FAULTLINE = path.join(ROOT, 'bin', 'faultline.js');

/** Wall time of one command to its exit, in ms. */
function timeExit(args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`${args.join(' ')} exited ${code}: ${err}`))));
  });
}

interface Server {
  ms: number;
  url: string;
  stop(): Promise<void>;
}

/** `faultline start` until it prints that the exporter listens (the embedded daemon is up before that). */
function timeStart(dataDir: string): Promise<Server> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FAULTLINE, 'start', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = /exporter listening on (http:\/\/\S+)/.exec(out);
      if (!m) return;
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      child.stdout.off('data', onData);
      resolve({
        ms,
        url: m[1],
        stop: () =>
          new Promise((done) => {
            child.once('close', () => done());
            child.kill('SIGTERM');
          }),
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => reject(new Error(`faultline start exited ${code}: ${out}`)));
  });
}

async function timeProxyChild(upstreamPort: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const { ref } = await startProxyChild(
    { proxy: 'tcp', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: upstreamPort }, toxics: [], drainMs: 0 },
    { onSpawn: async () => undefined },
  );
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await stopProxyChild(ref, 0);
  return ms;
}

export async function benchStartup(): Promise<Record<string, unknown>> {
  // The machine may be shared: the load average (as `uptime` shows it) before and after the run goes
  // into the results beside the figures, since bare node itself slows by a factor of several under load.
  const loadBefore = os.loadavg().map((l) => Math.round(l * 100) / 100);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'faultline-bench-startup-'));
  const upstream = net.createServer((s) => s.on('error', () => undefined)).listen(0, '127.0.0.1');
  await new Promise((r) => upstream.once('listening', r));
  const upstreamPort = (upstream.address() as net.AddressInfo).port;
  const server = await timeStart(path.join(tmp, 'server'));
  const samples: Record<string, number[]> = { bare: [], help: [], get: [], start: [], proxyChild: [] };
  try {
    for (let i = 0; i < ROUNDS; i++) {
      samples.bare.push(await timeExit(['-e', '0']));
      samples.help.push(await timeExit([FAULTLINE, '--help']));
      samples.get.push(await timeExit([FAULTLINE, 'get', 'experiments', '--server', server.url]));
      samples.proxyChild.push(await timeProxyChild(upstreamPort));
      if (i < Math.max(3, Math.ceil(ROUNDS / 2))) {
        const s = await timeStart(path.join(tmp, `start-${i}`));
        samples.start.push(s.ms);
        await s.stop();
      }
    }
  } finally {
    await server.stop();
    upstream.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
  const bare = s.bare.p50;
  const rows = [
    { what: 'node -e 0 (baseline)', p50_ms: bare, p90_ms: s.bare.p90, ratio: 1, goal: '', met: '' },
    { what: 'faultline --help', p50_ms: s.help.p50, p90_ms: s.help.p90, ratio: s.help.p50 / bare, goal: '≤ 4× node', met: s.help.p50 / bare <= 4 ? 'yes' : 'NO' },
    { what: 'faultline get experiments', p50_ms: s.get.p50, p90_ms: s.get.p90, ratio: s.get.p50 / bare, goal: '≤ 4× node', met: s.get.p50 / bare <= 4 ? 'yes' : 'NO' },
    { what: 'faultline start → listening, daemon up', p50_ms: s.start.p50, p90_ms: s.start.p90, ratio: s.start.p50 / bare, goal: '< 1000 ms', met: s.start.p50 < 1000 ? 'yes' : 'NO' },
    { what: 'tcp-fault proxy child → ready', p50_ms: s.proxyChild.p50, p90_ms: s.proxyChild.p90, ratio: s.proxyChild.p50 / bare, goal: '< 150 ms', met: s.proxyChild.p50 < 150 ? 'yes' : 'NO' },
  ];
  printTable(`startup, ${ROUNDS} interleaved rounds (start: ${samples.start.length}), node ${process.version}, load ${os.loadavg()[0].toFixed(2)}`, rows);
  const loadAfter = os.loadavg().map((l) => Math.round(l * 100) / 100);
  return { rounds: ROUNDS, node: process.version, cpus: os.cpus().length, loadavg1: os.loadavg()[0], uptimeLoad: { before: loadBefore, after: loadAfter }, ...s, rows };
}
