import { readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isSameProcess, readStat } from './sys/proc';

// One daemon per state dir: two daemons replaying and reverting the same journal would fight.
// The lock names its holder by pid + start time, so a lock left by a killed daemon is taken over.

const heldHere = new Set<string>();

export async function acquireLock(stateDir: string): Promise<() => Promise<void>> {
  const file = path.join(stateDir, 'daemon.lock');
  const dir = path.resolve(stateDir);
  if (heldHere.has(dir)) throw new Error(`state dir ${stateDir} is in use by a daemon in this process`);
  try {
    const holder = JSON.parse(await readFile(file, 'utf8')) as { pid: number; startTime: number };
    if (holder.pid !== process.pid && (await isSameProcess(holder.pid, holder.startTime))) {
      throw new Error(`state dir ${stateDir} is in use by daemon pid ${holder.pid}`);
    }
  } catch (err) {
    if ((err as Error).message.startsWith('state dir')) throw err;
  }
  const me = await readStat(process.pid);
  await writeFile(file, JSON.stringify({ pid: process.pid, startTime: me?.startTime ?? 0 }));
  heldHere.add(dir);
  return async () => {
    heldHere.delete(dir);
    await unlink(file).catch(() => undefined);
  };
}
