import { readFileSync } from 'node:fs';
import type { DaemonTarget } from '../../api/daemon';

// Whether a target process exited while its fault was on it. Asked at every lease renewal. For a
// daemon on this host (loopback URL) the exporter reads /proc itself: the pid is gone, or it is a
// new process under a reused pid (its start time differs from the one recorded at resolution).
// Remote daemons are asked through their fault listing (the daemon reports a target it lost).

const isLoopback = (base: string) => {
  const host = new URL(base).hostname;
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]' || host === '::1';
};

/** Why the target is gone, or undefined while it lives (or cannot be told from here). */
export function localTargetGone(target: DaemonTarget | Record<string, unknown>, daemonBase: string): string | undefined {
  const t = target as DaemonTarget;
  if (t.pid === undefined || !isLoopback(daemonBase)) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${t.pid}/stat`, 'utf8');
  } catch {
    return `process ${t.pid} exited`;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z') return `process ${t.pid} exited (zombie)`;
  const start = Number(fields[19]); // field 22 of /proc/PID/stat: start time in clock ticks since boot
  if (t.pidStartTime !== undefined && start !== t.pidStartTime) return `process ${t.pid} exited (the pid now belongs to another process)`;
  return undefined;
}
