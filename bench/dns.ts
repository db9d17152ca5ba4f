import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TObject } from '@sinclair/typebox';
import pino from 'pino';
import { validate } from '../api/validate';
import dnsFault from '../daemon/faults/dns-fault';
import type { FaultContext, FaultKind } from '../daemon/faults/types';
import { startDnsmasq, useResolver } from '../tests/helpers/dns';
import { makeNetnsPair } from '../tests/helpers/netns';
import { printTable, summarize } from './stats';

// dns-fault's cost per query: a client in namespace A asks dnsmasq in namespace B over UDP, one query at
// a time, directly (baseline), through the fault's responder for a name it forwards (redirect + conntrack
// lookup + a second hop), and for a name it answers itself (NXDOMAIN without leaving A).

const run = promisify(execFile);
const N = 1000;

const CLIENT = `
const dgram = require('dgram');
const [server, name, n] = process.argv.slice(1);
const q = (id) => {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
};
const s = dgram.createSocket('udp4');
const out = [];
let i = 0;
const next = () => {
  if (i >= Number(n)) { console.log(JSON.stringify(out)); s.close(); return; }
  const t = process.hrtime.bigint();
  const id = i++ & 0xffff;
  const timer = setTimeout(() => { out.push(-1); next(); }, 2000);
  s.once('message', () => { clearTimeout(timer); out.push(Number(process.hrtime.bigint() - t) / 1e6); next(); });
  s.send(q(id), 53, server);
};
next();`;

async function latencies(ns: string, server: string, name: string): Promise<number[]> {
  const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, '-e', CLIENT, server, name, String(N)], { timeout: 120_000 });
  return JSON.parse(stdout) as number[];
}

export async function benchDns(): Promise<unknown> {
  const pair = makeNetnsPair('bdns');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fl-bench-dns-'));
  const undo = useResolver(pair.a, pair.addrB);
  const dns = await startDnsmasq(pair.b, pair.addrB, { 'hit.bench.test': '10.66.0.1', 'pass.bench.test': '10.66.0.2' }, dir);
  const kind = dnsFault as unknown as FaultKind<TObject>;
  const ctx: FaultContext<any> = {
    id: `bench-dns-${process.pid}`,
    params: validate(kind.spec.params, { action: 'error', patterns: ['hit.bench.test'] }, 'params', '/params'),
    target: { processes: [], netnsPath: `/run/netns/${pair.a}`, netnsName: pair.a },
    log: pino({ level: 'silent' }),
    save: async () => undefined,
    signal: new AbortController().signal,
  };
  try {
    const rows: Record<string, unknown>[] = [];
    const measure = async (path: string, name: string) => {
      const xs = await latencies(pair.a, pair.addrB, name);
      const lost = xs.filter((x) => x < 0).length;
      rows.push({ path, ...summarize(xs.filter((x) => x >= 0)), lost });
    };
    await measure('direct', 'pass.bench.test');
    const state = await kind.inject(ctx);
    try {
      await measure('forwarded by the fault', 'pass.bench.test');
      await measure('answered by the fault', 'hit.bench.test');
    } finally {
      await kind.recover(ctx, state);
    }
    printTable(`dns-fault: UDP query round trip, ms (${N} sequential queries each)`, rows);
    return { queries: N, rows };
  } finally {
    await dns.stop();
    undo();
    pair.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
