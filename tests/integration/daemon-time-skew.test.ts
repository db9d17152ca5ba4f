import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../daemon/paths';
import { hasTool } from '../helpers/require-tool';
import { daemonUrlOf, faultId, request, startDaemonProcess, startTestDaemon, stopDaemonProcess, tempDir, waitFor, type TestDaemon } from './daemon-helpers';

/** Kills the watchdog a daemon's lock names, so a kill -9 of the daemon leaves its faults to other paths. */
function killWatchdog(stateDir: string): void {
  const pid = JSON.parse(readFileSync(path.join(stateDir, 'daemon.lock'), 'utf8')).watchdog?.pid as number | undefined;
  if (pid) process.kill(pid, 'SIGKILL');
}

// time-skew against real processes (C, Python, Node) that keep printing what their clocks say: shifted
// by the offset (±1 s) while the fault runs, correct again after recovery, without a restart; a process
// that is not a target is unaffected; after kill -9 of the daemon, its restart puts the clock back.
// Refusals (a static program that makes plain clock syscalls, a process another tracer holds, bad
// params) answer 400/422 naming why, with nothing journaled.

const fixtures = path.join(__dirname, '..', 'fixtures', 'timeskew');
const HOUR = 3_600_000;
const isRoot = process.getuid?.() === 0;
const canRun = isRoot && process.platform === 'linux' && process.arch === 'x64';
if (canRun && process.env.CI === 'true' && !hasTool('cc')) throw new Error('cc missing under CI (.ci/run installs gcc)');
const suite = canRun && hasTool('cc') ? describe : describe.skip;

