import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { ResolvedProcess } from '../../api/daemon';
import { signalPinned } from '../../daemon/faults/pinned-processes';
import { readStat } from '../../daemon/sys/proc';
import { killChildren, procState, spawnSleep, waitFor } from './daemon-helpers';

// Signalling pinned processes (daemon/faults/pinned-processes.ts), which the pause and kill kinds do at
// inject and at recover, on real processes: only a process that is still the one resolved (same pid and
// start time, not a zombie) is hit, so a pid reused since inject is never stopped, continued or killed.

jest.setTimeout(30_000);

const zombieParents: ChildProcess[] = [];
afterAll(() => {
  killChildren();
  for (const c of zombieParents) c.kill('SIGKILL');
});

/** A sleeping process, exec'd, as a fault's resolved target names it. */
async function sleeper(): Promise<ResolvedProcess> {
  const pid = spawnSleep(120).pid!;
  return { pid, startTime: (await readStat(pid))!.startTime, comm: 'sleep' };
}

const inState = (pid: number, want: string) => waitFor(`pid ${pid} in state ${want}`, () => procState(pid) === want, 2000, 5);

/** A zombie: `sh` starts a short child and then becomes `sleep`, which never reaps it. */
async function zombie(): Promise<ResolvedProcess> {
  const c = spawn('sh', ['-c', 'true & exec sleep 120'], { stdio: 'ignore' });
  zombieParents.push(c);
  return waitFor(
    'a zombie child',
    async () => {
      const kids = readdirSync(`/proc/${c.pid}/task`).flatMap((t) => readFileSync(`/proc/${c.pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
      for (const k of kids) {
        const st = await readStat(Number(k));
        if (st?.state === 'Z') return { pid: st.pid, startTime: st.startTime, comm: st.comm };
      }
      return undefined;
    },
    2000,
    5,
  );
}

describe('signalling pinned processes', () => {
  it('signals only the processes that are still the ones resolved', async () => {
    const [a, b, c] = [await sleeper(), await sleeper(), await sleeper()];
    const z = await zombie();
    const reused = { ...c, startTime: c.startTime + 1 }; // the same pid, as if another process had it now
    const gone = { pid: 4194304, startTime: 1, comm: 'x' };
    expect((signalPinned([a, b, reused, z, gone], 'SIGSTOP')).sort()).toEqual([a.pid, b.pid].sort());
    await inState(a.pid, 'T');
    await inState(b.pid, 'T');
    expect(procState(c.pid)).not.toBe('T');
    expect((signalPinned([a, b], 'SIGCONT')).sort()).toEqual([a.pid, b.pid].sort());
    await inState(a.pid, 'S');
    expect(signalPinned([], 'SIGCONT')).toEqual([]);
  });
});
