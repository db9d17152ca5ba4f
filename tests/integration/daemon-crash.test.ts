import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { canUseNetns, makeNetnsPair, type NetnsPair } from '../helpers/netns';
import { daemonUrlOf, killChildren, nftTables, procAlive, procState, request, spawnSleep, startDaemonProcess, stopDaemonProcess, tempDir } from './daemon-helpers';

// The journal's promise: kill -9 the daemon (a real `faultline daemon` child process) while one fault
// of every supported kind is applied, start it again on the same state dir, and nothing is left:
// no nft table, no qdisc, no stopped process, no stressor, no file.

const nsOk = canUseNetns();

const hasTbf = (ns: string, dev: string) => execFileSync('tc', ['-n', ns, 'qdisc', 'show', 'dev', dev], { encoding: 'utf8' }).includes('tbf');

(nsOk.ok ? describe : describe.skip)('daemon crash and restart', () => {
  let pair: NetnsPair;
  let stateDir: string;
  let dir: string;
  let daemon: ChildProcess | undefined;

  beforeAll(() => {
    pair = makeNetnsPair('crash');
    stateDir = tempDir('crash-state');
    dir = tempDir('crash-disk');
  });
  afterAll(async () => {
    await stopDaemonProcess(daemon);
    killChildren();
    pair?.destroy();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('kill -9 with every kind applied, restart: everything is reverted', async () => {
    daemon = startDaemonProcess(stateDir);
    let url = await daemonUrlOf(stateDir, daemon);
    const info = (await request(url, 'GET', '/v1/info')).body;
    const supported = new Set<string>(info.kinds.filter((k: any) => k.supported).map((k: any) => k.kind));

    const paused = spawnSleep();
    const killed = spawnSleep();
    const t = { netns: pair.a };
    const faults: Record<string, { params?: Record<string, unknown>; target?: Record<string, unknown> }> = {
      'process-pause': { target: { pid: paused.pid } },
      'process-kill': { params: { signal: 'SIGTERM' }, target: { pid: killed.pid } },
      'cpu-stress': { params: { workers: 1, load: 20 } },
      'memory-stress': { params: { size: '64MiB' } },
      'disk-fill': { params: { path: dir, size: '64MiB' } },
      'disk-io-stress': { params: { path: dir, size: '4MiB', workers: 1 } },
      'network-loss': { params: { percent: 30 }, target: t },
      'network-partition': { params: { peers: [pair.addrB] }, target: t },
      'network-bandwidth': { params: { rate: '8mbit' }, target: t },
      'network-delay': { params: { latency: '50ms' }, target: { netns: pair.b } },
      'network-corrupt': { params: { percent: 5 }, target: t },
      'network-duplicate': { params: { percent: 5 }, target: t },
      'network-reorder': { params: { latency: '10ms', percent: 25 }, target: t },
    };
    // tc kinds take the one root qdisc of an interface: where the kernel has netem, network-delay goes on
    // B's side and the other netem kinds (same code path) are left out
    const created: Record<string, any> = {};
    for (const [kind, f] of Object.entries(faults)) {
      if (!supported.has(kind)) continue;
      if (kind.startsWith('network-') && !['network-loss', 'network-partition', 'network-bandwidth', 'network-delay'].includes(kind)) continue;
      const res = await request(url, 'POST', '/v1/faults', { id: `crash-${kind}-${process.pid}`, kind, params: f.params ?? {}, target: f.target, leaseSeconds: 300 });
      expect([kind, res.status]).toEqual([kind, 201]);
      created[kind] = res.body;
    }
    expect(Object.keys(created)).toEqual(expect.arrayContaining(['process-pause', 'cpu-stress', 'memory-stress', 'disk-fill', 'disk-io-stress', 'network-loss', 'network-partition', 'network-bandwidth']));
    const stressors: number[] = ['cpu-stress', 'memory-stress', 'disk-io-stress'].flatMap((k) => created[k].state.stressors.map((s: any) => s.pid));

    daemon.kill('SIGKILL');
    await new Promise((r) => daemon!.once('exit', r));

    // the crash left everything in place...
    expect(procState(paused.pid!)).toBe('T');
    expect(nftTables(pair.a)).toContain('faultline-');
    expect(hasTbf(pair.a, pair.ifA)).toBe(true);
    for (const p of stressors) expect(procAlive(p)).toBe(true);
    expect(existsSync(created['disk-fill'].state.file)).toBe(true);
    // (a .tmp file may be there too: the kill can land mid-write; the restart drops it)
    expect(readdirSync(path.join(stateDir, 'faults')).filter((f) => f.endsWith('.json')).length).toBe(Object.keys(created).length);

    // ...and the next start reverts all of it before it serves
    daemon = startDaemonProcess(stateDir);
    url = await daemonUrlOf(stateDir, daemon);
    expect((await request(url, 'GET', '/v1/faults')).body.faults).toEqual([]);
    expect(procState(paused.pid!)).toBe('S');
    expect(nftTables(pair.a)).not.toContain('faultline-');
    expect(hasTbf(pair.a, pair.ifA)).toBe(false);
    for (const p of stressors) expect(procAlive(p)).toBe(false);
    expect(existsSync(created['disk-fill'].state.file)).toBe(false);
    expect(existsSync(created['disk-io-stress'].state.dir)).toBe(false);
    expect(readdirSync(path.join(stateDir, 'faults'))).toEqual([]);
    const metrics = (await request(url, 'GET', '/metrics')).body as string;
    expect(metrics).toMatch(/faultline_daemon_recoveries_total\{kind="network-loss",reason="restart"\} 1/);

    // a graceful stop (SIGTERM) reverts what is applied and exits 0
    const again = await request(url, 'POST', '/v1/faults', { id: `crash-again-${process.pid}`, kind: 'process-pause', target: { pid: paused.pid }, leaseSeconds: 300 });
    expect(again.status).toBe(201);
    expect(procState(paused.pid!)).toBe('T');
    daemon.kill('SIGTERM');
    const code = await new Promise((r) => daemon!.once('exit', r));
    expect(code).toBe(0);
    expect(procState(paused.pid!)).toBe('S');
    expect(readdirSync(path.join(stateDir, 'faults'))).toEqual([]);
  }, 240_000);
});
