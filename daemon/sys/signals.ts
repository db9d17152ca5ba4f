import type { ResolvedProcess } from '../../api/daemon';
import { isSameProcessNow } from './proc';

// Signalling pinned processes (pid + start time, so a pid reused since is never hit).

/**
 * Sends `signal` to each process that is still the same one (alive, not a zombie, same start time);
 * returns the pids it reached. Synchronous: procfs answers from memory (an async read would wait for a
 * libuv thread, which a fleet abort's journal fsyncs occupy), and the check and the kill are as close
 * together as they can be.
 */
export function signalPinnedNow(processes: readonly ResolvedProcess[], signal: NodeJS.Signals): number[] {
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

interface Waiting {
  processes: readonly ResolvedProcess[];
  resolve: (reached: number[]) => void;
  reject: (err: unknown) => void;
}
const waiting = new Map<NodeJS.Signals, Waiting[]>();

/**
 * signalPinnedNow for reverts: the calls made before the microtasks queued so far have run share one
 * pass. A batch recover (POST /v1/recover) starts every fault's recover in one loop, and each reaches
 * its kill() in the microtasks that follow; before, each fault's SIGCONT went out with that fault's own
 * bookkeeping in between, and on a busy host every process woken by one could preempt the daemon
 * before the next (traced in `npm run bench fleet`: 18 SIGCONTs of one daemon spread over 100-450 ms).
 */
export function signalPinnedBatched(processes: readonly ResolvedProcess[], signal: NodeJS.Signals): Promise<number[]> {
  return new Promise((resolve, reject) => {
    let batch = waiting.get(signal);
    if (!batch) {
      batch = [];
      waiting.set(signal, batch);
      queueMicrotask(() => flush(signal));
    }
    batch.push({ processes, resolve, reject });
  });
}

function flush(signal: NodeJS.Signals): void {
  const batch = waiting.get(signal)!;
  waiting.delete(signal);
  try {
    const reached = new Set(signalPinnedNow(batch.flatMap((w) => w.processes), signal));
    for (const w of batch) w.resolve(w.processes.filter((p) => reached.has(p.pid)).map((p) => p.pid));
  } catch (err) {
    for (const w of batch) w.reject(err);
  }
}
