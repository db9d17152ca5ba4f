import { spawn } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../paths';
import { trackExit, waitGone } from '../sys/child-exits';
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

/** Starts a stressor; resolves once it is running and pinned with its start time. */
export async function spawnStressor(script: StressorScript, args: string[]): Promise<StressorRef> {
  const child = spawn(process.execPath, [scriptPath(script), ...args], { detached: true, stdio: 'ignore' });
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('spawn', () => resolve(child.pid as number));
  });
  trackExit(child); // a recover then waits for its exit, not for a poll of /proc
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
  for (const r of live) await waitGone(r.pid, r.startTime, deadline - Date.now());
}
