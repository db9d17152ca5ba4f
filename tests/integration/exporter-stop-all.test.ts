import { killAll, pauseExperiment, phaseOf, procState, sleepers, startStack, waitFor, type Stack } from './exporter-helpers';

// stop-all stops all chaos: runs aborted (faults reverted), schedules suspended (they do not tick
// again 3 s later), workflows aborted, and the answer says so. A freeze does the same and more.

jest.setTimeout(120_000);

let s: Stack;
const { procs, spawn: sleeper } = sleepers();

beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.close();
  killAll(procs);
});

const ACTIVE = ['Pending', 'Injecting', 'Running', 'Paused', 'Recovering'];
const activeRuns = async (schedule: string) => ((await s.api('GET', `/api/v1/experiments?schedule=${schedule}`)).body.items as any[]).filter((x) => ACTIVE.includes(x.status.phase));
const scheduledEvents = async (name: string) => (await s.api('GET', `/api/v1/events?experiment=${name}&type=scheduled`)).body.items.length as number;

function workflow(name: string, pid: number) {
  return {
    kind: 'Workflow',
    metadata: { name },
    spec: { steps: [{ name: 'wait', suspend: { duration: '1s' } }, { name: 'p', experiment: { spec: pauseExperiment('x', [pid], '5m').spec } }] },
  };
}

describe('stop-all', () => {
  it('aborts runs, suspends schedules and aborts workflows, and says so; nothing is active again 3 s later', async () => {
    const schedPid = sleeper();
    const runPid = sleeper();
    const wfPid = sleeper();
    const sched = `sa-cron-${process.pid}`;
    const run = `sa-run-${process.pid}`;
    const wf = `sa-wf-${process.pid}`;
    expect((await s.api('POST', '/api/v1/experiments', pauseExperiment(sched, [schedPid], '30s', { schedule: '* * * * * *', concurrencyPolicy: 'Allow' }))).status).toBe(201);
    expect((await s.api('POST', '/api/v1/experiments', pauseExperiment(run, [runPid], '5m'))).status).toBe(201);
    expect((await s.api('POST', '/api/v1/workflows', workflow(wf, wfPid))).status).toBe(201);
    await waitFor('a scheduled run', async () => (await activeRuns(sched)).length > 0, 20_000);
    await waitFor('the workflow pauses its pid', () => procState(wfPid) === 'T', 30_000);

    const r = await s.api('POST', '/api/v1/stop-all');
    expect(r.status).toBe(200);
    const names = (l: { name: string }[]) => l.map((x) => x.name);
    expect(names(r.body.stopped)).toEqual(expect.arrayContaining([run]));
    expect(names(r.body.suspendedSchedules)).toEqual([sched]);
    expect(names(r.body.abortedWorkflows)).toEqual([wf]);
    expect(r.body.message).toMatch(/1 schedule suspended/);
    for (const pid of [schedPid, runPid, wfPid]) expect(procState(pid)).not.toBe('T');
    expect(await phaseOf(s.api, sched)).toBe('Paused');
    expect(await phaseOf(s.api, run)).toBe('Aborted');
    expect((await s.api('GET', `/api/v1/workflows/default/${wf}`)).body.status.phase).toBe('Aborted');

    const ticks = await scheduledEvents(sched);
    await new Promise((res) => setTimeout(res, 3000));
    expect(await activeRuns(sched)).toEqual([]);
    expect(await scheduledEvents(sched)).toBe(ticks);
    expect(procState(schedPid)).not.toBe('T');

    // resumed by hand, the schedule ticks again
    expect((await s.api('POST', `/api/v1/experiments/default/${sched}/resume`)).body.status.phase).toBe('Pending');
    await waitFor('ticks again', async () => (await scheduledEvents(sched)) > ticks, 20_000);
    expect((await s.api('DELETE', `/api/v1/experiments/default/${sched}`)).status).toBe(200);
  });

  it('a freeze suspends schedules as stop-all does, and refuses their resume while it holds', async () => {
    const pid = sleeper();
    const sched = `sa-fz-${process.pid}`;
    expect((await s.api('POST', '/api/v1/experiments', pauseExperiment(sched, [pid], '30s', { schedule: '* * * * * *' }))).status).toBe(201);
    await waitFor('a scheduled run', async () => (await activeRuns(sched)).length > 0, 20_000);
    expect((await s.api('POST', '/api/v1/freeze', { reason: 'test' })).status).toBe(200);
    expect(procState(pid)).not.toBe('T');
    expect(await phaseOf(s.api, sched)).toBe('Paused');
    expect(await activeRuns(sched)).toEqual([]);
    const resume = await s.api('POST', `/api/v1/experiments/default/${sched}/resume`);
    expect(resume.status).toBe(409);
    expect(resume.body.error.message).toMatch(/frozen/);
    expect((await s.api('DELETE', '/api/v1/freeze')).status).toBe(200);
    expect(await phaseOf(s.api, sched)).toBe('Paused'); // lifting the freeze starts nothing by itself
    expect((await s.api('DELETE', `/api/v1/experiments/default/${sched}`)).status).toBe(200);
  });
});
