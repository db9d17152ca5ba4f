import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Spawns `cmd` and returns once the child has exec'd it (its comm is the command's name). spawn()
 * returns right after fork: until exec the pid is a copy of node, so a test that aims at it at once
 * may hit a process with another name (protection by name does not apply yet) that is still starting.
 */
export function spawnExeced(cmd: string, args: string[], deadlineMs = 5000): ChildProcess {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  const want = path.basename(cmd).slice(0, 15); // comm is cut to 15 characters
  const until = Date.now() + deadlineMs;
  while (child.pid !== undefined && Date.now() < until) {
    let comm = '';
    try {
      comm = readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim();
    } catch {
      break; // exited already: the caller sees it
    }
    if (comm === want) break;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); // exec takes about a millisecond
  }
  return child;
}
