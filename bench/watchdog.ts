import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../daemon/paths';
import { makeNetnsPair } from '../tests/helpers/netns';
import { printTable } from './stats';

// The daemon's watchdog, measured: what it costs to keep one (time until armed, memory, CPU), and how
// long after kill -9 of `faultline daemon` every fault is reverted with nobody restarting anything —
// beside the only way there was before: a restart of the daemon (the journal reverts before it serves).

const ROUNDS = Number(process.env.FAULTLINE_BENCH_WATCHDOG_ROUNDS ?? 3);
const ROOT = PACKAGE_ROOT;

async function call(url: string, method: string, p: string, body?: unknown): Promise<any> {
  const res = await fetch(url + p, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const json = await res.json();
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const stateOf = (pid: number) => {
  try {
    const t = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return t.slice(t.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
};

async function until<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 120_000, everyMs = 1): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function startDaemon(stateDir: string): { child: ChildProcess; t0: number } {
  rmSync(path.join(stateDir, 'daemon.url'), { force: true });
  const t0 = Date.now();
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'faultline.js'), 'daemon', '--listen', '127.0.0.1:0', '--state-dir', stateDir, '--log-level', 'warn'], { cwd: ROOT, stdio: 'ignore' });
  return { child, t0 };
}

const urlOf = (stateDir: string) => until(() => (existsSync(path.join(stateDir, 'daemon.url')) ? readFileSync(path.join(stateDir, 'daemon.url'), 'utf8').trim() || undefined : undefined), 120_000, 5);

export async function benchWatchdog(): Promise<unknown> {
  const pair = makeNetnsPair('wdb');
  const rows: Record<string, unknown>[] = [];
  const sleeps: ChildProcess[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const stateDir = mkdtempSync(path.join(os.tmpdir(), 'fl-wdb-'));
      const disk = mkdtempSync(path.join(os.tmpdir(), 'fl-wdb-disk-'));
      try {
        // --- cost: spawn → armed, and the watchdog's memory and CPU once armed
        let { child, t0 } = startDaemon(stateDir);
        let url = await urlOf(stateDir);
        const served = Date.now() - t0;
        const wd = await until(async () => ((await call(url, 'GET', '/v1/info')).watchdog?.armed ? (await call(url, 'GET', '/v1/info')).watchdog : undefined), 120_000, 5);
        const armed = Date.now() - t0;
        const st = stateOf(wd.pid)!;
        const rssMiB = (Number(st[21]) * 4096) / 2 ** 20;
        const cpuMs = (Number(st[11]) + Number(st[12])) * 10;

        // --- faults of several kinds, then kill -9 and nobody restarts
        const paused = Array.from({ length: 3 }, () => spawn('sleep', ['600'], { stdio: 'ignore' }));
        sleeps.push(...paused);
        await Promise.all(paused.map((p) => new Promise((r) => p.once('spawn', r))));
        const faults: Record<string, unknown>[] = [
          ...paused.map((p, i) => ({ id: `wdb-pause-${round}-${i}`, kind: 'process-pause', target: { pid: p.pid } })),
          { id: `wdb-loss-${round}`, kind: 'network-loss', params: { percent: 30 }, target: { netns: pair.a } },
          { id: `wdb-part-${round}`, kind: 'network-partition', params: { peers: [pair.addrB] }, target: { netns: pair.a } },
          { id: `wdb-bw-${round}`, kind: 'network-bandwidth', params: { rate: '8mbit' }, target: { netns: pair.a } },
          { id: `wdb-fill-${round}`, kind: 'disk-fill', params: { path: disk, size: '16MiB' } },
          { id: `wdb-cpu-${round}`, kind: 'cpu-stress', params: { workers: 1, load: 10 } },
        ];
        const created = [];
        for (const f of faults) created.push(await call(url, 'POST', '/v1/faults', { leaseSeconds: 300, ...f }));
        const kill = Date.now();
        child.kill('SIGKILL');
        const firstResume = await until(() => paused.some((p) => stateOf(p.pid!)?.[0] !== 'T') && Date.now());
        const allResumed = await until(() => paused.every((p) => stateOf(p.pid!)?.[0] !== 'T') && Date.now());
        const journal = path.join(stateDir, 'faults');
        await until(() => readdirSync(journal).filter((n) => n.endsWith('.json')).length === 0);
        const readLog = () => readFileSync(path.join(stateDir, 'watchdog.log'), 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; time: number; noticedAt: number; ms: number });
        const done = await until(() => readLog().find((l) => /the daemon died/.test(l.msg)));
        rows.push({
          round,
          'daemon serving (ms)': served,
          'watchdog armed (ms)': armed,
          'watchdog RSS (MiB)': rssMiB,
          'watchdog CPU to arm (ms)': cpuMs,
          faults: created.length,
          'kill -9 → watchdog noticed (ms)': done.noticedAt - kill,
          'reverting (ms)': done.ms,
          'kill -9 → first pause resumed (ms)': firstResume - kill,
          'kill -9 → all paused resumed (ms)': allResumed - kill,
          'kill -9 → all reverted (ms)': done.time - kill,
          'baseline: a restart reverts them (ms after start)': 0,
        });

        // --- baseline: before the watchdog, the faults stayed until a restart; time one (daemon and watchdog killed)
        ({ child, t0 } = startDaemon(stateDir));
        url = await urlOf(stateDir);
        const w2 = (await call(url, 'GET', '/v1/info')).watchdog?.pid as number;
        for (const f of faults.slice(3)) await call(url, 'POST', '/v1/faults', { leaseSeconds: 300, ...f, id: `${f.id as string}-b` });
        process.kill(w2, 'SIGKILL');
        child.kill('SIGKILL');
        await until(() => !stateOf(w2));
        const restart = startDaemon(stateDir);
        await urlOf(stateDir);
        rows[rows.length - 1]['baseline: a restart reverts them (ms after start)'] = Date.now() - restart.t0;
        restart.child.kill('SIGTERM');
        await new Promise((r) => restart.child.once('exit', r));
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
        rmSync(disk, { recursive: true, force: true });
      }
    }
  } finally {
    for (const s of sleeps) s.kill('SIGKILL');
    pair.destroy();
  }
  printTable('daemon watchdog: cost, and kill -9 of the daemon → faults reverted with no restart (vs a restart)', rows);
  return { rows };
}
