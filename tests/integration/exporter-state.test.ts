import { rmSync } from 'node:fs';
import pino from 'pino';
import { startDaemon } from '../../daemon/index';
import { startExporter, type RunningExporter } from '../../exporter/index';
import { freePort, request } from '../helpers/http';
import { killAll, pauseExperiment, phaseOf, procState, sleepers, startStack, tempDir, waitFor, type Stack } from './exporter-helpers';

// Recorded state that matches the kernel: overlapping faults on one target are refused naming the
// holder; one exporter per data dir; a restart while the daemon is away keeps the experiment
// (target Unreachable, not Failed) and reconciles when it answers; a cgroup holding the exporter
// is refused; a target that exits during the fault is reported Gone with an event.

jest.setTimeout(120_000);

const { procs, spawn: sleeper } = sleepers();
const dirs: string[] = [];
let s: Stack;

beforeAll(async () => {
  s = await startStack({ renewEveryMs: 300, leaseSeconds: 30 });
});
afterAll(async () => {
  await s?.close();
  killAll(procs);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const quiet = () => pino({ level: 'silent' });

describe('overlapping faults on one target', () => {
  it('refuses a second process-pause on a pid with 409 naming the experiment that holds it; free again once that one ends', async () => {
    const pid = sleeper();
    const a = `ov-a-${process.pid}`;
    const b = `ov-b-${process.pid}`;
    expect((await s.api('POST', '/api/v1/experiments', pauseExperiment(a, [pid], '5m'))).status).toBe(201);
    await waitFor('a Running', async () => (await phaseOf(s.api, a)) === 'Running');
    const r = await s.api('POST', '/api/v1/experiments', pauseExperiment(b, [pid], '5m'));
    expect(r.status).toBe(409);
    expect(r.body.error.message).toContain(`default/${a}`);
    expect(r.body.error.details[0].field).toBe('/spec/targets');
    expect((await s.api('GET', `/api/v1/experiments/default/${b}`)).status).toBe(404);

    // the reported bug: the first to end resumed the process while the other still said Running
    expect((await s.api('POST', `/api/v1/experiments/default/${a}/stop`)).status).toBe(200);
    expect(procState(pid)).not.toBe('T');
    expect((await s.api('POST', '/api/v1/experiments', pauseExperiment(b, [pid], '5m'))).status).toBe(201);
    await waitFor('b Running', async () => (await phaseOf(s.api, b)) === 'Running');
    expect(procState(pid)).toBe('T');
    // a paused experiment holds nothing, and cannot resume onto a target someone else took
    expect((await s.api('POST', `/api/v1/experiments/default/${b}/pause`)).body.status.phase).toBe('Paused');
    const c = `ov-c-${process.pid}`;
    expect((await s.api('POST', '/api/v1/experiments', pauseExperiment(c, [pid], '5m'))).status).toBe(201);
    await waitFor('c Running', async () => (await phaseOf(s.api, c)) === 'Running');
    const resume = await s.api('POST', `/api/v1/experiments/default/${b}/resume`);
    expect(resume.status).toBe(409);
    expect(resume.body.error.message).toContain(`default/${c}`);
    for (const n of [b, c]) await s.api('POST', `/api/v1/experiments/default/${n}/stop`);
    expect(procState(pid)).not.toBe('T');
  });
});

describe('one exporter per data dir', () => {
  it('a second exporter on the same data dir refuses to start, naming the first; the dir is free once it stops', async () => {
    const dataDir = tempDir('lock');
    dirs.push(dataDir);
    const opts = { listen: '127.0.0.1:0', dataDir, daemons: [{ url: s.daemon.url, name: 'local' }], logger: quiet() };
    const first = await startExporter(opts);
    await expect(startExporter(opts)).rejects.toThrow(new RegExp(`data dir ${dataDir} is in use by another exporter \\(pid ${process.pid}`));
    expect((await request(first.url, 'GET', '/api/v1/health')).status).toBe(200);
    await first.close();
    const again = await startExporter(opts);
    await again.close();
  });
});

describe('restart while the daemon is away', () => {
  it('keeps the experiment Running with its target Unreachable (not Failed), reconciles when the daemon answers, and still holds its target', async () => {
    const port = await freePort();
    const stateDir = tempDir('rsd');
    const dataDir = tempDir('rsx');
    dirs.push(stateDir, dataDir);
    const daemonOpts = { listen: `127.0.0.1:${port}`, stateDir, logger: quiet() };
    let daemon = await startDaemon(daemonOpts);
    const exOpts = { listen: '127.0.0.1:0', dataDir, daemons: [{ url: `http://127.0.0.1:${port}`, name: 'local' }], logger: quiet(), healthIntervalMs: 300, retry: { attempts: 2, baseMs: 50, maxMs: 100 }, leaseSeconds: 60 };
    let ex: RunningExporter = await startExporter(exOpts);
    const api = (m: string, p: string, b?: unknown) => request(ex.url, m, p, b);
    const pid = sleeper();
    const name = `away-${process.pid}`;
    try {
      expect((await api('POST', '/api/v1/experiments', pauseExperiment(name, [pid], '5m'))).status).toBe(201);
      await waitFor('Running', async () => (await phaseOf(api, name)) === 'Running');
      // both go away leaving the fault in place (as after kill -9), then only the exporter comes back
      await ex.close({ recover: false });
      await daemon.shutdown({ recover: false });
      expect(procState(pid)).toBe('T');
      ex = await startExporter(exOpts);
      const e = await waitFor('reconciled', async () => {
        const b = (await api('GET', `/api/v1/experiments/default/${name}`)).body;
        return b.status.targets[0].phase === 'Unreachable' ? b : undefined;
      });
      expect(e.status.phase).toBe('Running');
      expect(e.status.conditions.map((c: { type: string }) => c.type)).toContain('DaemonUnreachable');
      expect(e.status.targets[0].error).toMatch(/unreachable/);

      daemon = await startDaemon(daemonOpts);
      await waitFor('target Injected again', async () => (await api('GET', `/api/v1/experiments/default/${name}`)).body.status.targets[0].phase === 'Injected', 30_000);
      const back = (await api('GET', `/api/v1/experiments/default/${name}`)).body;
      expect(back.status.phase).toBe('Running');
      expect(back.status.conditions.map((c: { type: string }) => c.type)).not.toContain('DaemonUnreachable');
      expect(procState(pid)).toBe('T');
      // the run the restart tracked holds its target as one created here would (engine/run.ts byDaemon)
      const second = await api('POST', '/api/v1/experiments', pauseExperiment(`${name}-2`, [pid], '5m'));
      expect(second.status).toBe(409);
      expect(second.body.error.message).toContain(`default/${name}`);
      expect((await api('POST', `/api/v1/experiments/default/${name}/stop`)).body.status.phase).toBe('Finished');
      expect(procState(pid)).not.toBe('T');
    } finally {
      await ex.close({ recover: true });
      await daemon.shutdown({ recover: true });
    }
  });
});

describe('self-targeting', () => {
  it('refuses a process fault on a cgroup that holds the exporter, naming the field and the reason; nothing is stored', async () => {
    const name = `self-${process.pid}`;
    const r = await s.api('POST', '/api/v1/experiments', {
      metadata: { name },
      spec: { fault: { kind: 'process-pause', params: {} }, targets: { selector: { cgroups: ['/'], daemons: ['local'] }, mode: 'all' }, duration: '10s' },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.details[0].field).toBe('/spec/targets/selector/cgroups/0');
    expect(r.body.error.details[0].reason).toMatch(new RegExp(`holds the exporter \\(pid ${process.pid}`));
    expect((await s.api('GET', `/api/v1/experiments/default/${name}`)).status).toBe(404);
  });
});

describe('a target that exits during the fault', () => {
  it('gets phase Gone and a target-gone event; a run with no live target left ends', async () => {
    const pids = [sleeper(), sleeper()];
    const name = `gone-${process.pid}`;
    expect((await s.api('POST', '/api/v1/experiments', pauseExperiment(name, pids, '5m'))).status).toBe(201);
    await waitFor('Running', async () => (await phaseOf(s.api, name)) === 'Running');
    process.kill(pids[0], 'SIGKILL');
    const e = await waitFor('one target Gone', async () => {
      const b = (await s.api('GET', `/api/v1/experiments/default/${name}`)).body;
      return b.status.targets.some((t: { phase: string }) => t.phase === 'Gone') ? b : undefined;
    });
    expect(e.status.phase).toBe('Running');
    const goneTarget = e.status.targets.find((t: { target: { pid: number } }) => t.target.pid === pids[0]);
    expect(goneTarget).toMatchObject({ phase: 'Gone', error: expect.stringMatching(/exited/) });
    const ev = (await s.api('GET', `/api/v1/events?experiment=${name}&type=target-gone`)).body.items;
    expect(ev).toHaveLength(1);
    expect(ev[0].message).toContain(`pid ${pids[0]}`);

    process.kill(pids[1], 'SIGKILL');
    await waitFor('Finished', async () => (await phaseOf(s.api, name)) === 'Finished');
    expect((await s.api('GET', `/api/v1/experiments/default/${name}`)).body.status.reason).toBe('TargetsGone');
  });
});
