import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { acquireLock } from '../../daemon/lock';
import { isSameProcess } from '../../daemon/sys/proc';
import { PACKAGE_ROOT } from '../../daemon/paths';
import { canUseNetns, makeNetnsPair, type NetnsPair } from '../helpers/netns';
import { daemonUrlOf, killChildren, nftTables, procAlive, procState, request, spawnSleep, startDaemonProcess, stopDaemonProcess, tempDir, waitFor } from './daemon-helpers';
import { pauseExperiment, spawnServer } from './exporter-helpers';
import { accepts, echoServer, proxyAlive } from './proxy-helpers';

// A dead daemon leaves nothing behind. kill -9 of `faultline daemon` (or of `faultline start`, which
// embeds one, or of the whole process group) with one fault of every supported kind applied: its
// watchdog, a process of its own, reverts all of it at once without any restart, and a daemon started
// afterwards finds nothing to do. When the watchdog dies too (both killed), the journal still reverts
// everything on the next start.

jest.setTimeout(300_000);
const nsOk = canUseNetns();

const hasTbf = (ns: string, dev: string) => execFileSync('tc', ['-n', ns, 'qdisc', 'show', 'dev', dev], { encoding: 'utf8' }).includes('tbf');
const lockOf = (stateDir: string) => JSON.parse(readFileSync(path.join(stateDir, 'daemon.lock'), 'utf8'));
const journalFiles = (stateDir: string) => readdirSync(path.join(stateDir, 'faults')).filter((f) => f.endsWith('.json'));
const exited = (c: ChildProcess) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r())));

/**
 * A python process printing its wall clock (ms) every 50 ms, through the vDSO as most programs read it:
 * the time-skew target. `skewMs` is its latest reading minus the real time.
 */
class ClockPrinter {
  private readonly child: ChildProcess;
  private last = { value: 0, at: 0 };
  constructor() {
    this.child = spawn('python3', ['-u', '-c', 'import time\nwhile True:\n    print(int(time.time() * 1000))\n    time.sleep(0.05)'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      const line = lines.filter(Boolean).pop();
      if (line) this.last = { value: Number(line), at: Date.now() };
    });
  }
  get pid(): number {
    return this.child.pid!;
  }
  skewMs(): number {
    return Date.now() - this.last.at > 1000 ? NaN : this.last.value - this.last.at;
  }
  kill(): void {
    this.child.kill('SIGKILL');
  }
}

async function armedWatchdog(url: string): Promise<number> {
  const w = await waitFor('watchdog armed', async () => {
    const info = (await request(url, 'GET', '/v1/info')).body;
    return info.watchdog?.armed ? info.watchdog : undefined;
  }, 60_000);
  return w.pid as number;
}

