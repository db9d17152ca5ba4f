import { readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isSameProcess, readStat } from './sys/proc';

// One daemon per state dir: two daemons replaying and reverting the same journal would fight.
// The lock names its holder by pid + start time, so a lock left by a killed daemon is taken over.
// It also names the daemon's watchdog (daemon/watchdog/): while a dead daemon's watchdog still runs
// it is reverting the journal, so a daemon starting then waits for it instead of reverting alongside.
// When the daemon dies, the watchdog first claims the lock for itself (role "watchdog"); if a new
// daemon got there first, the watchdog leaves the journal to it.

export interface ProcessRef {
  pid: number;
  startTime: number;
}

interface LockFile extends ProcessRef {
  role?: 'daemon' | 'watchdog';
  watchdog?: ProcessRef;
}

/** How long a starting daemon waits for a dead daemon's watchdog to finish reverting, before ending it. */
export const WATCHDOG_WAIT_MS = 30_000;

const heldHere = new Set<string>();
const lockFile = (stateDir: string) => path.join(stateDir, 'daemon.lock');

async function readLock(stateDir: string): Promise<LockFile | undefined> {
  try {
    return JSON.parse(await readFile(lockFile(stateDir), 'utf8')) as LockFile;
  } catch {
    return undefined;
  }
}

const alive = (r: ProcessRef | undefined) => (r ? isSameProcess(r.pid, r.startTime) : Promise.resolve(false));

async function me(): Promise<ProcessRef> {
  return { pid: process.pid, startTime: (await readStat(process.pid))?.startTime ?? 0 };
}

/** A watchdog that is still reverting: wait for it to end; after WATCHDOG_WAIT_MS it is stuck, end it and take over. */
async function waitForWatchdog(w: ProcessRef, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (await alive(w)) {
    if (Date.now() >= deadline) {
      try {
        process.kill(w.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      while (await alive(w)) await new Promise((r) => setTimeout(r, 10));
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface Lock {
  /** Records the daemon's watchdog in the lock, so a later daemon knows to wait for it. */
  setWatchdog(w: ProcessRef): Promise<void>;
  release(): Promise<void>;
}

export async function acquireLock(stateDir: string, opts: { watchdogWaitMs?: number } = {}): Promise<Lock> {
  const file = lockFile(stateDir);
  const dir = path.resolve(stateDir);
  if (heldHere.has(dir)) throw new Error(`state dir ${stateDir} is in use by a daemon in this process`);
  const holder = await readLock(stateDir);
  if (holder && holder.pid !== process.pid && (await alive(holder))) {
    if (holder.role !== 'watchdog') throw new Error(`state dir ${stateDir} is in use by daemon pid ${holder.pid}`);
    await waitForWatchdog(holder, opts.watchdogWaitMs ?? WATCHDOG_WAIT_MS);
  } else if (holder?.watchdog && (await alive(holder.watchdog))) {
    // the daemon is dead and its watchdog has not claimed the lock yet (it is about to)
    await waitForWatchdog(holder.watchdog, opts.watchdogWaitMs ?? WATCHDOG_WAIT_MS);
  }
  const self: LockFile = { ...(await me()), role: 'daemon' };
  await writeFile(file, JSON.stringify(self));
  heldHere.add(dir);
  return {
    async setWatchdog(w) {
      await writeFile(file, JSON.stringify({ ...self, watchdog: w }));
    },
    async release() {
      heldHere.delete(dir);
      await unlink(file).catch(() => undefined);
    },
  };
}

/**
 * The watchdog's side, once its daemon died: takes the lock over unless a live process other than that
 * daemon holds it (a daemon started meanwhile, which reverts the journal itself). True = go ahead.
 */
export async function claimForWatchdog(stateDir: string, daemonPid: number): Promise<boolean> {
  const holder = await readLock(stateDir);
  if (holder && holder.pid !== daemonPid && holder.pid !== process.pid && (await alive(holder))) return false;
  await writeFile(lockFile(stateDir), JSON.stringify({ ...(await me()), role: 'watchdog' } satisfies LockFile));
  return true;
}

/** Drops the watchdog's claim (only its own: a daemon may have taken the lock after a long wait). */
export async function releaseWatchdogClaim(stateDir: string): Promise<void> {
  const holder = await readLock(stateDir);
  if (holder?.pid === process.pid) await unlink(lockFile(stateDir)).catch(() => undefined);
}

/** The lock as it is on disk (tests and `faultline daemon` diagnostics). */
export async function lockHolder(stateDir: string): Promise<LockFile | undefined> {
  return readLock(stateDir);
}
