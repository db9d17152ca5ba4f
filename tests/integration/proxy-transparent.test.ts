import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import httpFault from '../../daemon/faults/http-fault';
import tcpFault from '../../daemon/faults/tcp-fault';
import type { FaultKind, ResolvedTarget } from '../../daemon/faults/types';
import { listTables } from '../../daemon/sys/nft';
import { canUseNetns, makeNetnsPair, type NetnsPair } from '../helpers/netns';
import { describeWithTools } from '../helpers/require-tool';
import { injectFault, makeCtx, proxyAlive, stats, type TestFault } from './proxy-helpers';

// Transparent mode in namespaces this test makes: the application is not told about the proxy; an
// nft redirect in the target namespace sends the target port through it. Traffic is delayed (or
// aborted) while the fault runs, direct afterwards, and no table or proxy is left behind.

jest.setTimeout(180_000);
const run = promisify(execFile);
const tcp = tcpFault as unknown as FaultKind;
const httpKind = httpFault as unknown as FaultKind;
const PORT = 18000 + (process.pid % 1000);

const ECHO_SERVER = `
const [host, port] = process.argv.slice(1);
require('net').createServer((s) => { s.on('error', () => {}); s.on('data', (d) => s.write(d)); })
  .listen(Number(port), host, () => console.log('ready'));`;

const HTTP_SERVER = `
const [host, port] = process.argv.slice(1);
require('http').createServer((req, res) => res.end('direct'))
  .listen(Number(port), host, () => console.log('ready'));`;

const PING_CLIENT = `
const [host, port, n] = process.argv.slice(1);
const s = require('net').connect(Number(port), host);
const rtts = [];
s.on('connect', async () => {
  for (let i = 0; i < Number(n); i++) {
    const t = performance.now();
    await new Promise((r) => { s.once('data', r); s.write('x'); });
    rtts.push(performance.now() - t);
  }
  console.log(JSON.stringify(rtts));
  s.destroy();
});
s.on('error', (e) => { console.log(JSON.stringify({ error: e.code })); });`;

const HTTP_CLIENT = `
const [host, port] = process.argv.slice(1);
require('http').get({ host, port: Number(port), path: '/x' }, (res) => {
  let body = ''; res.on('data', (d) => (body += d)); res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, body })));
}).on('error', (e) => console.log(JSON.stringify({ error: e.code })));`;

const children: ChildProcess[] = [];

async function serveIn(ns: string, script: string, host: string): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script, host, String(PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`server in ${ns} exited ${code}`)));
  });
}

async function inNs<T>(ns: string, script: string, ...args: string[]): Promise<T> {
  const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, '-e', script, ...args], { timeout: 60_000 });
  return JSON.parse(stdout) as T;
}

const pingMedian = async (ns: string, host: string) => stats(await inNs<number[]>(ns, PING_CLIENT, host, String(PORT), '20')).p(0.5);

const targetIn = (ns: string): ResolvedTarget => ({ processes: [], netnsPath: `/run/netns/${ns}`, netnsName: ns });

const netns = canUseNetns();
const describeNetns = netns.ok ? describeWithTools : (_t: string[], name: string, fn: () => void) => describe.skip(`${name} (skipped: ${netns.reason})`, fn);

