import type { ChildProcess } from 'node:child_process';
import { isSameProcess } from './proc';

// Waiting for a process the daemon stopped (a stressor, a fault proxy, a DNS child) to be gone, which is
// when its fault counts as reverted. For a child this daemon process started, libuv reaps it on SIGCHLD and
// Node emits 'exit': the wait ends one wake-up after the exit, where a poll of /proc would end up to a poll
// interval later (10–20 ms on every revert of those kinds). A child of an earlier run of the daemon (after
// a restart or from the watchdog) is nobody's child here; for those, the pid and start time are polled.

const exits = new Map<number, Promise<void>>();

/**
 * Remembers `child`'s exit, for waitGone. Call it right after the spawn: until it is reaped the pid
 * cannot be reused, and once 'exit' fires the entry is gone, so an entry always means this process.
 */
export function trackExit(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  exits.set(
    pid,
    new Promise<void>((resolve) =>
      child.once('exit', () => {
        exits.delete(pid);
        resolve();
      }),
    ),
  );
}

/** Resolves true once the process is gone, or false when `timeoutMs` passed first. */
export async function waitGone(pid: number, startTime: number, timeoutMs: number, pollMs = 10): Promise<boolean> {
  const exit = exits.get(pid);
  if (exit) {
    let timer: NodeJS.Timeout | undefined;
    const gone = await Promise.race([exit.then(() => true), new Promise<boolean>((res) => (timer = setTimeout(res, Math.max(0, timeoutMs), false)))]);
    clearTimeout(timer);
    return gone;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await isSameProcess(pid, startTime))) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
