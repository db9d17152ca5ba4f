import { ApiError } from '../../api/errors';
import * as cgroup from '../sys/cgroup';
import { cgroupsOf } from '../sys/proc';
import { killStressors, spawnStressor, type StressorRef, type StressorScript } from '../stressors/spawn';
import type { FaultContext, ResolvedTarget, Support } from './types';

// Shared by the stressor kinds (cpu, memory, disk-io): start N worker processes, record each one in
// the journal right after it starts, put it into the target's cgroup, and kill them all on recover.

export type StressorState = { stressors: StressorRef[]; placedIn?: string[] } & Record<string, unknown>;

/** Puts `pid` into the target's cgroup for `controllers`: the named cgroup, or the target process's. */
async function placeInTarget(pid: number, target: ResolvedTarget, controllers: string[]): Promise<string[]> {
  if (target.cgroup) return cgroup.place(pid, target.cgroup, controllers);
  const first = target.processes[0];
  if (!first) return [];
  const theirs = await cgroupsOf(first.pid);
  const placed: string[] = [];
  for (const ctrl of controllers) {
    const cg = theirs.get(ctrl);
    if (cg !== undefined) placed.push(...(await cgroup.place(pid, cg, [ctrl]).catch(() => [])));
  }
  return placed;
}

export async function precheckCgroup(target: ResolvedTarget, controllers: string[]): Promise<void> {
  if (target.cgroup && (await cgroup.dirsOf(target.cgroup, controllers)).size === 0) {
    throw ApiError.unprocessable(`cgroup ${target.cgroup} does not exist for ${controllers.filter(Boolean).join('/') || 'the unified hierarchy'}`, [
      { field: '/target/cgroup', reason: 'no such cgroup' },
    ]);
  }
}

export async function startStressors(
  ctx: FaultContext<unknown>,
  script: StressorScript,
  workers: number,
  argsFor: (i: number) => string[],
  controllers: string[],
  extra: Record<string, unknown> = {},
): Promise<StressorState> {
  const state: StressorState = { ...extra, stressors: [], placedIn: [] };
  for (let i = 0; i < workers; i++) {
    if (ctx.signal.aborted) throw new Error('aborted while starting stressors');
    const ref = await spawnStressor(script, [...argsFor(i), ...(ctx.journalFile ? [ctx.journalFile] : [])]);
    state.stressors.push(ref);
    await ctx.save(state);
    try {
      const dirs = await placeInTarget(ref.pid, ctx.target, controllers);
      for (const d of dirs) if (!state.placedIn!.includes(d)) state.placedIn!.push(d);
    } catch (err) {
      throw ApiError.unprocessable(`cannot place stressors in the target cgroup: ${(err as Error).message}`, [{ field: '/target/cgroup', reason: (err as Error).message }]);
    }
  }
  await ctx.save(state);
  return state;
}

export async function stopStressors(state: Partial<StressorState>): Promise<void> {
  await killStressors(state.stressors);
}

/** Stressors are plain processes: any Linux host can run them; cgroup placement needs root. */
export function stressorSupport(): Support {
  return { supported: true };
}

/** Controllers (v1 names, '' = unified) a kind's stressors join. */
export const CPU_CONTROLLERS = ['cpu', 'cpuacct', ''];
export const MEMORY_CONTROLLERS = ['memory', ''];
export const IO_CONTROLLERS = ['blkio', ''];
