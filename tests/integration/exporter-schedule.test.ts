import type { ChildProcess } from 'node:child_process';
import { killAll, pauseExperiment, procState, spawnSleep, startStack, waitFor, type Stack } from './exporter-helpers';

// Schedules with croner (seconds field): each tick is its own run record named <name>-<epoch s>,
// Forbid skips ticks while a run is active, Allow overlaps, history is trimmed, stop ends it all.

jest.setTimeout(120_000);

let s: Stack;
const procs: ChildProcess[] = [];

beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.close();
  killAll(procs);
});

const runsOf = async (name: string) => (await s.api('GET', `/api/v1/experiments?schedule=${name}`)).body.items as any[];

describe('schedules', () => {
  it('Forbid: one run at a time, skipped ticks are events, history limit trims ended runs, stop ends schedule and runs', async () => {
    const p = spawnSleep();
    procs.push(p);
    const name = `cron-${process.pid}`;
    const r = await s.api('POST', '/api/v1/experiments', pauseExperiment(name, [p.pid!], '1500ms', { schedule: '* * * * * *', concurrencyPolicy: 'Forbid', historyLimit: 2 }));
    expect(r.status).toBe(201);
    expect(r.body.status.phase).toBe('Pending');
    expect(r.body.status.schedule.nextRunAt).toBeTruthy();
    expect(r.body.status.targets).toEqual([]);

    // several runs come and go; never two active at once
    await waitFor('4 runs started', async () => {
      const ev = (await s.api('GET', `/api/v1/events?experiment=${name}&type=scheduled`)).body.items;
      const runs = await runsOf(name);
      expect(runs.filter((x) => !['Finished', 'Aborted', 'Failed'].includes(x.status.phase)).length).toBeLessThanOrEqual(1);
      return ev.length >= 4;
    }, 60_000, 200);
    const skipped = (await s.api('GET', `/api/v1/events?experiment=${name}&type=skipped`)).body.items;
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped[0].message).toMatch(/concurrencyPolicy Forbid/);

    const runs = await runsOf(name);
    for (const run of runs) {
      expect(run.metadata.name).toMatch(new RegExp(`^${name}-\\d{10}$`));
      expect(run.metadata.labels['faultline.dev/schedule']).toBe(name);
      expect(run.spec.schedule).toBeUndefined();
    }
    expect(runs.filter((x) => ['Finished', 'Aborted', 'Failed'].includes(x.status.phase)).length).toBeLessThanOrEqual(2);

    const parent = (await s.api('GET', `/api/v1/experiments/default/${name}`)).body;
    expect(parent.status.schedule.lastRun).toMatch(new RegExp(`^${name}-`));

    // suspend: no new runs
    expect((await s.api('POST', `/api/v1/experiments/default/${name}/pause`)).body.status.phase).toBe('Paused');
    await waitFor('active run ends', async () => (await runsOf(name)).every((x) => ['Finished', 'Aborted', 'Failed'].includes(x.status.phase)), 20_000);
    const count = (await s.api('GET', `/api/v1/events?experiment=${name}&type=scheduled`)).body.items.length;
    await new Promise((r) => setTimeout(r, 2500));
    expect((await s.api('GET', `/api/v1/events?experiment=${name}&type=scheduled`)).body.items.length).toBe(count);
    expect((await s.api('POST', `/api/v1/experiments/default/${name}/resume`)).body.status.phase).toBe('Pending');
    await waitFor('a run after resume', async () => (await runsOf(name)).some((x) => x.status.phase === 'Running'), 20_000);

    const stopped = await s.api('POST', `/api/v1/experiments/default/${name}/stop`);
    expect(stopped.body.status.phase).toBe('Finished');
    expect((await runsOf(name)).every((x) => ['Finished', 'Aborted', 'Failed'].includes(x.status.phase))).toBe(true);
    expect(procState(p.pid!)).not.toBe('T');

    // delete removes the schedule and its runs
    expect((await s.api('DELETE', `/api/v1/experiments/default/${name}`)).status).toBe(200);
    expect(await runsOf(name)).toEqual([]);
  });

  it('Allow: a tick while a run is active is not held back by the policy; a run on a target already held is refused, naming the holder', async () => {
    const p = spawnSleep();
    procs.push(p);
    const name = `allow-${process.pid}`;
    const body = pauseExperiment(name, [p.pid!], '3s', { schedule: '* * * * * *', concurrencyPolicy: 'Allow', historyLimit: 5 });
    expect((await s.api('POST', '/api/v1/experiments', body)).status).toBe(201);
    // one pause per process (engine/overlap.ts): the overlapping tick reaches the engine and is refused there
    const skipped = await waitFor('a tick refused because the target is held', async () => {
      const items = (await s.api('GET', `/api/v1/events?experiment=${name}&type=skipped`)).body.items as { message: string }[];
      return items.find((e) => /held by experiment/.test(e.message));
    }, 30_000, 200);
    expect(skipped.message).not.toMatch(/concurrencyPolicy Forbid/);
    expect((await runsOf(name)).filter((x) => x.status.phase === 'Running').length).toBeLessThanOrEqual(1);
    await s.api('DELETE', `/api/v1/experiments/default/${name}`);
    expect(procState(p.pid!)).not.toBe('T');
  });
});