describeNetns(['ip', 'nft'], 'transparent mode (nft redirect in a test-made namespace)', () => {
  let pair: NetnsPair;
  const faults: TestFault[] = [];

  beforeAll(async () => {
    pair = makeNetnsPair('px');
    await serveIn(pair.b, ECHO_SERVER, pair.addrB);
    await serveIn(pair.a, HTTP_SERVER, '0.0.0.0');
  });
  afterEach(async () => {
    for (const f of faults.splice(0)) await f.recover();
  });
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    pair?.destroy();
  });

  async function expectClean(f: TestFault, ns: string) {
    expect(await listTables(`/run/netns/${ns}`)).not.toContain(f.state.table);
    expect(await proxyAlive(f.state)).toBe(false);
  }

  it('fault on the client namespace: outgoing connections to the port are delayed, then direct', async () => {
    expect(await pingMedian(pair.a, pair.addrB)).toBeLessThan(40);
    const f = await injectFault(tcp, { port: PORT, toxics: [{ type: 'latency', latency: '100ms' }] }, targetIn(pair.a));
    faults.push(f);
    expect(await listTables(`/run/netns/${pair.a}`)).toContain(f.state.table);
    expect(await pingMedian(pair.a, pair.addrB)).toBeGreaterThan(95);
    await faults.pop()!.recover();
    expect(await pingMedian(pair.a, pair.addrB)).toBeLessThan(40);
    await expectClean(f, pair.a);
  });

  it('fault on the server namespace: incoming connections to the port are delayed, then direct', async () => {
    const f = await injectFault(tcp, { port: PORT, toxics: [{ type: 'latency', latency: '100ms', direction: 'upstream' }] }, targetIn(pair.b));
    faults.push(f);
    expect(await pingMedian(pair.a, pair.addrB)).toBeGreaterThan(95);
    await faults.pop()!.recover();
    expect(await pingMedian(pair.a, pair.addrB)).toBeLessThan(40);
    await expectClean(f, pair.b);
  });

  it('http-fault with client and server in one namespace: aborted while it runs, direct afterwards', async () => {
    const before = await inNs<{ status: number; body: string }>(pair.a, HTTP_CLIENT, pair.addrA, String(PORT));
    expect(before).toEqual({ status: 200, body: 'direct' });
    const f = await injectFault(httpKind, { port: PORT, match: { path: '/x' }, abort: { status: 503, body: 'fault' } }, targetIn(pair.a));
    faults.push(f);
    for (const host of [pair.addrA, '127.0.0.1']) {
      expect(await inNs(pair.a, HTTP_CLIENT, host, String(PORT))).toEqual({ status: 503, body: 'fault' });
    }
    await faults.pop()!.recover();
    expect(await inNs(pair.a, HTTP_CLIENT, '127.0.0.1', String(PORT))).toEqual({ status: 200, body: 'direct' });
    await expectClean(f, pair.a);
  });

  it('explicit mode inside a target namespace: the proxy listens there and reaches the upstream from there', async () => {
    const f = await injectFault(tcp, { listen: '127.0.0.1:0', upstream: `${pair.addrB}:${PORT}`, toxics: [{ type: 'latency', latency: '100ms' }] }, targetIn(pair.a));
    faults.push(f);
    const rtts = await inNs<number[]>(pair.a, PING_CLIENT, '127.0.0.1', String(f.state.proxyPort), '10');
    expect(stats(rtts).p(0.5)).toBeGreaterThan(95);
    // nothing was redirected: the port itself stays direct
    expect(await pingMedian(pair.a, pair.addrB)).toBeLessThan(40);
    expect(f.state.table).toBeUndefined();
  });

  it('dead-man switch: with its lease long expired and no daemon, the proxy removes its redirect and ends', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), `fl-proxy-journal-${process.pid}-`));
    const journalFile = path.join(dir, 'fault.json');
    const lease = (ms: number) => writeFileSync(journalFile, JSON.stringify({ leaseExpiresAt: new Date(Date.now() + ms).toISOString() }));
    try {
      lease(60_000);
      const { ctx } = makeCtx(tcp, { port: PORT, toxics: [{ type: 'latency', latency: '100ms' }] }, targetIn(pair.a));
      ctx.journalFile = journalFile;
      const state = (await tcp.inject(ctx)) as Record<string, any>;
      faults.push({ ctx, saved: [], state, recover: () => tcp.recover(ctx, state) });
      expect(await pingMedian(pair.a, pair.addrB)).toBeGreaterThan(95);
      lease(-60_000);
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (await proxyAlive(state))) await new Promise((r) => setTimeout(r, 200));
      expect(await proxyAlive(state)).toBe(false);
      expect(await listTables(`/run/netns/${pair.a}`)).not.toContain(state.table);
      expect(await pingMedian(pair.a, pair.addrB)).toBeLessThan(40);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('recovers from the journaled state alone, also when the namespace is already gone', async () => {
    const f = await injectFault(tcp, { port: PORT, toxics: [] }, targetIn(pair.a));
    const last = f.saved[f.saved.length - 1];
    expect(last).toMatchObject({ table: f.state.table, pid: f.state.pid, netnsPath: `/run/netns/${pair.a}` });
    await tcp.recover(f.ctx, last);
    await expectClean(f, pair.a);
    await tcp.recover(f.ctx, { ...last, netnsPath: '/run/netns/fl-no-such-ns' });
  });
});
