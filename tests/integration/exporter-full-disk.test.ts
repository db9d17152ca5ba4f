import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { makeNetnsPair, type NetnsPair } from '../helpers/netns';
import { describeWithTools } from '../helpers/require-tool';
import { killAll, pauseExperiment, phaseOf, procState, sleepers, startStack, tempDir, waitFor, type Stack } from './exporter-helpers';

// The stop path on a full disk: the exporter's --data-dir is a small tmpfs this test mounts and
// fills to the last byte while a pause and a loss rule run. Every way of stopping chaos (freeze,
// stop, delete, stop-all, an Alertmanager webhook with faultline_stop="all") answers 200, the
// faults are gone from the kernel, the API shows the phase from memory, and health and metrics
// say the store is degraded. A freeze set on the full disk survives a restart (freeze.json).

jest.setTimeout(120_000);

const { procs, spawn: sleeper } = sleepers();
let mnt: string;
let s: Stack;
let pair: NetnsPair;
let filler: string;

const nftTables = (ns: string) => execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'tables'], { encoding: 'utf8' });
const hasFaultTable = (ns: string) => /faultline/.test(nftTables(ns));

/** Fills the tmpfs to its last byte (after the WAL is checkpointed and cut, as after a quiet spell). */
function fill(): void {
  s.ex.db.pragma('wal_checkpoint(TRUNCATE)');
  filler = `${mnt}/filler-${Date.now()}`;
  const fd = openSync(filler, 'w');
  let off = 0;
  try {
    for (const size of [1 << 20, 1 << 12, 1]) {
      const buf = Buffer.alloc(size, 1);
      for (;;) {
        try {
          writeSync(fd, buf, 0, size, off);
          off += size;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

function unfill(): void {
  for (const f of [filler]) if (f) rmSync(f, { force: true });
}

const metric = async (name: string) => {
  const text = (await s.api('GET', '/metrics')).body as string;
  const m = new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

function lossExperiment(name: string, ns: string) {
  return {
    metadata: { name },
    spec: { fault: { kind: 'network-loss', params: { percent: 100 } }, targets: { selector: { netns: [ns], daemons: ['local'] }, mode: 'all' }, duration: '5m' },
  };
}

async function running(name: string): Promise<void> {
  await waitFor(`${name} Running`, async () => (await phaseOf(s.api, name)) === 'Running');
}

describeWithTools(['nft'], 'stop path on a full data disk', () => {
  beforeAll(async () => {
    mnt = tempDir('full');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m,mode=0700', 'tmpfs', mnt]);
    pair = makeNetnsPair('full');
    s = await startStack({ dataDir: mnt, leaseSeconds: 60 });
  });

  afterAll(async () => {
    try {
      unfill();
      await s?.ex.close({ recover: true });
      await s?.daemon.shutdown({ recover: true });
    } finally {
      killAll(procs);
      pair?.destroy();
      try {
        execFileSync('umount', [mnt]);
      } catch {
        execFileSync('umount', ['-l', mnt]);
      }
      rmSync(mnt, { recursive: true, force: true });
      rmSync(s?.daemon.stateDir ?? '/nonexistent', { recursive: true, force: true });
    }
  });

  afterEach(() => unfill());

  it('a freeze with a pause and a loss rule in flight reverts both, holds, says degraded, and survives a restart', async () => {
    const pid = sleeper();
    const pName = `fd-pause-${process.pid}`;
    const lName = `fd-loss-${process.pid}`;
    expect((await s.api('POST', '/api/v1/experiments', pauseExperiment(pName, [pid], '5m'))).status).toBe(201);
    expect((await s.api('POST', '/api/v1/experiments', lossExperiment(lName, pair.a))).status).toBe(201);
    await running(pName);
    await running(lName);
    expect(procState(pid)).toBe('T');
    expect(hasFaultTable(pair.a)).toBe(true);

    fill();
    const r = await s.api('POST', '/api/v1/freeze', { reason: 'INC-7 disk full' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ frozen: true, reason: 'INC-7 disk full' });
    // the kernel first
    expect(procState(pid)).not.toBe('T');
    expect(hasFaultTable(pair.a)).toBe(false);
    // the API from memory
    expect(await phaseOf(s.api, pName)).toBe('Aborted');
    expect(await phaseOf(s.api, lName)).toBe('Aborted');
    expect((await s.api('GET', '/api/v1/freeze')).body.frozen).toBe(true);
    // and the store says what it is
    const h = (await s.api('GET', '/api/v1/health')).body;
    expect(h.store).toMatchObject({ degraded: true });
    expect(h.store.error).toMatch(/full/);
    expect(await metric('faultline_store_degraded')).toBe(1);
    expect(await metric('faultline_store_write_failures_total')).toBeGreaterThan(0);
    // new chaos waits for a store that records it (the freeze would refuse it too: lifted below)
    // a restart on the still-full disk comes back frozen
    await s.ex.close({ recover: true });
    const again = await startStack({ dataDir: mnt, leaseSeconds: 60 });
    await again.daemon.shutdown({ recover: true });
    rmSync(again.daemon.stateDir, { recursive: true, force: true });
    const fz = (await again.api('GET', '/api/v1/freeze')).body;
    expect(fz.frozen).toBe(true);
    expect(await phaseOf(again.api, pName)).toBe('Aborted');
    await again.ex.close({ recover: true });
    // back to the stack of this file, with room again: the freeze is lifted and the store heals
    unfill();
    s = { ...s, ...(await restartOn(s)) };
    expect((await s.api('DELETE', '/api/v1/freeze')).status).toBe(200);
    await waitFor('store healthy', async () => (await s.api('GET', '/api/v1/health')).body.store?.degraded === false, 15_000);
  });

  it('stop, delete, stop-all and an Alertmanager stop-all webhook all answer 200 on a full disk, faults reverted', async () => {
    const pids = [sleeper(), sleeper(), sleeper(), sleeper()];
    const names = ['stop', 'del', 'all', 'hook'].map((n) => `fd-${n}-${process.pid}`);
    for (let i = 0; i < 3; i++) expect((await s.api('POST', '/api/v1/experiments', pauseExperiment(names[i], [pids[i]], '5m'))).status).toBe(201);
    const lName = `fd-loss2-${process.pid}`;
    expect((await s.api('POST', '/api/v1/experiments', lossExperiment(lName, pair.a))).status).toBe(201);
    for (const n of [...names.slice(0, 3), lName]) await running(n);
    fill();

    const stop = await s.api('POST', `/api/v1/experiments/default/${names[0]}/stop`);
    expect(stop.status).toBe(200);
    expect(stop.body.status.phase).toBe('Finished');
    expect(procState(pids[0])).not.toBe('T');

    const del = await s.api('DELETE', `/api/v1/experiments/default/${names[1]}`);
    expect(del.status).toBe(200);
    expect(procState(pids[1])).not.toBe('T');
    expect((await s.api('GET', `/api/v1/experiments/default/${names[1]}`)).status).toBe(404);

    // a new experiment is refused while the store cannot record it
    const refused = await s.api('POST', '/api/v1/experiments', pauseExperiment(`fd-new-${process.pid}`, [pids[3]], '5m'));
    expect(refused.status).toBe(503);
    expect(refused.body.error.message).toMatch(/store/);
    expect(procState(pids[3])).not.toBe('T');

    const all = await s.api('POST', '/api/v1/stop-all');
    expect(all.status).toBe(200);
    expect(procState(pids[2])).not.toBe('T');
    expect(hasFaultTable(pair.a)).toBe(false);
    expect(await phaseOf(s.api, names[2])).toBe('Aborted');
    expect(await phaseOf(s.api, lName)).toBe('Aborted');
    expect((await s.api('GET', '/api/v1/health')).body.store.degraded).toBe(true);

    // the webhook: with room for one more run, then full again
    unfill();
    await waitFor('store healthy', async () => (await s.api('GET', '/api/v1/health')).body.store?.degraded === false, 15_000);
    expect((await s.api('POST', '/api/v1/experiments', pauseExperiment(names[3], [pids[3]], '5m'))).status).toBe(201);
    await running(names[3]);
    fill();
    const hook = await s.api('POST', '/api/v1/alerts/alertmanager', {
      version: '4',
      status: 'firing',
      receiver: 'faultline',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://am',
      groupKey: '{}:{}',
      alerts: [{ status: 'firing', labels: { alertname: 'DiskFull', faultline_stop: 'all' }, annotations: {}, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'f00d' }],
    });
    expect(hook.status).toBe(200);
    expect(hook.body.aborted.map((a: { name: string }) => a.name)).toContain(names[3]);
    expect(procState(pids[3])).not.toBe('T');
    expect(await phaseOf(s.api, names[3])).toBe('Aborted');

    // room again: what waited in memory is written, and a restart finds the runs ended
    unfill();
    await waitFor('store healthy', async () => (await s.api('GET', '/api/v1/health')).body.store?.degraded === false, 15_000);
    expect(await metric('faultline_store_pending_writes')).toBe(0);
    const stored = s.ex.experiments;
    expect(stored.get('default', names[3])?.status.phase).toBe('Aborted');
  });
});

/** A new exporter on the same data dir, driving the same daemon. */
async function restartOn(old: Stack): Promise<Pick<Stack, 'ex' | 'url' | 'api'>> {
  const { startExporter } = await import('../../exporter/index');
  const { request } = await import('../helpers/http');
  const pino = (await import('pino')).default;
  const ex = await startExporter({ listen: '127.0.0.1:0', dataDir: mnt, daemons: [{ url: old.daemon.url, name: 'local' }], logger: pino({ level: 'silent' }), retry: { attempts: 3, baseMs: 50, maxMs: 200 }, leaseSeconds: 60 });
  return { ex, url: ex.url, api: (m, p, b) => request(ex.url, m, p, b) };
}