(nsOk.ok ? describe : describe.skip)('daemon crash: the watchdog reverts, the journal backs it up', () => {
  let pair: NetnsPair;
  let stateDir: string;
  let dir: string;
  let daemon: ChildProcess | undefined;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let clock: ClockPrinter;

  beforeAll(async () => {
    clock = new ClockPrinter();
    pair = makeNetnsPair('crash');
    dir = tempDir('crash-disk');
    echo = await echoServer();
  });
  beforeEach(() => {
    stateDir = tempDir('crash-state');
  });
  afterEach(async () => {
    await stopDaemonProcess(daemon);
    rmSync(stateDir, { recursive: true, force: true });
  });
  afterAll(async () => {
    clock?.kill();
    killChildren();
    await echo.close();
    pair?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  /** One fault of every supported kind (the tc kinds share one root qdisc per interface: two of them). */
  async function applyEveryKind(url: string, tag: string) {
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
      'tcp-fault': { params: { listen: '127.0.0.1:0', upstream: `127.0.0.1:${echo.port}`, toxics: [{ type: 'latency', latency: '10ms' }] } },
      'http-fault': { params: { port: 18080, abort: { percent: 50 } }, target: t },
      'dns-fault': { params: { action: 'error', patterns: ['match.example.test'] }, target: { netns: pair.b } },
      'time-skew': { params: { offset: '+1h' }, target: { pid: clock.pid } },
    };
    // every kind this host runs is here: a new kind must say how a dead daemon's watchdog reverts it
    expect([...supported].filter((k) => !(k in faults))).toEqual([]);
    const created: Record<string, any> = {};
    for (const [kind, f] of Object.entries(faults)) {
      if (!supported.has(kind)) continue;
      const res = await request(url, 'POST', '/v1/faults', { id: `${tag}-${kind}-${process.pid}`, kind, params: f.params ?? {}, target: f.target, leaseSeconds: 300 });
      expect([kind, res.status, res.body?.error]).toEqual([kind, 201, undefined]);
      created[kind] = res.body;
    }
    expect(Object.keys(created)).toEqual(
      expect.arrayContaining(['process-pause', 'cpu-stress', 'memory-stress', 'disk-fill', 'disk-io-stress', 'network-loss', 'network-partition', 'network-bandwidth', 'tcp-fault', 'http-fault']),
    );
    const stressors: number[] = ['cpu-stress', 'memory-stress', 'disk-io-stress'].flatMap((k) => created[k].state.stressors.map((s: any) => s.pid));
    const proxies = [created['tcp-fault'].state, created['http-fault'].state];
    const responder = created['dns-fault']?.state as { pid: number; startTime: number } | undefined;
    const skewed = !!created['time-skew'];

    // everything is really there before the crash
    expect(procState(paused.pid!)).toBe('T');
    expect(nftTables(pair.a)).toContain('faultline-');
    expect(hasTbf(pair.a, pair.ifA)).toBe(true);
    for (const p of stressors) expect(procAlive(p)).toBe(true);
    for (const p of proxies) expect(await proxyAlive(p)).toBe(true);
    expect(existsSync(created['disk-fill'].state.file)).toBe(true);
    if (responder) expect(await isSameProcess(responder.pid, responder.startTime)).toBe(true);
    if (skewed) await waitFor('the clock an hour ahead', () => Math.abs(clock.skewMs() - 3_600_000) < 5_000, 20_000, 50);

    /** Whether every trace of these faults is gone from the kernel, the processes and the disk. */
    const everythingReverted = async () =>
      procState(paused.pid!) !== 'T' &&
      !nftTables(pair.a).includes('faultline-') &&
      !hasTbf(pair.a, pair.ifA) &&
      stressors.every((p) => !procAlive(p)) &&
      (await Promise.all(proxies.map((p) => proxyAlive(p)))).every((a) => !a) &&
      !existsSync(created['disk-fill'].state.file) &&
      !existsSync(created['disk-io-stress'].state.dir) &&
      (!responder || !(await isSameProcess(responder.pid, responder.startTime))) &&
      !nftTables(pair.b).includes('faultline-') &&
      (!skewed || Math.abs(clock.skewMs()) < 5_000) &&
      journalFiles(stateDir).length === 0;
    return { created, count: Object.keys(created).length, paused, stressors, proxies, everythingReverted };
  }

  it('kill -9 of `faultline daemon` with every kind applied: the watchdog reverts all of it, no restart needed', async () => {
    daemon = startDaemonProcess(stateDir);
    let url = await daemonUrlOf(stateDir, daemon);
    const watchdogPid = await armedWatchdog(url);
    expect(lockOf(stateDir).watchdog.pid).toBe(watchdogPid);
    const f = await applyEveryKind(url, 'wd');
    expect(journalFiles(stateDir)).toHaveLength(f.count);

    const t0 = Date.now();
    daemon.kill('SIGKILL');
    await exited(daemon);
    // (no timing assertion here: `npm run bench` measures how fast; the watchdog logs its own figure)
    await waitFor('every fault reverted by the watchdog', f.everythingReverted, 30_000, 20);
    const tookMs = Date.now() - t0;
    await waitFor('the watchdog exits', () => !procAlive(watchdogPid), 10_000, 20);
    const log = readFileSync(path.join(stateDir, 'watchdog.log'), 'utf8');
    expect(log).toMatch(new RegExp(`"found":${f.count},"left":0`));
    const done = JSON.parse(log.trim().split('\n').pop()!);
    // the log names each fault it reverted, and how long that took
    const reverted = log.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.msg === 'fault recovered');
    expect(reverted.map((l) => [l.kind, l.reason, typeof l.ms]).sort()).toEqual(Object.keys(f.created).map((k) => [k, 'daemon_died', 'number']).sort());
    const slowest = reverted.sort((a, b) => b.ms - a.ms).slice(0, 3).map((l) => `${l.kind} ${l.ms} ms`).join(', ');
    process.stderr.write(`watchdog: ${f.count} faults reverted ${done.time - t0} ms after kill -9 (${Math.round(done.ms)} ms of reverting; slowest: ${slowest}); the test's polling saw it after ${tookMs} ms\n`);
    expect(await accepts(f.proxies[0].proxyPort)).toBe(false);
    expect(existsSync(path.join(stateDir, 'daemon.lock'))).toBe(false);

    // a daemon started afterwards finds nothing left to do
    daemon = startDaemonProcess(stateDir);
    url = await daemonUrlOf(stateDir, daemon);
    expect((await request(url, 'GET', '/v1/faults')).body.faults).toEqual([]);
    const metrics = (await request(url, 'GET', '/metrics')).body as string;
    expect(metrics).not.toMatch(/faultline_daemon_recoveries_total\{[^}]*reason="restart"\} [1-9]/);
  });

  it('a graceful stop (SIGTERM) reverts what is applied, dismisses the watchdog and exits 0', async () => {
    daemon = startDaemonProcess(stateDir);
    const url = await daemonUrlOf(stateDir, daemon);
    const watchdogPid = await armedWatchdog(url);
    const paused = spawnSleep();
    expect((await request(url, 'POST', '/v1/faults', { id: `term-${process.pid}`, kind: 'process-pause', target: { pid: paused.pid }, leaseSeconds: 300 })).status).toBe(201);
    expect(procState(paused.pid!)).toBe('T');
    daemon.kill('SIGTERM');
    const code = await new Promise((r) => daemon!.once('exit', r));
    expect(code).toBe(0);
    expect(procState(paused.pid!)).toBe('S');
    expect(journalFiles(stateDir)).toEqual([]);
    await waitFor('the watchdog exits', () => !procAlive(watchdogPid), 10_000, 20);
    expect(readFileSync(path.join(stateDir, 'watchdog.log'), 'utf8')).not.toMatch(/the daemon died/);
  });

  it('kill -9 of the daemon and its watchdog together: the faults stay, the next start reverts them before serving', async () => {
    daemon = startDaemonProcess(stateDir);
    let url = await daemonUrlOf(stateDir, daemon);
    const watchdogPid = await armedWatchdog(url);
    const f = await applyEveryKind(url, 'both');
    process.kill(watchdogPid, 'SIGKILL');
    daemon.kill('SIGKILL');
    await exited(daemon);
    await waitFor('the watchdog is gone', () => !procAlive(watchdogPid), 10_000, 20);
    expect(procState(f.paused.pid!)).toBe('T');
    for (const p of f.stressors) expect(procAlive(p)).toBe(true);
    expect(journalFiles(stateDir)).toHaveLength(f.count);

    daemon = startDaemonProcess(stateDir);
    url = await daemonUrlOf(stateDir, daemon);
    expect((await request(url, 'GET', '/v1/faults')).body.faults).toEqual([]);
    expect(await f.everythingReverted()).toBe(true);
    const metrics = (await request(url, 'GET', '/metrics')).body as string;
    expect(metrics).toMatch(/faultline_daemon_recoveries_total\{kind="network-loss",reason="restart"\} 1/);
  });

  it('kill -9 of the whole process group the daemon runs in: the watchdog is not in it and reverts', async () => {
    rmSync(path.join(stateDir, 'daemon.url'), { force: true });
    const group = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'faultline.js'), 'daemon', '--listen', '127.0.0.1:0', '--state-dir', stateDir, '--log-level', 'warn'], {
      cwd: PACKAGE_ROOT,
      detached: true, // its own process group, like a service manager's or a shell job's
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    daemon = group;
    const url = await daemonUrlOf(stateDir, group);
    const watchdogPid = await armedWatchdog(url);
    const paused = spawnSleep();
    expect((await request(url, 'POST', '/v1/faults', { id: `pg-${process.pid}`, kind: 'process-pause', target: { pid: paused.pid }, leaseSeconds: 300 })).status).toBe(201);
    process.kill(-group.pid!, 'SIGKILL');
    await exited(group);
    await waitFor('the pause reverted by the watchdog', () => procState(paused.pid!) === 'S', 30_000, 20);
    expect(journalFiles(stateDir)).toEqual([]);
    await waitFor('the watchdog exits', () => !procAlive(watchdogPid), 10_000, 20);
  });

  it('kill -9 of `faultline start` (the daemon embedded in the exporter): the watchdog reverts its faults', async () => {
    const srv = await spawnServer(['start', '--listen', '127.0.0.1:0', '--data-dir', stateDir, '--log-level', 'warn']);
    try {
      const api = (m: string, p: string, b?: unknown) => request(srv.url, m, p, b);
      const embedded = path.join(stateDir, 'embedded-daemon');
      const durl = readFileSync(path.join(embedded, 'daemon.url'), 'utf8').trim();
      const watchdogPid = await armedWatchdog(durl);
      const paused = spawnSleep();
      const daemonName = (await api('GET', '/api/v1/health')).body.daemons[0].name;
      const body = pauseExperiment('crash-start', [paused.pid!], '5m');
      body.spec.targets.selector.daemons = [daemonName];
      const res = await api('POST', '/api/v1/experiments', body);
      expect([res.status, res.body?.error]).toEqual([201, undefined]);
      await waitFor('paused', () => procState(paused.pid!) === 'T', 60_000);
      srv.child.kill('SIGKILL');
      await exited(srv.child);
      await waitFor('the pause reverted by the watchdog', () => procState(paused.pid!) === 'S', 30_000, 20);
      expect(journalFiles(embedded)).toEqual([]);
      await waitFor('the watchdog exits', () => !procAlive(watchdogPid), 10_000, 20);
    } finally {
      if (srv.child.exitCode === null && srv.child.signalCode === null) srv.child.kill('SIGKILL');
    }
  });

  it('a daemon starting while a dead daemon’s watchdog still reverts waits for it; a stuck one is ended', async () => {
    // stand-ins for a watchdog at work: real processes named in the lock the way a watchdog claims it
    const claim = (pid: number) => {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const startTime = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[19]);
      writeFileSync(path.join(stateDir, 'daemon.lock'), JSON.stringify({ pid, startTime, role: 'watchdog' }));
    };
    const busy = spawnSleep(1);
    claim(busy.pid!);
    const t0 = Date.now();
    const lock = await acquireLock(stateDir);
    expect(Date.now() - t0).toBeGreaterThan(300); // it waited for the "watchdog" to finish (sleep 1)
    expect(procAlive(busy.pid!)).toBe(false);
    await lock.release();

    const stuck = spawnSleep(600);
    claim(stuck.pid!);
    const lock2 = await acquireLock(stateDir, { watchdogWaitMs: 200 });
    expect(procAlive(stuck.pid!)).toBe(false); // ended after the wait, then taken over
    expect(lockOf(stateDir)).toMatchObject({ pid: process.pid, role: 'daemon' });
    await lock2.release();

    // a live daemon (not a watchdog) in the lock still refuses a second daemon at once
    const other = spawnSleep(600);
    const text = readFileSync(`/proc/${other.pid}/stat`, 'utf8');
    writeFileSync(path.join(stateDir, 'daemon.lock'), JSON.stringify({ pid: other.pid, startTime: Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[19]), role: 'daemon' }));
    await expect(acquireLock(stateDir)).rejects.toThrow(/in use by daemon pid/);
  });
});
