import { ApiError } from '../../api/errors';
import type { ResolvedProcess } from '../../api/daemon';
import { isSameProcess } from '../sys/proc';

// Helpers the process kinds share: act only on processes that are still the ones resolved
// (same pid *and* start time), so a pid reused since then is never signalled.

/** Sends `signal` to each process that is still the same; returns the pids it reached. */
export async function signalPinned(processes: readonly ResolvedProcess[], signal: NodeJS.Signals): Promise<number[]> {
  const reached: number[] = [];
  for (const p of processes) {
    if (!(await isSameProcess(p.pid, p.startTime))) continue;
    try {
      process.kill(p.pid, signal);
      reached.push(p.pid);
    } catch {
      /* exited in between */
    }
  }
  return reached;
}

export function requireProcesses(processes: readonly ResolvedProcess[]): void {
  if (processes.length === 0) {
    throw ApiError.unprocessable('the target matches no process', [{ field: '/target', reason: 'matches no process' }]);
  }
}
