import { ApiError } from '../../api/errors';
import type { ResolvedProcess } from '../../api/daemon';
import { isSameProcessNow, readStat } from '../sys/proc';

// Helpers the process kinds share: act only on processes that are still the ones resolved
// (same pid *and* start time), so a pid reused since then is never signalled.

/**
 * Sends `signal` to each process that is still the same; returns the pids it reached. Synchronous,
 * /proc check included: procfs answers from memory, and an async read waits for a libuv thread, which a
 * fleet abort's journal fsyncs occupy (a SIGCONT then waited behind other faults' disk syncs). It also
 * keeps the window between the check and the kill as short as it can be, and lets a batch of
 * recoveries send all its SIGCONTs in one pass (FaultKind.recoverNow).
 */
export function signalPinned(processes: readonly ResolvedProcess[], signal: NodeJS.Signals): number[] {
  const reached: number[] = [];
  for (const p of processes) {
    if (!isSameProcessNow(p.pid, p.startTime)) continue;
    try {
      process.kill(p.pid, signal);
      reached.push(p.pid);
    } catch {
      /* exited in between */
    }
  }
  return reached;
}

/**
 * Waits until each pid shows state T (stopped) or is gone, polling every millisecond up to `timeoutMs`.
 * kill() only queues SIGSTOP: a process that is runnable but not on a CPU (a loaded host, or one still
 * exec'ing) stops the next time it is scheduled, and one in uninterruptible sleep (D) when it leaves it.
 * Waiting makes "injected" mean stopped. Returns the pids still not stopped at the deadline.
 */
export async function waitUntilStopped(pids: readonly number[], timeoutMs = 1000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = [...pids];
  for (;;) {
    const next: number[] = [];
    for (const pid of left) {
      const st = await readStat(pid);
      if (st && st.state !== 'T' && st.state !== 't' && st.state !== 'Z') next.push(pid);
    }
    left = next;
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, 1));
  }
}

export function requireProcesses(processes: readonly ResolvedProcess[]): void {
  if (processes.length === 0) {
    throw ApiError.unprocessable('the target matches no process', [{ field: '/target', reason: 'matches no process' }]);
  }
}