/** A process that prints "realtime monotonic gettimeofday time" (ms) lines; `now()` is its latest line. */
class ClockProcess {
  readonly child: ChildProcess;
  private last: number[] = [];
  private buf = '';
  constructor(cmd: string, args: string[]) {
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString();
      const lines = this.buf.split('\n');
      this.buf = lines.pop()!;
      const line = lines.filter(Boolean).pop();
      if (line) this.last = line.trim().split(/\s+/).map(Number);
    });
  }
  get pid(): number {
    return this.child.pid!;
  }
  /** Its latest readings minus the real time now (ms), per clock it prints; waits for a fresh line. */
  async skew(): Promise<number[]> {
    this.last = [];
    const line = await waitFor('a fresh clock line', () => (this.last.length ? this.last : undefined), 20_000, 20);
    const now = Date.now();
    return line.filter((_, i) => i !== 1).map((v) => v - now);
  }
  monotonic = async () => {
    this.last = [];
    return (await waitFor('a fresh clock line', () => (this.last.length ? this.last : undefined), 20_000, 20))[1];
  };
  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** Waits until every clock the process prints is `offset` (±1 s, plus the line's age) away from real time. */
async function expectSkew(p: ClockProcess, offset: number): Promise<void> {
  const got = await waitFor(`clocks of ${p.pid} shifted by ${offset} ms`, async () => {
    const s = await p.skew();
    return s.every((d) => Math.abs(d - offset) < 1000) ? s : undefined;
  }, 20_000, 50).catch(async (err) => {
    throw new Error(`${String(err)}; last skews ${JSON.stringify(await p.skew())}`);
  });
  for (const d of got) expect(Math.abs(d - offset)).toBeLessThan(1000);
}

suite('time-skew', () => {
  let dm: TestDaemon;
  let bin: string;
  let python: string;
  const procs: ClockProcess[] = [];
  const others: ChildProcess[] = [];
  const start = (cmd: string, args: string[]) => {
    const p = new ClockProcess(cmd, args);
    procs.push(p);
    return p;
  };
  const cClock = (...args: string[]) => start(path.join(bin, 'clock'), args);

  beforeAll(async () => {
    // the helper as `npm install` builds it (postinstall), and the test programs, from source
    execFileSync(process.execPath, [path.join(PACKAGE_ROOT, 'daemon', 'native', 'build.js')], { stdio: 'inherit' });
    bin = tempDir('timeskew-bin');
    execFileSync('cc', ['-O2', '-o', path.join(bin, 'clock'), path.join(fixtures, 'clock.c')]);
    execFileSync('cc', ['-O2', '-o', path.join(bin, 'traced'), path.join(fixtures, 'traced.c')]);
    execFileSync('cc', ['-static', '-nostdlib', '-fno-stack-protector', '-O2', '-o', path.join(bin, 'raw-syscalls'), path.join(fixtures, 'raw-syscalls.c')]);
    // the interpreter itself, not a version-manager shim that would exec it after we took its pid
    python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
    dm = await startTestDaemon({}, 'timeskew');
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) p.kill();
    for (const c of others) c.kill('SIGKILL');
    await dm?.destroy();
    rmSync(bin, { recursive: true, force: true });
  });

  const journal = () => readdirSync(path.join(dm.stateDir, 'faults'));

  it('is supported here (x86-64, root, helper built)', async () => {
    const kind = (await dm.req('GET', '/v1/info')).body.kinds.find((k: { kind: string }) => k.kind === 'time-skew');
    expect(kind).toMatchObject({ supported: true });
  });

  it('C, Python and Node processes read time shifted by -1h while it runs, and correct time after; a non-target is unaffected', async () => {
    const c = cClock();
    const py = start(python, ['-u', '-c', 'import time\nwhile True:\n    t = time.time() * 1000\n    print(int(t), int(time.monotonic() * 1000), int(t), int(time.time()) * 1000, flush=True)\n    time.sleep(0.1)']);
    const node = start(process.execPath, ['-e', 'setInterval(() => { const t = Date.now(); console.log(t, Number(process.hrtime.bigint() / 1000000n), t, Math.floor(t / 1000) * 1000); }, 100)']);
    const bystander = cClock();
    for (const p of [c, py, node, bystander]) await expectSkew(p, 0); // before

    const ids = [c, py, node].map(() => faultId('skew'));
    for (const [i, p] of [c, py, node].entries()) {
      const res = await dm.req('POST', '/v1/faults', { id: ids[i], kind: 'time-skew', params: { offset: '-1h' }, target: { pid: p.pid } });
      expect([res.status, res.body.error?.message]).toEqual([201, undefined]);
      expect(res.body.state.processes[0]).toMatchObject({ pid: p.pid, patches: expect.arrayContaining([expect.objectContaining({ symbol: 'clock_gettime', orig: expect.stringMatching(/^[0-9a-f]{24}$/) })]) });
    }
    for (const p of [c, py, node]) await expectSkew(p, -HOUR); // during
    await expectSkew(bystander, 0);

    for (const id of ids) expect((await dm.req('DELETE', `/v1/faults/${id}`)).status).toBe(200);
    for (const p of [c, py, node]) await expectSkew(p, 0); // after, same processes
    for (const p of [c, py, node]) expect(p.child.exitCode).toBeNull();
    expect(journal()).toEqual([]);
  }, 120_000);

  it('a processName target skews every process of that name, and recovery puts each back', async () => {
    const name = `tskc${process.pid}`.slice(0, 15);
    execFileSync('cp', [path.join(bin, 'clock'), path.join(bin, name)]);
    const a = start(path.join(bin, name), []);
    const b = start(path.join(bin, name), []);
    await expectSkew(a, 0);
    await expectSkew(b, 0);
    const id = faultId('name');
    const res = await dm.req('POST', '/v1/faults', { id, kind: 'time-skew', params: { offset: '+90s' }, target: { processName: `^${name}$` } });
    expect(res.status).toBe(201);
    expect(res.body.state.processes.map((p: { pid: number }) => p.pid).sort()).toEqual([a.pid, b.pid].sort());
    await expectSkew(a, 90_000);
    await expectSkew(b, 90_000);
    expect((await dm.req('DELETE', `/v1/faults/${id}`)).status).toBe(200);
    await expectSkew(a, 0);
    await expectSkew(b, 0);
  }, 60_000);

  it('shifts only the asked clocks: CLOCK_MONOTONIC +30m leaves the wall clock alone', async () => {
    const c = cClock();
    await expectSkew(c, 0);
    const before = await c.monotonic();
    const id = faultId('mono');
    const res = await dm.req('POST', '/v1/faults', { id, kind: 'time-skew', params: { offset: '+30m', clocks: ['CLOCK_MONOTONIC'] }, target: { pid: c.pid } });
    expect(res.status).toBe(201);
    const during = await waitFor('monotonic shifted', async () => {
      const m = await c.monotonic();
      return m - before > 29 * 60_000 ? m : undefined;
    });
    expect(during - before).toBeLessThan(30 * 60_000 + 20_000);
    await expectSkew(c, 0); // realtime, gettimeofday, time untouched
    expect((await dm.req('DELETE', `/v1/faults/${id}`)).status).toBe(200);
    const after = await c.monotonic();
    expect(after - before).toBeLessThan(20_000);
  }, 60_000);

  it('CLOCK_REALTIME and CLOCK_MONOTONIC together on Python and Node (and a Python bystander untouched)', async () => {
    // These read their clocks when asked on stdin, not on a timer: a process whose monotonic clock jumps
    // computes its sleep and timer deadlines from the shifted clock (so does any vDSO-based skew, Chaos
    // Mesh's too), and a probe that needs no timer shows the clocks alone.
    const probes: { name: string; child: ChildProcess; lines: string[] }[] = [];
    const probe = (name: string, cmd: string, args: string[]) => {
      const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
      others.push(child);
      const p = { name, child, lines: [] as string[] };
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const parts = buf.split('\n');
        buf = parts.pop()!;
        p.lines.push(...parts.filter(Boolean));
      });
      probes.push(p);
      return p;
    };
    /** [realtime - now, its monotonic - ours] in ms, read at once. */
    const read = async (p: (typeof probes)[number]): Promise<[number, number]> => {
      p.lines.length = 0;
      p.child.stdin!.write('\n');
      const line = await waitFor(`${p.name} answering`, () => p.lines[0], 20_000, 5);
      const [real, mono] = line.trim().split(/\s+/).map(Number);
      return [real - Date.now(), mono - Number(process.hrtime.bigint() / 1_000_000n)];
    };
    const pyCode = 'import sys, time\nfor _ in sys.stdin:\n    print(int(time.time() * 1000), int(time.monotonic() * 1000), flush=True)';
    const py = probe('python', python, ['-u', '-c', pyCode]);
    const node = probe('node', process.execPath, ['-e', "process.stdin.on('data', () => console.log(Date.now(), Number(process.hrtime.bigint() / 1000000n)))"]);
    const bystander = probe('python bystander', python, ['-u', '-c', pyCode]);
    const base = new Map<string, number>();
    for (const p of probes) {
      const [real, mono] = await read(p);
      expect([p.name, Math.abs(real) < 1000]).toEqual([p.name, true]);
      base.set(p.name, mono); // the gap between its monotonic clock and ours (same clock, different reads)
    }
    const OFF = 30 * 60_000;
    const ids = [py, node].map(() => faultId('mono2'));
    for (const [i, p] of [py, node].entries()) {
      const res = await dm.req('POST', '/v1/faults', { id: ids[i], kind: 'time-skew', params: { offset: '+30m', clocks: ['CLOCK_REALTIME', 'CLOCK_MONOTONIC'] }, target: { pid: p.child.pid } });
      expect([p.name, res.status, res.body.error?.message]).toEqual([p.name, 201, undefined]);
    }
    for (const p of [py, node]) {
      const [real, mono] = await read(p);
      expect([p.name, Math.abs(real - OFF) < 1000, Math.abs(mono - base.get(p.name)! - OFF) < 1000]).toEqual([p.name, true, true]);
    }
    const [bReal, bMono] = await read(bystander);
    expect([Math.abs(bReal) < 1000, Math.abs(bMono - base.get(bystander.name)!) < 1000]).toEqual([true, true]);

    for (const id of ids) expect((await dm.req('DELETE', `/v1/faults/${id}`)).status).toBe(200);
    for (const p of [py, node]) {
      const [real, mono] = await read(p);
      expect([p.name, Math.abs(real) < 1000, Math.abs(mono - base.get(p.name)!) < 1000]).toEqual([p.name, true, true]);
      expect(p.child.exitCode).toBeNull();
    }
    for (const p of probes) p.child.kill('SIGKILL');
  }, 60_000);

  it('a child the target forks while skewed reads skewed time, and correct time after recovery', async () => {
    const file = path.join(bin, 'child-clock');
    const c = cClock(file);
    const id = faultId('fork');
    expect((await dm.req('POST', '/v1/faults', { id, kind: 'time-skew', params: { offset: '-1h' }, target: { pid: c.pid } })).status).toBe(201);
    await expectSkew(c, -HOUR);
    process.kill(c.pid, 'SIGUSR1');
    const child = await waitFor('the forked child', () => Number(readFileSync(`/proc/${c.pid}/task/${c.pid}/children`, 'utf8').trim().split(' ')[0]) || undefined);
    others.push({ kill: () => process.kill(child, 'SIGKILL') } as unknown as ChildProcess);
    const childSkew = async () => {
      const [real, , tod, t] = readFileSync(file, 'utf8').trim().split(' ').map(Number);
      const now = Date.now();
      return [real - now, tod - now, t - now];
    };
    await waitFor('the child skewed by -1h', async () => (await childSkew()).every((d) => Math.abs(d + HOUR) < 1000) || undefined);
    expect((await dm.req('DELETE', `/v1/faults/${id}`)).status).toBe(200);
    await expectSkew(c, 0);
    await waitFor('the child back to real time', async () => (await childSkew()).every((d) => Math.abs(d) < 1000) || undefined);
  }, 60_000);

  it('a second time-skew on the same process is refused (422), the first one stays', async () => {
    const c = cClock();
    const first = faultId('first');
    expect((await dm.req('POST', '/v1/faults', { id: first, kind: 'time-skew', params: { offset: '2h' }, target: { pid: c.pid } })).status).toBe(201);
    const res = await dm.req('POST', '/v1/faults', { id: faultId('second'), kind: 'time-skew', params: { offset: '-2h' }, target: { pid: c.pid } });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/already time-skewed/);
    await expectSkew(c, 2 * HOUR);
    expect((await dm.req('DELETE', `/v1/faults/${first}`)).status).toBe(200);
    await expectSkew(c, 0);
  }, 60_000);

  it('refuses a static program that reads the clock with plain system calls (422, naming why)', async () => {
    const raw = spawn(path.join(bin, 'raw-syscalls'), [], { stdio: 'ignore' });
    others.push(raw);
    await waitFor('exec', () => execFileSync('cat', [`/proc/${raw.pid}/comm`], { encoding: 'utf8' }).trim() === 'raw-syscalls');
    const res = await dm.req('POST', '/v1/faults', { id: faultId('raw'), kind: 'time-skew', params: { offset: '1h' }, target: { pid: raw.pid } });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/statically linked .* plain system calls/);
    expect(res.body.error.details).toEqual([expect.objectContaining({ field: '/target' })]);
    expect(journal()).toEqual([]);
  });

  it('refuses a process another tracer holds (ptrace denied, 422 naming the tracer)', async () => {
    const tracer = spawn(path.join(bin, 'traced'), [path.join(bin, 'clock')], { stdio: ['ignore', 'pipe', 'ignore'] });
    others.push(tracer);
    const pid = Number(await new Promise<string>((r) => tracer.stdout!.once('data', (d: Buffer) => r(d.toString().split('\n')[0]))));
    others.push({ kill: () => process.kill(pid, 'SIGKILL') } as unknown as ChildProcess);
    await waitFor('exec', () => execFileSync('cat', [`/proc/${pid}/comm`], { encoding: 'utf8' }).trim() === 'clock');
    const res = await dm.req('POST', '/v1/faults', { id: faultId('traced'), kind: 'time-skew', params: { offset: '1h' }, target: { pid } });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(new RegExp(`ptrace denied: process ${pid} is already traced by pid ${tracer.pid}`));
    expect(journal()).toEqual([]);
  });

  it.each([
    [{ offset: '0s' }, '/params/offset'],
    [{ offset: 'yesterday' }, '/params/offset'],
    [{ offset: '--1h' }, '/params/offset'],
    [{ offset: '1h; reboot' }, '/params/offset'],
    [{ offset: '-99999h' }, '/params/offset'],
    [{ offset: 3600 }, '/params/offset'],
    [{}, '/params/offset'],
    [{ offset: '1h', clocks: ['CLOCK_FOO'] }, '/params/clocks/0'],
    [{ offset: '1h', clocks: [] }, '/params/clocks'],
    [{ offset: '1h', clocks: ['CLOCK_REALTIME', 'CLOCK_REALTIME'] }, '/params/clocks'],
    [{ offset: '1h', speed: 2 }, '/params/speed'],
  ])('bad params %j: 400 naming %s, nothing journaled, the process untouched', async (params, field) => {
    const c = cClock();
    const res = await dm.req('POST', '/v1/faults', { id: faultId('bad'), kind: 'time-skew', params, target: { pid: c.pid } });
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(journal()).toEqual([]);
    await expectSkew(c, 0);
    c.kill();
  }, 30_000);

  it('without a target: refused, nothing journaled', async () => {
    const res = await dm.req('POST', '/v1/faults', { id: faultId('none'), kind: 'time-skew', params: { offset: '1h' } });
    expect([400, 422]).toContain(res.status);
    expect(journal()).toEqual([]);
  });

  it('kill -9 of the daemon: its watchdog puts the clock back without a restart', async () => {
    const c = cClock();
    const stateDir = tempDir('timeskew-watchdog');
    const daemon = startDaemonProcess(stateDir);
    try {
      const url = await daemonUrlOf(stateDir, daemon);
      const res = await request(url, 'POST', '/v1/faults', { id: faultId('wd'), kind: 'time-skew', params: { offset: '-3h' }, target: { pid: c.pid }, leaseSeconds: 600 });
      expect(res.status).toBe(201);
      await expectSkew(c, -3 * HOUR);
      daemon.kill('SIGKILL');
      await new Promise((r) => daemon.once('exit', r));
      await expectSkew(c, 0);
      expect(c.child.exitCode).toBeNull();
    } finally {
      await stopDaemonProcess(daemon);
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 180_000);

  it('kill -9 of the daemon and its watchdog: the dead-man deadline lapses and the process reads real time again, no restart', async () => {
    const c = cClock();
    const stateDir = tempDir('timeskew-deadman');
    // the deadline the daemon keeps renewing (every quarter of it); 3 s so the test need not wait a minute
    const daemon = startDaemonProcess(stateDir, { FAULTLINE_TIMESKEW_DEADMAN_SECONDS: '3' });
    try {
      const url = await daemonUrlOf(stateDir, daemon);
      const res = await request(url, 'POST', '/v1/faults', { id: faultId('deadman'), kind: 'time-skew', params: { offset: '+2h' }, target: { pid: c.pid }, leaseSeconds: 600 });
      expect(res.status).toBe(201);
      await expectSkew(c, 2 * HOUR);
      await new Promise((r) => setTimeout(r, 4000)); // past the first deadline: the renewals hold it
      await expectSkew(c, 2 * HOUR);
      killWatchdog(stateDir);
      daemon.kill('SIGKILL');
      await new Promise((r) => daemon.once('exit', r));
      await expectSkew(c, 0); // nobody renews: the injected code itself goes back to real time
      expect(c.child.exitCode).toBeNull();
    } finally {
      await stopDaemonProcess(daemon);
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 180_000);

  it('kill -9 of the daemon and its watchdog leaves the skew; the restarted daemon puts the clock back from its journal', async () => {
    const c = cClock();
    const stateDir = tempDir('timeskew-crash');
    let daemon = startDaemonProcess(stateDir);
    try {
      let url = await daemonUrlOf(stateDir, daemon);
      const res = await request(url, 'POST', '/v1/faults', { id: faultId('crash'), kind: 'time-skew', params: { offset: '-3h' }, target: { pid: c.pid }, leaseSeconds: 600 });
      expect(res.status).toBe(201);
      await expectSkew(c, -3 * HOUR);
      killWatchdog(stateDir); // this is the restart's path; the test above has the watchdog's
      daemon.kill('SIGKILL');
      await new Promise((r) => daemon.once('exit', r));
      await expectSkew(c, -3 * HOUR); // the crash left it in place
      daemon = startDaemonProcess(stateDir);
      url = await daemonUrlOf(stateDir, daemon);
      await expectSkew(c, 0);
      expect(c.child.exitCode).toBeNull();
      expect((await request(url, 'GET', '/v1/faults')).body.faults).toEqual([]);
    } finally {
      await stopDaemonProcess(daemon);
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 180_000);
});
