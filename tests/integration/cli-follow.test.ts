import { rmSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startCli } from './cli-helpers';
import { killAll, request, sleepers, spawnServer, tempDir } from './exporter-helpers';

// `faultline events --follow` against a real `faultline start` that dies or hangs: the command says
// so, reconnects with Last-Event-ID when the exporter is back (nothing lost, nothing twice), and ends
// with exit 5 after its bounded wait instead of hanging forever.

jest.setTimeout(300_000);

const { procs, spawn: sleeper } = sleepers();
const servers: ChildProcess[] = [];
/** Folders the tests made, removed at the end. */
const dirs: string[] = [];
const dirFor = (tag: string) => {
  const d = tempDir(tag);
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const s of servers) {
    try {
      process.kill(s.pid!, 'SIGCONT');
      s.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  killAll(procs);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(dir: string, listen = '127.0.0.1:0') {
  const s = await spawnServer(['start', '--listen', listen, '--data-dir', dir, '--log-level', 'warn']);
  servers.push(s.child);
  return s;
}

const pause = (name: string, pid: number) => ({
  metadata: { name },
  spec: { fault: { kind: 'process-pause' }, targets: { selector: { pids: [pid] } }, duration: '1s' },
});

describe('events --follow and a dead exporter', () => {
  it('a hung exporter (no heartbeat): says so, and exits 5 after --reconnect-timeout', async () => {
    const s = await start(path.join(dirFor('follow-hung'), 'data'));
    const follow = startCli(['events', '--follow', '-A', '--heartbeat-timeout', '1s', '--reconnect-timeout', '4s'], { FAULTLINE_SERVER: s.url });
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(s.child.pid!, 'SIGSTOP');
    try {
      await follow.until(/no heartbeat from the exporter for 1s: reconnecting/);
      expect(await follow.exit()).toBe(5);
      expect(follow.stderr()).toMatch(/lost the event stream at http:\/\/127\.0\.0\.1:\d+: .*giving up/);
    } finally {
      process.kill(s.child.pid!, 'SIGCONT');
      s.child.kill('SIGKILL');
    }
  });

  it('a killed exporter that comes back: reconnects with Last-Event-ID and prints what happened meanwhile', async () => {
    const dir = path.join(dirFor('follow-back'), 'data');
    const first = await start(dir);
    const port = new URL(first.url).port;
    const pid = sleeper();
    const follow = startCli(['events', '--follow', '-A', '--heartbeat-timeout', '5s', '--reconnect-timeout', '90s'], { FAULTLINE_SERVER: first.url });
    expect((await request(first.url, 'POST', '/api/v1/experiments', pause(`before-${process.pid}`, pid))).status).toBe(201);
    await follow.until(new RegExp(`created .*before-${process.pid}`));
    first.child.kill('SIGKILL');
    await follow.until(/reconnecting/);
    const second = await start(dir, `127.0.0.1:${port}`);
    // another process: the first experiment still holds its pid (one pause per process)
    expect((await request(second.url, 'POST', '/api/v1/experiments', pause(`after-${process.pid}`, sleeper()))).status).toBe(201);
    await follow.until(new RegExp(`created .*after-${process.pid}`));
    expect(follow.stderr()).toMatch(/reconnected to http:\/\/127\.0\.0\.1:\d+ after event \d+/);
    // Last-Event-ID: the events seen before the restart are not printed twice
    expect(follow.stdout().match(new RegExp(`created .*before-${process.pid}`, 'g'))).toHaveLength(1);
    follow.child.kill('SIGINT');
    expect(await follow.exit()).toBe(0);
    second.child.kill('SIGTERM');
  });
});
