import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { ResolvedProcess } from '../../api/daemon';
import { readStat } from '../../daemon/sys/proc';
import { signalPinned } from '../../daemon/faults/pinned-processes';

// Signalling pinned processes (daemon/faults/pinned-processes.ts), which the pause and kill kinds do at
// inject and at recover, on real processes: only a process that is still the one resolved (same pid and
// start time, not a zombie) is hit, so a pid reused since inject is never stopped, continued or killed.

jest.setTimeout(30_000);

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

async function sleeper(): Promise<ResolvedProcess> {
  const c = spawn('sleep', ['120'], { stdio: 'ignore' });
  children.push(c);
  for (;;) {
    const st = await readStat(c.pid!);
    if (st?.comm === 'sleep') return { pid: c.pid!, startTime: st.startTime, comm: 'sleep' };
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Polls until the process shows `want` (T stopped, S sleeping); returns what it shows last. */
async function stateOf(pid: number, want: string): Promise<string | undefined> {
  for (let i = 0; i < 400; i++) {
    const s = (await readStat(pid))?.state;
    if (s === want) return s;
    await new Promise((r) => setTimeout(r, 5));
  }
  return (await readStat(pid))?.state;
}

/** A zombie: `sh` starts a short child and then becomes `sleep`, which never reaps it. */
async function zombie(): Promise<ResolvedProcess> {
  const c = spawn('sh', ['-c', 'true & exec sleep 120'], { stdio: 'ignore' });
  children.push(c);
  for (let i = 0; i < 400; i++) {
    const kids = readdirSync(`/proc/${c.pid}/task`).flatMap((t) => readFileSync(`/proc/${c.pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
    for (const k of kids) {
      const st = await readStat(Number(k));
      if (st?.state === 'Z') return { pid: st.pid, startTime: st.startTime, comm: st.comm };
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('no zombie appeared');
}

describe('signalling pinned processes', () => {
  it('signals only the processes that are still the ones resolved', async () => {
    const [a, b, c] = [await sleeper(), await sleeper(), await sleeper()];
    const z = await zombie();
    const reused = { ...c, startTime: c.startTime + 1 }; // the same pid, as if another process had it now
    const gone = { pid: 4194304, startTime: 1, comm: 'x' };
    expect((await signalPinned([a, b, reused, z, gone], 'SIGSTOP')).sort()).toEqual([a.pid, b.pid].sort());
    expect(await stateOf(a.pid, 'T')).toBe('T');
    expect(await stateOf(b.pid, 'T')).toBe('T');
    expect((await readStat(c.pid))?.state).not.toBe('T');
    expect((await signalPinned([a, b], 'SIGCONT')).sort()).toEqual([a.pid, b.pid].sort());
    expect(await stateOf(a.pid, 'S')).toBe('S');
    expect(await signalPinned([], 'SIGCONT')).toEqual([]);
  });
});
