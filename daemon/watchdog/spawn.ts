import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../paths';
import { readStat } from '../sys/proc';
import type { ProcessRef } from '../lock';
import { BYE, READY } from './protocol';

// The daemon's side of its watchdog (main.ts there says what the watchdog does). Spawned detached, so
// it has its own session and process group: kill -9 of the daemon, of `faultline start` around it, or
// of their whole process group leaves the watchdog running. Its stdin is a pipe only the daemon writes
// to (node opens its pipes close-on-exec, so no tool or stressor the daemon runs inherits it): when the
// daemon dies the kernel closes it. Its log goes to <state-dir>/watchdog.log.

export interface Watchdog extends ProcessRef {
  /** Resolves once the watchdog has loaded the recover code (the 1 s promise holds from then on). */
  ready: Promise<void>;
  /** A deliberate stop: the watchdog exits without reverting anything. Resolves once it is gone. */
  dismiss(timeoutMs?: number): Promise<void>;
}

const ENTRY = path.join(PACKAGE_ROOT, 'daemon', 'watchdog', 'main.ts');
const RUN_TS = path.join(PACKAGE_ROOT, 'bin', 'run-ts.js');
// Lite mode (no optimizing compiler) and a small young generation: the watchdog idles for the daemon's
// whole life, so memory matters more than speed. (Node 24 refuses --no-expose-wasm: exit code 9.)
const V8_FLAGS = ['--lite-mode', '--max-semi-space-size=1'];

export async function startWatchdog(stateDir: string, readyTimeoutMs = 60_000): Promise<Watchdog> {
  const logFd = openSync(path.join(stateDir, 'watchdog.log'), 'a', 0o600);
  let child: ChildProcess;
  try {
    // V8 in lite mode (no optimizing JIT) with a small young generation: the watchdog runs little code,
    // once; this takes its resident memory from ~105 to ~73 MiB and its start from ~1.7 to ~1.45 s of CPU
    child = spawn(process.execPath, [...V8_FLAGS, RUN_TS, ENTRY, path.resolve(stateDir), String(process.pid)], {
      detached: true,
      stdio: ['pipe', 'pipe', logFd],
      cwd: PACKAGE_ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
  } finally {
    closeSync(logFd);
  }
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('spawn', () => resolve(child.pid as number));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Neither the child nor our end of its pipes keeps this process alive; the pipe stays open until we die.
  child.unref();
  child.stdin!.on('error', () => undefined);
  (child.stdin as unknown as { unref?(): void }).unref?.();
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.stdout!.destroy();
      reject(new Error(`the watchdog did not start within ${readyTimeoutMs} ms (see watchdog.log)`));
    }, readyTimeoutMs);
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      out += d;
      if (!out.includes(READY)) return;
      clearTimeout(timer);
      child.stdout!.destroy();
      resolve();
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      child.stdout!.destroy();
      reject(new Error(`the watchdog exited (${code ?? sig}) before it was ready (see watchdog.log)`));
    });
  });
  // (stdout stays referenced until the answer: it is what keeps a daemon that is only starting alive)
  ready.catch(() => undefined);
  const startTime = (await readStat(pid))?.startTime ?? -1;
  let dismissed: Promise<void> | undefined;
  return {
    pid,
    startTime,
    ready,
    dismiss(timeoutMs = 5000) {
      return (dismissed ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.ref(); // waiting for its exit must keep us alive
        child.stdin!.end(BYE);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
        clearTimeout(timer);
        child.unref();
      })());
    },
  };
}
