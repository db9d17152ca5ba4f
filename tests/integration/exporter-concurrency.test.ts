import type { ChildProcess } from 'node:child_process';
import { killAll, pauseExperiment, procState, spawnSleep, startStack, waitFor, type Stack } from './exporter-helpers';

// 100 experiments created at once (one `sleep` each) all reach Running with their process
// stopped, and all recover when stopped at once.

jest.setTimeout(480_000); // 100 injections on a loaded 2-core machine

let s: Stack;
const procs: ChildProcess[] = [];

beforeAll(async () => {
  // generous timeouts: the daemon shares this process and the machine is shared
  s = await startStack({ leaseSeconds: 60, requestTimeoutMs: 30_000, retry: { attempts: 5, baseMs: 200, maxMs: 2000 } });
  for (let i = 0; i < 100; i++) procs.push(spawnSleep());
});
afterAll(async () => {
  await s?.close();
  killAll(procs);
});

describe('100 concurrent experiments', () => {
  it('all reach Running and all recover', async () => {
    const names = procs.map((_, i) => `c${i}-${process.pid}`);
    const created = await Promise.all(procs.map((p, i) => s.api('POST', '/api/v1/experiments', pauseExperiment(names[i], [p.pid!], '10m'))));
    expect(created.map((r) => r.status)).toEqual(procs.map(() => 201));
    await waitFor(
      'every experiment past injection',
      async () => (await s.api('GET', '/api/v1/experiments?phase=Pending,Injecting')).body.items.length === 0,
      300_000,
      500,
    );
    const notRunning = (await s.api('GET', '/api/v1/experiments')).body.items.filter((e: any) => e.status.phase !== 'Running');
    expect(notRunning.map((e: any) => `${e.metadata.name}: ${e.status.phase} ${e.status.message ?? ''}`)).toEqual([]);
    for (const p of procs) expect(procState(p.pid!)).toBe('T');
    const metrics = (await s.api('GET', '/metrics')).body as string;
    expect(metrics).toContain('faultline_experiments{namespace="default",kind="process-pause",phase="Running"} 100');

    // stop them all at once, through the per-experiment route
    const stopped = await Promise.all(names.map((n) => s.api('POST', `/api/v1/experiments/default/${n}/stop`)));
    expect(stopped.map((r) => r.body.status.phase)).toEqual(names.map(() => 'Finished'));
    for (const p of procs) expect(procState(p.pid!)).not.toBe('T');
    const items = (await s.api('GET', '/api/v1/experiments?phase=Finished')).body.items;
    expect(items).toHaveLength(100);
    for (const e of items) expect(e.status.targets.every((t: any) => t.phase === 'Recovered')).toBe(true);
    expect((await s.daemon.manager.list()).length).toBe(0);
  });
});
