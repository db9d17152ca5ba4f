import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { killAll, pauseExperiment, procState, request, spawnServer, spawnSleep, tempDir, waitFor } from './exporter-helpers';

// `faultline start` (what `npm start` runs): exporter + embedded daemon, SQLite under --data-dir,
// the exporter itself protected from being a target, graceful SIGTERM that recovers what runs.

jest.setTimeout(180_000);

const procs: ChildProcess[] = [];
const dataDir = tempDir('start');

afterAll(() => {
  killAll(procs);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('faultline start', () => {
  it('serves the API with an embedded daemon and stops gracefully on SIGTERM', async () => {
    const srv = await spawnServer(['start', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'warn']);
    procs.push(srv.child);
    const api = (m: string, p: string, b?: unknown) => request(srv.url, m, p, b);
    const health = (await api('GET', '/api/v1/health')).body;
    expect(health).toMatchObject({ status: 'ok', name: 'faultline-exporter' });
    expect(health.daemons).toHaveLength(1);
    expect(health.daemons[0].up).toBe(true);
    expect(existsSync(path.join(dataDir, 'faultline.db'))).toBe(true);
    const daemonName = health.daemons[0].name;

    // the exporter's own process is protected from process selectors
    const self = await api('POST', '/api/v1/experiments', {
      metadata: { name: 'self' },
      spec: { fault: { kind: 'process-pause' }, targets: { selector: { pids: [srv.child.pid] } }, duration: '10s' },
    });
    expect(self.status).toBe(400);

    const sleep = spawnSleep();
    procs.push(sleep);
    const body = pauseExperiment('held', [sleep.pid!], '5m');
    body.spec.targets.selector.daemons = [daemonName];
    expect((await api('POST', '/api/v1/experiments', body)).status).toBe(201);
    await waitFor('Running', async () => (await api('GET', '/api/v1/experiments/default/held')).body.status.phase === 'Running');
    expect(procState(sleep.pid!)).toBe('T');

    const exit = new Promise<number | null>((r) => srv.child.once('exit', (code) => r(code)));
    srv.child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(procState(sleep.pid!)).not.toBe('T');
  });
});
