import { execFileSync, spawn } from 'node:child_process';
import { trackExit, waitGone } from '../../daemon/sys/child-exits';
import { startTimeOf } from '../../daemon/sys/proc';
import { procState } from './daemon-helpers';

// How a revert waits for a process it stopped to be gone (daemon/sys/child-exits.ts), on real processes:
// a child this process started and tracked is seen gone at its exit; a process that is not its child (a
// stressor or proxy of an earlier run of the daemon) is polled by pid and start time; and a process that
// does not go is reported as still there when the time is up.

const started: number[] = [];
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/** A `sleep` that is not this process's child: started by a shell that exits at once (reparented). */
function orphanSleep(): number {
  const pid = Number(execFileSync('sh', ['-c', 'sleep 600 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' }).trim());
  started.push(pid);
  return pid;
}

describe('waiting for a stopped process to be gone', () => {
  it('a tracked child: gone at its exit', async () => {
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    started.push(child.pid!);
    trackExit(child);
    const st = (await startTimeOf(child.pid!))!;
    child.kill('SIGKILL');
    expect(await waitGone(child.pid!, st, 5000)).toBe(true);
    // reaped, not a zombie: nothing of it is left
    expect(procState(child.pid!)).toBe('');
  });

  it('a process that is not a child: polled until it is gone', async () => {
    const pid = orphanSleep();
    const st = (await startTimeOf(pid))!;
    process.kill(pid, 'SIGKILL');
    expect(await waitGone(pid, st, 5000)).toBe(true);
  });

  it('one that does not go: false when the time is up, and it is still there', async () => {
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    started.push(child.pid!);
    trackExit(child);
    const orphan = orphanSleep();
    expect(await waitGone(child.pid!, (await startTimeOf(child.pid!))!, 50)).toBe(false);
    expect(await waitGone(orphan, (await startTimeOf(orphan))!, 50)).toBe(false);
    expect(procState(child.pid!)).toMatch(/^[SR]$/);
    expect(procState(orphan)).toMatch(/^[SR]$/);
  });

  it('a pid whose start time is another process’s counts as gone (the one we stopped is)', async () => {
    const pid = orphanSleep();
    const st = (await startTimeOf(pid))!;
    expect(await waitGone(pid, st + 1, 1000)).toBe(true);
    expect(procState(pid)).toMatch(/^[SR]$/);
  });
});
