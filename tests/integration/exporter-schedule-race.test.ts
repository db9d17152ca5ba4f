import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { freePort } from '../helpers/http';
import { tempDir } from '../helpers/tmp';
import { killAll, pauseExperiment, procState, spawnServer, spawnSleep, startStack, waitFor, type Stack } from './exporter-helpers';

// A tick resolves its targets (a request to the daemon) before its run exists. A schedule stopped
// or suspended while a tick waits there had no run to end; the run then started after its schedule
// was over. The daemon here is a real `faultline daemon` process, held with SIGSTOP so that a tick is
// sure to be waiting on it while the schedule is stopped, then let go.

jest.setTimeout(120_000);

const procs: ChildProcess[] = [];
const dirs: string[] = [];
let s: Stack;
let slow: ChildProcess;

beforeAll(async () => {
  const stateDir = tempDir('race-d');
  dirs.push(stateDir);
  const port = await freePort();
  const d = await spawnServer(['daemon', '--listen', `127.0.0.1:${port}`, '--state-dir', stateDir, '--log-level', 'warn']);
  slow = d.child;
  procs.push(slow);
  s = await startStack({ extraDaemons: [{ name: 'slow', url: d.url }] });
});

afterAll(async () => {
  if (slow?.pid) process.kill(slow.pid, 'SIGCONT');
  await s?.close();
  killAll(procs);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const runsOf = async (name: string) => (await s.api('GET', `/api/v1/experiments?schedule=${name}`)).body.items as any[];
const ACTIVE = ['Pending', 'Injecting', 'Running', 'Paused', 'Recovering'];

describe('a schedule ended while a tick waits for its daemon', () => {
  it.each([
    ['stopped', 'stop', 'Finished'],
    ['suspended', 'pause', 'Paused'],
  ])('%s: the waiting tick starts no run and the target is never paused', async (_what, action, phase) => {
    const p = spawnSleep();
    procs.push(p);
    const name = `race-${action}`;
    // one tick a minute, 6 s from now: nothing ticks while the schedule is created
    const tickAt = Date.now() + 6000;
    const body = pauseExperiment(name, [p.pid!], '30s', { schedule: `${new Date(tickAt).getSeconds()} * * * * *` });
    (body.spec.targets.selector as { daemons: string[] }).daemons = ['slow'];
    expect((await s.api('POST', '/api/v1/experiments', body)).status).toBe(201);
    process.kill(slow.pid!, 'SIGSTOP');
    try {
      // the tick fires and waits for the stopped daemon's answer
      await new Promise((r) => setTimeout(r, tickAt - Date.now() + 1500));
      const ended = await s.api('POST', `/api/v1/experiments/default/${name}/${action}`);
      expect([ended.status, ended.body.status?.phase]).toEqual([200, phase]);
    } finally {
      process.kill(slow.pid!, 'SIGCONT');
    }
    const skipped = await waitFor('the waiting tick refused', async () => {
      const ev = (await s.api('GET', `/api/v1/events?experiment=${name}&type=skipped`)).body.items as { message: string }[];
      return ev.find((e) => /no longer ticking|stopped, suspended or deleted meanwhile/.test(e.message));
    }, 30_000, 200);
    expect(skipped.message).toMatch(new RegExp(`schedule default/${name} was stopped, suspended or deleted meanwhile`));
    await new Promise((r) => setTimeout(r, 1000));
    expect((await runsOf(name)).filter((r) => ACTIVE.includes(r.status.phase))).toEqual([]);
    expect((await s.api('GET', `/api/v1/events?experiment=${name}&type=scheduled`)).body.items).toEqual([]);
    expect(procState(p.pid!)).not.toBe('T');
    expect((await s.api('DELETE', `/api/v1/experiments/default/${name}`)).status).toBe(200);
  });
});
