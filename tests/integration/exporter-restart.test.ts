import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { freePort } from '../helpers/http';
import { killAll, pauseExperiment, procState, request, spawnServer, tempDir, waitFor, sleepers } from './exporter-helpers';

// kill -9 of the exporter and of the daemon mid-experiment, with both as real processes:
// nothing stays injected without an owner, running experiments keep their end time, and
// SIGTERM shuts the exporter down gracefully (recovering what runs).

jest.setTimeout(200_000); // CLI process starts: slow on a loaded machine

const { procs, spawn: sleeper } = sleepers();
const servers: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(() => {
  for (const s of servers) {
    try {
      s.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  killAll(procs);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));

/** A daemon and an exporter as CLI processes on their own dirs and port, with helpers to restart each. */
async function processes(tag: string) {
  const stateDir = tempDir(`${tag}d`);
  const dataDir = tempDir(`${tag}x`);
  dirs.push(stateDir, dataDir);
  const port = await freePort();
  const startDaemonProc = async () => {
    const d = await spawnServer(['daemon', '--listen', `127.0.0.1:${port}`, '--state-dir', stateDir, '--log-level', 'warn']);
    servers.push(d.child);
    return d;
  };
  const startExporterProc = async () => {
    const e = await spawnServer(['exporter', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--daemon', `local=http://127.0.0.1:${port}`, '--lease', '10s', '--log-level', 'warn']);
    servers.push(e.child);
    return e;
  };
  const p = { daemon: await startDaemonProc(), exporter: await startExporterProc() };
  const api = (m: string, path: string, b?: unknown) => request(p.exporter.url, m, path, b);
  const dapi = (m: string, path: string, b?: unknown) => request(p.daemon.url, m, path, b);
  const phase = async (n: string) => (await api('GET', `/api/v1/experiments/default/${n}`)).body.status.phase;
  const stop = async () => {
    for (const c of [p.exporter.child, p.daemon.child]) {
      c.kill('SIGTERM');
      await exited(c);
    }
  };
  return { p, api, dapi, phase, startDaemonProc, startExporterProc, stop };
}

describe('restart reconciliation', () => {
  it('kill -9 of the exporter: the run keeps its fault and end time, an orphan fault with its prefix is removed', async () => {
    const { p, api, dapi, phase, startExporterProc, stop } = await processes('rk');
    const a = sleeper();
    const nameA = `ra-${process.pid}`;
    expect((await api('POST', '/api/v1/experiments', pauseExperiment(nameA, [a], '90s'))).status).toBe(201);
    await waitFor('A Running', async () => (await phase(nameA)) === 'Running');
    const before = (await api('GET', `/api/v1/experiments/default/${nameA}`)).body;
    const faultId: string = (await dapi('GET', '/v1/faults')).body.faults[0].id;
    const instance = /^fl-([0-9a-f]+)-/.exec(faultId)![1];

    // an orphan: this exporter's prefix, no experiment behind it
    const orphanPid = sleeper();
    const orphan = await dapi('POST', '/v1/faults', { id: `fl-${instance}-0123456789ab-0`, kind: 'process-pause', params: {}, target: { pid: orphanPid }, leaseSeconds: 120 });
    expect(orphan.status).toBe(201);
    expect(procState(orphanPid)).toBe('T');

    p.exporter.child.kill('SIGKILL');
    await exited(p.exporter.child);
    expect(procState(a)).toBe('T'); // the fault outlives the exporter (its lease runs)
    p.exporter = await startExporterProc();

    await waitFor('orphan removed', async () => procState(orphanPid) !== 'T', 20_000);
    const faults = (await dapi('GET', '/v1/faults')).body.faults.map((f: any) => f.id);
    expect(faults).toEqual([faultId]);
    const after = (await api('GET', `/api/v1/experiments/default/${nameA}`)).body;
    expect(after.status.phase).toBe('Running');
    expect(after.status.endsAt).toBe(before.status.endsAt);
    expect(after.status.startedAt).toBe(before.status.startedAt);
    expect(procState(a)).toBe('T');
    const orphanEvents = (await api('GET', '/api/v1/events?type=recovered')).body.items.filter((e: any) => /no experiment owns it/.test(e.message));
    expect(orphanEvents).toHaveLength(1);
    await stop();
    expect(procState(a)).not.toBe('T');
  });

  it('kill -9 of the daemon: the exporter injects again (lease renewal gets 404) and the run still ends at its end time', async () => {
    const { p, api, dapi, phase, startDaemonProc, stop } = await processes('rd');
    const a = sleeper();
    const nameA = `rd-${process.pid}`;
    expect((await api('POST', '/api/v1/experiments', pauseExperiment(nameA, [a], '30s'))).status).toBe(201);
    await waitFor('A Running', async () => (await phase(nameA)) === 'Running');
    const before = (await api('GET', `/api/v1/experiments/default/${nameA}`)).body;

    p.daemon.child.kill('SIGKILL');
    await exited(p.daemon.child);
    p.daemon = await startDaemonProc();
    expect(await phase(nameA)).toBe('Running'); // still within its 30 s
    await waitFor('injected again by the exporter', async () => (await dapi('GET', '/v1/faults')).body.faults.length === 1 && procState(a) === 'T', 60_000);
    const reinjected = (await api('GET', `/api/v1/events?experiment=${nameA}&type=injecting`)).body.items;
    expect(reinjected.some((e: any) => /lost the fault/.test(e.message))).toBe(true);

    // the end time holds: A finishes at its original endsAt and nothing stays injected
    await waitFor('A Finished', async () => (await phase(nameA)) === 'Finished', 90_000, 250);
    const done = (await api('GET', `/api/v1/experiments/default/${nameA}`)).body;
    expect(Date.parse(done.status.endedAt)).toBeGreaterThanOrEqual(Date.parse(before.status.endsAt));
    expect(procState(a)).not.toBe('T');
    expect((await dapi('GET', '/v1/faults')).body.faults).toEqual([]);
    await stop();
  });

  it('SIGTERM of the exporter: graceful, recovers the running experiment (Aborted, shutdown), exits 0', async () => {
    const { p, api, dapi, phase, startExporterProc, stop } = await processes('rt');
    const b = sleeper();
    const nameB = `rb-${process.pid}`;
    await api('POST', '/api/v1/experiments', pauseExperiment(nameB, [b], '5m'));
    await waitFor('B Running', async () => (await phase(nameB)) === 'Running');
    expect(procState(b)).toBe('T');
    p.exporter.child.kill('SIGTERM');
    expect(await exited(p.exporter.child)).toBe(0);
    expect(procState(b)).not.toBe('T');
    expect((await dapi('GET', '/v1/faults')).body.faults).toEqual([]);
    p.exporter = await startExporterProc();
    const b2 = (await api('GET', `/api/v1/experiments/default/${nameB}`)).body;
    expect(b2.status).toMatchObject({ phase: 'Aborted', reason: 'shutdown' });
    await stop();
  });
});
