import { removeDir } from '../helpers/stack';
import { cli, killAll, procState, request, restartableStart, startStack, tempDir, waitFor, workflowIn, type Stack, sleepers } from './exporter-helpers';

// Scheduled workflow steps (an experiment with spec.schedule and a step deadline), against a real
// daemon pausing sleeps the test spawned: the schedule ticks every second for the deadline, then is
// stopped; aborting the workflow, stop-all and an exporter kill -9 end it too. Nothing is left ticking
// and the process is left running (state not T).

jest.setTimeout(300_000);

const { procs, spawn: sleeper } = sleepers();
const scheduledPause = (name: string, pid: number, deadline: string | undefined, extra: Record<string, unknown> = {}) => ({
  name,
  ...(deadline !== undefined ? { deadline } : {}),
  experiment: { spec: { fault: { kind: 'process-pause', params: {} }, targets: { selector: { pids: [pid] }, mode: 'all' }, duration: '400ms', schedule: '*/1 * * * * *', ...extra } },
});
const workflow = (name: string, steps: unknown[]) => ({ kind: 'Workflow', metadata: { name }, spec: { steps } });
const TERMINAL = ['Finished', 'Aborted', 'Failed'];

type Api = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

/**
 * Starts a workflow of one scheduled pause step whose runs outlast the tick (Forbid skips the ticks
 * meanwhile), and waits until a run has paused `pid`: what a test ending the step mid-way starts from.
 */
async function startPausedMidStep(api: Api, name: string, pid: number): Promise<void> {
  expect((await api('POST', '/api/v1/workflows', workflow(name, [scheduledPause('tick', pid, '5m', { duration: '1m' })]))).status).toBe(201);
  await waitFor('paused by a run', () => procState(pid) === 'T', 60_000);
}

/** The schedule has ended, has no next run, no run of it is active, and no run starts afterwards. */
async function expectNothingTicking(api: Api, schedule: string, phase: string): Promise<void> {
  const sch = (await api('GET', `/api/v1/experiments/default/${schedule}`)).body;
  expect(sch.spec.schedule).toBe('*/1 * * * * *');
  expect(sch.status.phase).toBe(phase);
  expect(sch.status.schedule?.nextRunAt).toBeUndefined();
  const runs = async () => (await api('GET', `/api/v1/experiments?schedule=${schedule}`)).body.items as { metadata: { name: string }; status: { phase: string } }[];
  await waitFor('every run of the schedule ended', async () => (await runs()).every((r) => TERMINAL.includes(r.status.phase)), 30_000);
  const before = (await runs()).map((r) => r.metadata.name).sort();
  // two cron ticks later no new run has started
  await new Promise((r) => setTimeout(r, 2_200));
  expect((await runs()).map((r) => r.metadata.name).sort()).toEqual(before);
}

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.close();
  killAll(procs);
});

const until = (name: string, phases: string[]) => workflowIn(s.api, name, phases);

