import { killAll, pauseExperiment, phaseOf, procState, spawnSleep, startStack, waitFor, type Stack, sleepers } from './exporter-helpers';

// The lifecycle against a real daemon and real processes: process-pause stops a `sleep` (state T)
// while Running and lets it go (state S) on pause, stop and when the duration ends.

jest.setTimeout(120_000);

let s: Stack;
const { procs, spawn: sleeper } = sleepers();

beforeAll(async () => {
  s = await startStack({ extraDaemons: [{ url: 'http://127.0.0.1:9', name: 'nowhere' }], leaseSeconds: 5 });
});

afterAll(async () => {
  await s?.close();
  killAll(procs);
});

const metrics = async () => (await s.api('GET', '/metrics')).body as string;

describe('exporter lifecycle with process-pause', () => {
  it('injects, reports Running with per-target records and metrics, and recovers when the duration ends', async () => {
    const pid = sleeper();
    const r = await s.api('POST', '/api/v1/experiments', pauseExperiment(`dur-${process.pid}`, [pid], '3s', {}));
    expect(r.status).toBe(201);
    expect(r.body.status.targets).toHaveLength(1);
    await waitFor('Running', async () => (await phaseOf(s.api, `dur-${process.pid}`)) === 'Running');
    expect(procState(pid)).toBe('T');
    const e = (await s.api('GET', `/api/v1/experiments/default/dur-${process.pid}`)).body;
    expect(e.status.startedAt).toBe(e.status.targets[0].injectedAt);
    expect(Date.parse(e.status.endsAt) - Date.parse(e.status.startedAt)).toBe(3000);
    expect(e.status.targets[0]).toMatchObject({ daemon: 'local', phase: 'Injected', target: { pid } });
    expect(await metrics()).toContain(`faultline_experiment_running{namespace="default",name="dur-${process.pid}",kind="process-pause"} 1`);

    await waitFor('Finished', async () => (await phaseOf(s.api, `dur-${process.pid}`)) === 'Finished', 30_000);
    expect(procState(pid)).not.toBe('T');
    const done = (await s.api('GET', `/api/v1/experiments/default/dur-${process.pid}`)).body;
    expect(done.status.reason).toBe('DurationElapsed');
    expect(done.status.targets[0].phase).toBe('Recovered');
    expect(Date.parse(done.status.endedAt)).toBeGreaterThanOrEqual(Date.parse(done.status.endsAt));
    const m = await metrics();
    expect(m).not.toContain(`faultline_experiment_running{namespace="default",name="dur-${process.pid}"`);
    expect(m).toMatch(/faultline_experiments\{namespace="default",kind="process-pause",phase="Finished"\} [1-9]/);
    expect(m).toMatch(/faultline_injections_total\{kind="process-pause",result="success"\} [1-9]/);
    expect(m).toMatch(/faultline_recoveries_total\{kind="process-pause",reason="duration"\} [1-9]/);
    expect(m).toMatch(/faultline_injection_duration_seconds_count\{kind="process-pause"\} [1-9]/);
    expect(m).toContain('faultline_daemon_up{daemon="local"} 1');
    expect(m).toContain('faultline_daemon_up{daemon="nowhere"} 0');
    expect(m).toMatch(/faultline_events_total\{type="finished"\} [1-9]/);
    expect(m).toContain('process_cpu_seconds_total');

    const ev = (await s.api('GET', `/api/v1/events?experiment=dur-${process.pid}`)).body.items.map((x: any) => x.type);
    expect(ev).toEqual(['created', 'injecting', 'injected', 'running', 'recovering', 'recovered', 'finished']);
  });

  it('a processName selector pauses the processes whose command line matches, and only those', async () => {
    // A command line no other test (or worker) runs: the daemon lists only matching processes.
    const unique = 1_000_000 + process.pid;
    const p = spawnSleep(unique);
    procs.push(p);
    const other = sleeper();
    const name = `byname-${process.pid}`;
    const body = pauseExperiment(name, []);
    body.spec.targets = { selector: { processName: `^sleep ${unique}$`, daemons: ['local'] } as any, mode: 'all' };
    expect((await s.api('POST', '/api/v1/experiments', body)).status).toBe(201);
    await waitFor('Running', async () => (await phaseOf(s.api, name)) === 'Running');
    const e = (await s.api('GET', `/api/v1/experiments/default/${name}`)).body;
    expect(e.status.targets.map((t: any) => t.target.pid)).toEqual([p.pid]);
    expect(procState(p.pid!)).toBe('T');
    expect(procState(other)).not.toBe('T');
    expect((await s.api('POST', `/api/v1/experiments/default/${name}/stop`)).status).toBe(200);
    await waitFor('Finished', async () => (await phaseOf(s.api, name)) === 'Finished');
    expect(procState(p.pid!)).not.toBe('T');
  });

  it('pause recovers the faults, resume injects them again, stop ends as Finished; every step is an event with its actor', async () => {
    const pid = sleeper();
    const name = `pr-${process.pid}`;
    expect((await s.api('POST', '/api/v1/experiments', pauseExperiment(name, [pid]))).status).toBe(201);
    await waitFor('Running', async () => (await phaseOf(s.api, name)) === 'Running');
    expect(procState(pid)).toBe('T');

    const p = await s.api('POST', `/api/v1/experiments/default/${name}/pause`);
    expect(p.status).toBe(200);
    expect(p.body.status.phase).toBe('Paused');
    expect(p.body.status.targets[0].phase).toBe('Recovered');
    expect(procState(pid)).not.toBe('T');
    expect((await s.api('POST', `/api/v1/experiments/default/${name}/pause`)).body.status.phase).toBe('Paused'); // idempotent

    const r = await s.api('POST', `/api/v1/experiments/default/${name}/resume`);
    expect(r.status).toBe(200);
    expect(r.body.status.phase).toBe('Running');
    expect(procState(pid)).toBe('T');

    const st = await s.api('POST', `/api/v1/experiments/default/${name}/stop`);
    expect(st.body.status).toMatchObject({ phase: 'Finished', reason: 'Stopped' });
    expect(procState(pid)).not.toBe('T');
    expect((await s.api('POST', `/api/v1/experiments/default/${name}/resume`)).status).toBe(409);
    expect((await s.api('POST', `/api/v1/experiments/default/${name}/stop`)).status).toBe(200); // stopping twice is fine

    const events = (await s.api('GET', `/api/v1/events?experiment=${name}&type=paused,resumed,finished`)).body.items;
    expect(events.map((e: any) => e.type)).toEqual(['paused', 'resumed', 'finished']);
    for (const e of events) expect(e.actor).toBe('anonymous');
  });

  it('keeps the lease alive past its length while running', async () => {
    const pid = sleeper();
    const name = `lease-${process.pid}`;
    await s.api('POST', '/api/v1/experiments', pauseExperiment(name, [pid], '60s'));
    await waitFor('Running', async () => (await phaseOf(s.api, name)) === 'Running');
    await new Promise((r) => setTimeout(r, 7000)); // lease is 5s: only renewals keep it
    expect(procState(pid)).toBe('T');
    expect(await phaseOf(s.api, name)).toBe('Running');
    await s.api('DELETE', `/api/v1/experiments/default/${name}`);
    expect(procState(pid)).not.toBe('T');
    expect((await s.api('GET', `/api/v1/experiments/default/${name}`)).status).toBe(404);
    const types = (await s.api('GET', `/api/v1/events?experiment=${name}`)).body.items.map((e: any) => e.type);
    expect(types).toContain('deleted');
  });

  it('partial injection failure is visible per target: an unreachable daemon is retried, then its target fails with the reason', async () => {
    const pid = sleeper();
    const name = `part-${process.pid}`;
    const body = pauseExperiment(name, [pid]);
    (body.spec.targets.selector as any).daemons = ['local', 'nowhere'];
    expect((await s.api('POST', '/api/v1/experiments', body)).status).toBe(201);
    await waitFor('Running', async () => (await phaseOf(s.api, name)) === 'Running');
    const e = (await s.api('GET', `/api/v1/experiments/default/${name}`)).body;
    const byDaemon = Object.fromEntries(e.status.targets.map((t: any) => [t.daemon, t]));
    expect(byDaemon.local.phase).toBe('Injected');
    expect(byDaemon.nowhere.phase).toBe('Failed');
    expect(byDaemon.nowhere.error).toMatch(/unreachable.*gave up after 3 attempts/);
    expect(e.status.conditions.find((c: any) => c.type === 'Degraded')).toBeTruthy();
    expect(procState(pid)).toBe('T');
    await s.api('POST', `/api/v1/experiments/default/${name}/stop`);
    expect(procState(pid)).not.toBe('T');
    expect(await metrics()).toMatch(/faultline_injections_total\{kind="process-pause",result="failure"\} [1-9]/);
  });

  it('fails the experiment when no target can be injected', async () => {
    const pid = sleeper();
    const name = `fail-${process.pid}`;
    const body = pauseExperiment(name, [pid]);
    (body.spec.targets.selector as any).daemons = ['nowhere'];
    expect((await s.api('POST', '/api/v1/experiments', body)).status).toBe(201);
    await waitFor('Failed', async () => (await phaseOf(s.api, name)) === 'Failed');
    const e = (await s.api('GET', `/api/v1/experiments/default/${name}`)).body;
    expect(e.status.reason).toBe('InjectFailed');
    expect(e.status.message).toMatch(/unreachable/);
    const types = (await s.api('GET', `/api/v1/events?experiment=${name}`)).body.items.map((x: any) => x.type);
    expect(types).toEqual(expect.arrayContaining(['inject-failed', 'failed']));
  });

  it('stop-all aborts every active experiment; engine hooks can refuse a start with 409', async () => {
    const a = sleeper();
    const b = sleeper();
    await s.api('POST', '/api/v1/experiments', pauseExperiment(`sa-${process.pid}`, [a]));
    await s.api('POST', '/api/v1/experiments', pauseExperiment(`sb-${process.pid}`, [b]));
    await waitFor('both Running', async () => (await phaseOf(s.api, `sa-${process.pid}`)) === 'Running' && (await phaseOf(s.api, `sb-${process.pid}`)) === 'Running');
    const r = await s.api('POST', '/api/v1/stop-all');
    expect(r.body.stopped).toEqual(expect.arrayContaining([{ namespace: 'default', name: `sa-${process.pid}` }, { namespace: 'default', name: `sb-${process.pid}` }]));
    expect(await phaseOf(s.api, `sa-${process.pid}`)).toBe('Aborted');
    expect(procState(a)).not.toBe('T');
    expect(procState(b)).not.toBe('T');
    expect(await metrics()).toMatch(/faultline_aborts_total\{reason="stop-all"\} [1-9]/);

    const { ApiError } = await import('../../api/errors');
    const hook = () => {
      throw ApiError.conflict('refused by test hook', [{ field: '/', reason: 'test' }]);
    };
    s.ex.engine.beforeStart.push(hook);
    try {
      const c = sleeper();
      const res = await s.api('POST', '/api/v1/experiments', pauseExperiment(`hooked-${process.pid}`, [c]));
      expect(res.status).toBe(409);
      expect(res.body.error.message).toBe('refused by test hook');
      expect((await s.api('GET', `/api/v1/experiments/default/hooked-${process.pid}`)).status).toBe(404);
      expect(procState(c)).not.toBe('T');
    } finally {
      s.ex.engine.beforeStart.pop();
    }
  });

  it('abort(ref, reason, actor) ends a run as Aborted with the reason code in status and metrics', async () => {
    const pid = sleeper();
    const name = `ab-${process.pid}`;
    await s.api('POST', '/api/v1/experiments', pauseExperiment(name, [pid]));
    await waitFor('Running', async () => (await phaseOf(s.api, name)) === 'Running');
    const e = await s.ex.engine.abort({ namespace: 'default', name }, 'alert HighErrorRate fired', 'alertmanager', 'alert');
    expect(e.status).toMatchObject({ phase: 'Aborted', reason: 'alert', message: 'alert HighErrorRate fired' });
    expect(procState(pid)).not.toBe('T');
    const last = (await s.api('GET', `/api/v1/events?experiment=${name}&type=aborted`)).body.items[0];
    expect(last.actor).toBe('alertmanager');
  });
});
