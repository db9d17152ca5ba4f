import { spawn } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../paths';
import { isSameProcess, readStat } from '../sys/proc';

// Stressors are small plain-JS scripts run by this same node binary, each its own process so it
// can be placed in a cgroup, measured from /proc, and killed by pid + start time even by a daemon
// that restarted after a crash. They are detached (own session), so a signal to the daemon's
// process group does not take them down with it; recovery does.

export interface StressorRef {
  pid: number;
  startTime: number;
}

export type StressorScript = 'cpu' | 'memory' | 'io';

export function scriptPath(script: StressorScript): string {
  return path.join(PACKAGE_ROOT, 'daemon', 'stressors', `${script}.mjs`);
}

/**
 * The stressors this daemon process started, by pid: resolved when the kernel reports the exit (libuv
 * reaps its children on SIGCHLD). A recover waits on this instead of polling /proc, so its answer
 * follows the exit by the time of one wake-up, not of a 10 ms poll. Stressors of an earlier run of the
 * daemon (after a restart) are not in it; for those, killStressors polls.
 */
const exits = new Map<number, Promise<void>>();

/** Starts a stressor; resolves once it is running and pinned with its start time. */
export async function spawnStressor(script: StressorScript, args: string[]): Promise<StressorRef> {
  const child = spawn(process.execPath, [scriptPath(script), ...args], { detached: true, stdio: 'ignore' });
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('spawn', () => resolve(child.pid as number));
  });
  exits.set(
    pid,
    new Promise<void>((resolve) =>
      child.once('exit', () => {
        exits.delete(pid);
        resolve();
      }),
    ),
  );
  child.unref();
  const st = await readStat(pid);
  return { pid, startTime: st?.startTime ?? -1 };
}

/** SIGKILLs the stressors that are still the same processes and waits until they are gone. */
export async function killStressors(refs: readonly StressorRef[] | undefined, timeoutMs = 5000): Promise<void> {
  const live: StressorRef[] = [];
  for (const r of refs ?? []) {
    if (r.startTime >= 0 && (await isSameProcess(r.pid, r.startTime))) {
      try {
        process.kill(r.pid, 'SIGKILL');
        live.push(r);
      } catch {
        /* already gone */
      }
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const r of live) {
    // a pid in `exits` is our child and cannot be reused before it is reaped: the exit is that process's
    const exit = exits.get(r.pid);
    if (exit) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exit, new Promise((res) => (timer = setTimeout(res, Math.max(0, deadline - Date.now()))))]);
      clearTimeout(timer);
      continue;
    }
    while (Date.now() < deadline && (await isSameProcess(r.pid, r.startTime))) await new Promise((res) => setTimeout(res, 10));
  }
}