describe('scheduled workflow steps', () => {
  it('tick for the step deadline (at least two runs pause the process), then the schedule is stopped and the workflow goes on', async () => {
    const pid = sleeper();
    const name = `wfs-ok-${process.pid}`;
    const r = await s.api('POST', '/api/v1/workflows', workflow(name, [scheduledPause('tick', pid, '3500ms'), { name: 'after', suspend: { duration: '100ms' } }]));
    expect(r.status).toBe(201);
    await waitFor('a run paused the process', () => procState(pid) === 'T', 60_000, 20);
    const done = await until(name, ['Succeeded', 'Failed', 'Aborted']);
    expect(done.status.phase).toBe('Succeeded');
    const step = done.status.steps[0];
    expect(step).toMatchObject({ path: 'tick', type: 'experiment', phase: 'Succeeded', experiment: `${name}-tick` });
    expect(step.runs).toBeGreaterThanOrEqual(2);
    expect(step.message).toMatch(/ticked for 3500ms \(\d+ run\(s\)\), then stopped by workflow/);
    expect(done.status.steps[1].phase).toBe('Succeeded');
    const runs = (await s.api('GET', `/api/v1/experiments?schedule=${name}-tick`)).body.items as { status: { phase: string; targets: { phase: string }[] } }[];
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.filter((x) => x.status.phase === 'Finished').length).toBeGreaterThanOrEqual(2);
    await expectNothingTicking(s.api, `${name}-tick`, 'Finished');
    expect(procState(pid)).not.toBe('T');
    // the CLI shows the runs beside the step's schedule
    const described = await cli(['describe', 'workflow', name, '--server', s.url]);
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(new RegExp(`tick\\s+experiment\\s+Succeeded\\s+${name}-tick \\(${step.runs} runs\\)`));
  });

  it('aborting the workflow mid-step aborts the schedule and its running run: the process runs again', async () => {
    const pid = sleeper();
    const name = `wfs-abort-${process.pid}`;
    await startPausedMidStep(s.api, name, pid); // so the abort lands on a paused process
    const r = await s.api('POST', `/api/v1/workflows/default/${name}/abort`);
    expect(r.status).toBe(200);
    expect(r.body.status.phase).toBe('Aborted');
    expect(r.body.status.steps[0].phase).toBe('Aborted');
    await expectNothingTicking(s.api, `${name}-tick`, 'Aborted');
    expect(procState(pid)).not.toBe('T');
  });

  it('deleting the workflow mid-step aborts the schedule the same way', async () => {
    const pid = sleeper();
    const name = `wfs-delete-${process.pid}`;
    await startPausedMidStep(s.api, name, pid);
    expect((await s.api('DELETE', `/api/v1/workflows/default/${name}`)).status).toBe(200);
    expect((await s.api('GET', `/api/v1/workflows/default/${name}`)).status).toBe(404);
    await expectNothingTicking(s.api, `${name}-tick`, 'Aborted');
    expect(procState(pid)).not.toBe('T');
  });

  it('a run of it aborted by its alert guard ends the schedule at once and fails the step', async () => {
    const pid = sleeper();
    const name = `wfs-guard-${process.pid}`;
    const alertname = `WfsDrill${process.pid}`;
    await s.api('POST', '/api/v1/workflows', workflow(name, [scheduledPause('tick', pid, '5m', { duration: '1m', guards: { alerts: [`alertname="${alertname}"`] } }), { name: 'never', suspend: { duration: '1s' } }]));
    const run = await waitFor('a run pausing the process', async () => {
      const items = (await s.api('GET', `/api/v1/experiments?schedule=${name}-tick`)).body.items as { metadata: { name: string }; status: { phase: string } }[];
      return procState(pid) === 'T' && items.find((x) => x.status.phase === 'Running');
    }, 60_000);
    // the exporter's Alertmanager webhook, as Alertmanager calls it
    const alert = (status: string) => ({
      version: '4', groupKey: '{}:{}', status, receiver: 'faultline', groupLabels: {}, commonLabels: { alertname }, commonAnnotations: {}, externalURL: 'http://127.0.0.1:9093',
      alerts: [{ status, labels: { alertname }, annotations: {}, startsAt: new Date().toISOString(), endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : new Date().toISOString(), generatorURL: 'http://127.0.0.1:9090/graph', fingerprint: `f${process.pid}` }],
    });
    try {
      expect((await s.api('POST', '/api/v1/alerts/alertmanager', alert('firing'))).status).toBe(200);
      const done = await until(name, ['Succeeded', 'Failed', 'Aborted']);
      expect(done.status.phase).toBe('Failed');
      expect(done.status.steps.map((x: { phase: string }) => x.phase)).toEqual(['Failed', 'Skipped']);
      expect(done.status.message).toContain(`scheduled run ${run.metadata.name} ended Aborted`);
      await expectNothingTicking(s.api, `${name}-tick`, 'Aborted');
      expect(procState(pid)).not.toBe('T');
    } finally {
      await s.api('POST', '/api/v1/alerts/alertmanager', alert('resolved'));
    }
  });

  it('stop-all mid-step ends the schedule with the workflow (not only suspended)', async () => {
    const pid = sleeper();
    const name = `wfs-stopall-${process.pid}`;
    await startPausedMidStep(s.api, name, pid);
    const r = await s.api('POST', '/api/v1/stop-all');
    expect(r.status).toBe(200);
    expect(r.body.abortedWorkflows).toContainEqual({ namespace: 'default', name });
    expect((await until(name, ['Succeeded', 'Failed', 'Aborted'])).status.phase).toBe('Aborted');
    await expectNothingTicking(s.api, `${name}-tick`, 'Aborted');
    expect(procState(pid)).not.toBe('T');
  });

  it('a freeze mid-step ends the schedule with the workflow; while frozen a scheduled step fails at once', async () => {
    const pid = sleeper();
    const name = `wfs-freeze-${process.pid}`;
    await startPausedMidStep(s.api, name, pid);
    try {
      expect((await s.api('POST', '/api/v1/freeze', { reason: 'wfs drill' })).status).toBe(200);
      expect((await until(name, ['Succeeded', 'Failed', 'Aborted'])).status.phase).toBe('Aborted');
      await expectNothingTicking(s.api, `${name}-tick`, 'Aborted');
      expect(procState(pid)).not.toBe('T');
      const later = `wfs-frozen-${process.pid}`;
      expect((await s.api('POST', '/api/v1/workflows', workflow(later, [scheduledPause('tick', pid, '5m')]))).status).toBe(201);
      const done = await until(later, ['Succeeded', 'Failed', 'Aborted']);
      expect(done.status.phase).toBe('Failed');
      expect(done.status.message).toMatch(/not created: .*wfs drill/);
      expect((await s.api('GET', `/api/v1/experiments/default/${later}-tick`)).status).toBe(404);
    } finally {
      await s.api('DELETE', '/api/v1/freeze');
    }
  });

  it.each([
    ['no deadline', undefined, /is required for a step whose experiment has spec\/schedule/],
    ['a negative deadline', '-5s', /must be a duration/],
    ['a deadline over 168h', '169h', /must be at most 168h/],
    ['a zero deadline', '0s', /must be at least 1s/],
    ['a deadline that is not a duration', 'soon', /must be a duration/],
  ])('refuses a scheduled step with %s: 400 naming /spec/steps/0/deadline, nothing created', async (_what, deadline, reason) => {
    const name = `wfs-bad-${process.pid}`;
    const r = await s.api('POST', '/api/v1/workflows', workflow(name, [scheduledPause('tick', process.pid, deadline)]));
    expect(r.status).toBe(400);
    const d = (r.body.error.details as { field: string; reason: string }[]).find((x) => x.field === '/spec/steps/0/deadline');
    expect(d?.reason).toMatch(reason);
    expect((await s.api('GET', `/api/v1/workflows/default/${name}`)).status).toBe(404);
    expect((await s.api('GET', `/api/v1/experiments/default/${name}-tick`)).status).toBe(404);
  });

  it('refuses a scheduled step nested in a group without a deadline, naming the nested field', async () => {
    const name = `wfs-bad-nested-${process.pid}`;
    const r = await s.api('POST', '/api/v1/workflows', workflow(name, [{ name: 'g', parallel: { steps: [{ name: 'wait', suspend: { duration: '1s' } }, scheduledPause('tick', process.pid, undefined)] } }]));
    expect(r.status).toBe(400);
    expect(r.body.error.details.map((d: { field: string }) => d.field)).toEqual(['/spec/steps/0/parallel/steps/1/deadline']);
    expect((await s.api('GET', `/api/v1/workflows/default/${name}`)).status).toBe(404);
  });
});

describe('a scheduled step across an exporter kill -9', () => {
  it('its schedule is aborted at restart: no run ticks on and the process runs again', async () => {
    const dir = tempDir('wfs-restart');
    const pid = sleeper();
    const x = await restartableStart(dir);
    const api: Api = (method, path, body) => request(x.url, method, path, body) as Promise<{ status: number; body: any }>;
    try {
      await x.start();
      const name = `wfs-crash-${process.pid}`;
      await startPausedMidStep(api, name, pid);
      await x.kill9();
      await x.start();
      const w = await waitFor('workflow aborted', async () => {
        const b = (await api('GET', `/api/v1/workflows/default/${name}`)).body as { status: { phase: string; reason?: string } };
        return b.status.phase === 'Aborted' ? b : undefined;
      }, 60_000);
      expect(w.status.reason).toBe('ExporterRestarted');
      await expectNothingTicking(api, `${name}-tick`, 'Aborted');
      await waitFor('recovered after restart', () => procState(pid) !== 'T', 60_000);
    } finally {
      await x.stop();
      removeDir(dir);
    }
  });
});
