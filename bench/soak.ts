import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startDaemon } from '../daemon/index';
import { startExporter, type StartOptions } from '../exporter/index';
import { printTable } from './stats';

// Churn soak: create → Running → stop, over and over (process-pause on `sleep`s, four at a time),
// against a real daemon, while the database size (file + WAL) is sampled. Run twice: with retention
// off (how fast the file grows) and with retention on (it stays bounded). The soak's limits are
// small (1 500 events, 100 ended runs, a pass every 2 s) so a short soak reaches them; the
// exporter's defaults are larger (336h, 500 000, 10 000) and bound the file the same way.
//
// FAULTLINE_SOAK_SECONDS sets the length of the retention-on soak (default 30 in `npm run bench`;
// the 5 minutes: FAULTLINE_SOAK_SECONDS=300 npm run bench soak). The retention-off run
// takes a third of it (at most 60 s): it only has to show the growth rate.

const SECONDS = Number(process.env.FAULTLINE_SOAK_SECONDS ?? 30);
const WORKERS = 4;
const SOAK_LIMITS = { retention: '336h', maxEvents: 1500, maxEndedRuns: 100, everyMs: 2000 };

async function call(url: string, method: string, p: string, body?: unknown): Promise<any> {
  const res = await fetch(url + p, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return JSON.parse(text);
}

const mb = (b: number) => Math.round((b / 1024 / 1024) * 100) / 100;

async function soak(label: string, seconds: number, retention: Partial<StartOptions>): Promise<Record<string, unknown>> {
  const log = pino({ level: 'silent' });
  const dirs = [mkdtempSync(path.join(os.tmpdir(), 'fl-soak-d-')), mkdtempSync(path.join(os.tmpdir(), 'fl-soak-x-'))];
  const daemon = await startDaemon({ listen: '127.0.0.1:0', stateDir: dirs[0], logger: log });
  const ex = await startExporter({ listen: '127.0.0.1:0', dataDir: dirs[1], daemons: [{ url: daemon.url, name: 'soak' }], logger: log, ...retention });
  const sleeps: ChildProcess[] = [];
  const size = () => ex.experiments.health.bytes();
  const before = size();
  let max = before;
  let cycles = 0;
  const samples: number[] = [];
  const sampler = setInterval(() => {
    const b = size();
    samples.push(b);
    max = Math.max(max, b);
  }, 1000);
  const until = Date.now() + seconds * 1000;
  try {
    await Promise.all(
      Array.from({ length: WORKERS }, async (_, w) => {
        const p = spawn('sleep', ['3600'], { stdio: 'ignore' });
        sleeps.push(p);
        for (let i = 0; Date.now() < until; i++) {
          const name = `soak-${w}-${i}`;
          await call(ex.url, 'POST', '/api/v1/experiments', {
            metadata: { name },
            spec: { fault: { kind: 'process-pause' }, targets: { selector: { pids: [p.pid] } }, duration: '10m' },
          });
          for (let k = 0; k < 2000; k++) {
            const e = await call(ex.url, 'GET', `/api/v1/experiments/default/${name}`);
            if (e.status.phase === 'Running') break;
            await new Promise((r) => setTimeout(r, 2));
          }
          await call(ex.url, 'POST', `/api/v1/experiments/default/${name}/stop`);
          cycles++;
        }
      }),
    );
    await ex.retention.run(); // the last pass, so "after" is what the loop keeps the file at
    const after = size();
    max = Math.max(max, after);
    return {
      label,
      seconds,
      cycles,
      beforeBytes: before,
      afterBytes: after,
      maxBytes: max,
      growthMBPerMinute: Math.round(((after - before) / 1024 / 1024 / seconds) * 60 * 100) / 100,
      deleted: { ...ex.retention.deleted },
      samplesMB: samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 10)) === 0).map(mb),
    };
  } finally {
    clearInterval(sampler);
    for (const p of sleeps) p.kill('SIGKILL');
    await ex.close({ recover: true });
    await daemon.shutdown({ recover: true });
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

export async function benchSoak(): Promise<unknown> {
  const off = await soak('retention off', Math.min(60, Math.max(5, Math.round(SECONDS / 3))), { retention: '0', maxEvents: 0, maxEndedRuns: 0 });
  const on = await soak('retention on', SECONDS, SOAK_LIMITS);
  printTable(
    'churn soak: database size (file + WAL)',
    [off, on].map((r) => ({
      run: r.label,
      seconds: r.seconds,
      cycles: r.cycles,
      'before MB': mb(r.beforeBytes as number),
      'after MB': mb(r.afterBytes as number),
      'max MB': mb(r.maxBytes as number),
      'MB/min': r.growthMBPerMinute,
    })),
  );
  console.log(`retention-on limits: ${JSON.stringify(SOAK_LIMITS)}; deleted: ${JSON.stringify(on.deleted)}; size every ~${Math.max(1, Math.round(SECONDS / 10))} s (MB): ${(on.samplesMB as number[]).join(' ')}`);
  return { limits: SOAK_LIMITS, off, on };
}
