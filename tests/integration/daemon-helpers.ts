import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { startDaemon, type DaemonOptions, type RunningDaemon } from '../../daemon/index';
import { PACKAGE_ROOT } from '../../daemon/paths';
import { request, type Reply } from '../helpers/http';
import { tempDir } from '../helpers/tmp';
import { spawnExeced } from '../helpers/processes';
import { pollFor } from '../helpers/wait';

// Shared by the daemon's integration tests: an in-process daemon on a random loopback port with a
// throwaway state dir, a tiny JSON client, polling with deadlines, and processes to aim faults at.

export interface TestDaemon extends RunningDaemon {
  stateDir: string;
  req(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  destroy(): Promise<void>;
}

export { tempDir };

export { request } from '../helpers/http';

export async function startTestDaemon(opts: Partial<DaemonOptions> = {}, tag = 'd'): Promise<TestDaemon> {
  const stateDir = opts.stateDir ?? tempDir(tag);
  const d = await startDaemon({ listen: '127.0.0.1:0', stateDir, logger: pino({ level: 'silent' }), ...opts });
  // the watchdog loads its recover code in the background: let it finish before the test's own timing starts
  await d.watchdogReady;
  const auth: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  return {
    ...d,
    stateDir,
    req: (method, p, body, headers) => request(d.url, method, p, body, { headers: { ...auth, ...(headers ?? {}) } }),
    async destroy() {
      try {
        await d.shutdown({ recover: true });
      } finally {
        rmSync(stateDir, { recursive: true, force: true }); // even when recovering failed: no fl-* folder left behind
      }
    },
  };
}

export function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  return pollFor(what, fn, timeoutMs, everyMs);
}

/** /proc/<pid>/stat state letter ('' when gone). */
export function procState(pid: number): string {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return '';
  }
}

export function procAlive(pid: number): boolean {
  const s = procState(pid);
  return s !== '' && s !== 'Z';
}

const children: ChildProcess[] = [];

/** A `sleep` child to aim process faults at; killed by killChildren(). */
export function spawnSleep(seconds = 600): ChildProcess {
  const c = spawnExeced('sleep', [String(seconds)]);
  children.push(c);
  return c;
}

export function killChildren(): void {
  for (const c of children.splice(0)) {
    try {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** Unique fault ids per test process. */
let n = 0;
export function faultId(tag: string): string {
  return `t-${tag}-${process.pid}-${++n}`;
}

/** A real `faultline daemon` child process on a random loopback port (crash tests kill -9 it). */
export function startDaemonProcess(stateDir: string, env: Record<string, string> = {}): ChildProcess {
  rmSync(path.join(stateDir, 'daemon.url'), { force: true });
  return spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'faultline.js'), 'daemon', '--listen', '127.0.0.1:0', '--state-dir', stateDir, '--log-level', 'warn'], {
    cwd: PACKAGE_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** The URL the daemon child wrote into its state dir once listening; fails early if it exited. */
export function daemonUrlOf(stateDir: string, child: ChildProcess): Promise<string> {
  return waitFor(
    'daemon URL',
    () => {
      if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}`);
      const f = path.join(stateDir, 'daemon.url');
      return existsSync(f) ? readFileSync(f, 'utf8').trim() || undefined : undefined;
    },
    90_000,
  );
}

/** SIGTERM and wait, if it still runs. */
export async function stopDaemonProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

/** nft tables inside a network namespace. */
export const nftTables = (ns: string) => execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'tables'], { encoding: 'utf8' });
