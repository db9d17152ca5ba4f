import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { freePort } from '../helpers/http';
import { tempDir } from '../helpers/tmp';
import { killAll, pauseExperiment, procState, spawnServer, spawnSleep, waitFor } from './exporter-helpers';

// A stop's recover request may reach a daemon while the exporter that sent it dies. The exporter
// records Recovering before the request leaves (engine/run.ts finish; store/group-commit.ts), so its
// next start ends the run; a run the store still had as Running would be injected again: chaos back
// after a stop. Real processes: a `faultline daemon` held with SIGSTOP so the request waits in its
// socket, an `exporter` killed with SIGKILL, then restarted. (The kill comes after the turn that sent
// the request, so this checks the whole story, not the order inside that one turn.)

jest.setTimeout(120_000);

const procs: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  killAll(procs);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function api(url: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url + p, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

it('an exporter killed while its stop request is on the way ends the run at its next start, never injects it again', async () => {
  const stateDir = tempDir('crash-stop-d');
  const dataDir = tempDir('crash-stop-x');
  dirs.push(stateDir, dataDir);
  const daemon = await spawnServer(['daemon', '--listen', `127.0.0.1:${await freePort()}`, '--state-dir', stateDir, '--log-level', 'warn']);
  procs.push(daemon.child);
  const port = await freePort();
  const exporterArgs = ['exporter', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--daemon', `local=${daemon.url}`, '--log-level', 'warn'];
  let exporter = await spawnServer(exporterArgs);
  procs.push(exporter.child);
  const url = exporter.url;

  const target = spawnSleep();
  procs.push(target);
  expect((await api(url, 'POST', '/api/v1/experiments', pauseExperiment('crash-stop', [target.pid!], '10m'))).status).toBe(201);
  await waitFor('Running with the target stopped', async () => (await api(url, 'GET', '/api/v1/experiments/default/crash-stop')).body?.status?.phase === 'Running' && procState(target.pid!) === 'T', 30_000, 100);

  process.kill(daemon.child.pid!, 'SIGSTOP');
  try {
    // the stop waits for the held daemon; its recover request is in the daemon's socket by now
    void api(url, 'POST', '/api/v1/experiments/default/crash-stop/stop').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1500));
    exporter.child.kill('SIGKILL');
    await new Promise((r) => exporter.child.once('exit', r));
  } finally {
    process.kill(daemon.child.pid!, 'SIGCONT');
  }
  // the daemon answers the dead exporter's request: the target runs again
  await waitFor('target continued by the daemon', async () => procState(target.pid!) !== 'T', 10_000, 50);

  exporter = await spawnServer(exporterArgs);
  procs.push(exporter.child);
  const ended = await waitFor('the run ended after the restart', async () => {
    const e = (await api(url, 'GET', '/api/v1/experiments/default/crash-stop')).body;
    return ['Finished', 'Aborted', 'Failed'].includes(e?.status?.phase) ? e : undefined;
  }, 30_000, 200);
  expect([ended.status.phase, ended.status.reason]).toEqual(['Finished', 'Stopped']);
  // and nothing paused the target again meanwhile
  for (let i = 0; i < 20; i++) {
    expect(procState(target.pid!)).not.toBe('T');
    await new Promise((r) => setTimeout(r, 100));
  }
  const injecting = (await api(url, 'GET', '/api/v1/events?experiment=crash-stop&type=injecting')).body.items as { message: string }[];
  expect(injecting.filter((e) => /restarted/.test(e.message))).toEqual([]);
  exporter.child.kill('SIGTERM');
});
