import { appendFile, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathExists } from './fs';

// cgroup v1 (per-controller mounts), v2 (unified) and the hybrid of both. The daemon only needs
// two things: which processes a cgroup holds, and putting its own stressor processes into one.

const ROOT = '/sys/fs/cgroup';

export interface CgroupLayout {
  /** 'v1', 'v2' or 'hybrid' (v1 controllers plus a v2 tree at /sys/fs/cgroup/unified). */
  mode: 'v1' | 'v2' | 'hybrid' | 'none';
  /** Hierarchy roots keyed by controller ('' = unified). */
  roots: Map<string, string>;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

let cached: CgroupLayout | undefined;

export async function layout(): Promise<CgroupLayout> {
  if (cached) return cached;
  const roots = new Map<string, string>();
  if (await pathExists(path.join(ROOT, 'cgroup.controllers'))) {
    roots.set('', ROOT);
    cached = { mode: 'v2', roots };
    return cached;
  }
  for (const ctrl of ['cpu', 'cpuacct', 'memory', 'blkio', 'pids', 'freezer']) {
    if (await pathExists(path.join(ROOT, ctrl, 'cgroup.procs'))) roots.set(ctrl, path.join(ROOT, ctrl));
  }
  if (await pathExists(path.join(ROOT, 'unified', 'cgroup.procs'))) roots.set('', path.join(ROOT, 'unified'));
  const v1 = [...roots.keys()].some((k) => k !== '');
  cached = { mode: v1 ? (roots.has('') ? 'hybrid' : 'v1') : roots.has('') ? 'v2' : 'none', roots };
  return cached;
}

/** Normalizes a cgroup path ("/a/b"), refusing `..` so it never leaves the hierarchy. */
export function normalize(cg: string): string {
  const parts = cg.split('/').filter((p) => p && p !== '.');
  if (parts.includes('..')) throw new Error('a cgroup path may not contain ".."');
  return '/' + parts.join('/');
}

/** Directories for `cg` in each hierarchy that has it (controller → dir). */
export async function dirsOf(cg: string, controllers?: string[]): Promise<Map<string, string>> {
  const { roots } = await layout();
  const out = new Map<string, string>();
  for (const [ctrl, root] of roots) {
    if (controllers && !controllers.includes(ctrl)) continue;
    const dir = path.join(root, normalize(cg));
    if (await isDir(dir)) out.set(ctrl, dir);
  }
  return out;
}

/** Pids in a cgroup (union over hierarchies; not recursive). */
export async function pidsOf(cg: string): Promise<number[]> {
  const pids = new Set<number>();
  for (const dir of (await dirsOf(cg)).values()) {
    try {
      for (const line of (await readFile(path.join(dir, 'cgroup.procs'), 'utf8')).split('\n')) if (line) pids.add(Number(line));
    } catch {
      /* a hierarchy we cannot read */
    }
  }
  return [...pids];
}

/**
 * Moves `pid` into `cg` in the hierarchies of `controllers` ('' = unified) where the cgroup exists.
 * Returns the directories it was placed in; throws when it could be placed nowhere.
 */
export async function place(pid: number, cg: string, controllers: string[]): Promise<string[]> {
  const placed: string[] = [];
  const errors: string[] = [];
  for (const dir of (await dirsOf(cg, controllers)).values()) {
    try {
      await appendFile(path.join(dir, 'cgroup.procs'), `${pid}\n`);
      placed.push(dir);
    } catch (err) {
      errors.push(`${dir}: ${(err as Error).message}`);
    }
  }
  if (placed.length === 0) throw new Error(`could not place pid ${pid} in cgroup ${cg}${errors.length ? `: ${errors.join('; ')}` : ' (no such cgroup)'}`);
  return placed;
}
