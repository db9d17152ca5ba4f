import { readFileSync } from 'node:fs';
import { readFile, readdir, readlink } from 'node:fs/promises';

// Reading /proc: process identity (pid + start time, so a reused pid is never hit), state,
// command line, cgroups and network namespace.

export interface ProcStat {
  pid: number;
  comm: string;
  /** R, S, D, T, t, Z, ... */
  state: string;
  ppid: number;
  /** Clock ticks since boot (field 22); with the pid it names one process for ever. */
  startTime: number;
  /** User + system CPU time in clock ticks (fields 14 + 15). */
  cpuTicks: number;
  /** Resident set size in pages (field 24). */
  rssPages: number;
  /** Kernel flags (field 9): PF_KTHREAD marks a kernel thread. */
  flags: number;
}

const PF_KTHREAD = 0x00200000;

/** A kernel thread (kthreadd, its children, or anything flagged PF_KTHREAD): never a target, it has no user process to act on. */
export function isKernelThread(st: Pick<ProcStat, 'pid' | 'ppid' | 'flags'>): boolean {
  return st.pid === 2 || st.ppid === 2 || (st.flags & PF_KTHREAD) !== 0;
}

/**
 * Parses /proc/<pid>/stat; undefined when the process is gone. Read synchronously on purpose: the kernel
 * renders this small file from memory without blocking, so a sync read takes microseconds, while the
 * async one queues open/read/close on libuv's 4-thread pool; reverting a hundred paused processes at
 * once spent ~20 ms in that queue before the first SIGCONT.
 */
export async function readStat(pid: number): Promise<ProcStat | undefined> {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return parseStat(text);
}

export function parseStat(text: string): ProcStat | undefined {
  // comm is in parentheses and may itself contain spaces and parentheses: split at the last ')'.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < 0) return undefined;
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); field N is rest[N - 3].
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: rest[0],
    ppid: Number(rest[1]),
    cpuTicks: Number(rest[11]) + Number(rest[12]),
    startTime: Number(rest[19]),
    rssPages: Number(rest[21]),
    flags: Number(rest[6]),
  };
}

/** The process's start time, or undefined when gone. */
export async function startTimeOf(pid: number): Promise<number | undefined> {
  return (await readStat(pid))?.startTime;
}

/** Whether `pid` is still the process that started at `startTime` (and is not a zombie). */
export async function isSameProcess(pid: number, startTime: number): Promise<boolean> {
  const st = await readStat(pid);
  return !!st && st.startTime === startTime && st.state !== 'Z';
}

/** isSameProcess without a promise, for listings built synchronously (one small /proc read). */
export function isSameProcessNow(pid: number, startTime: number): boolean {
  try {
    const st = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return !!st && st.startTime === startTime && st.state !== 'Z';
  } catch {
    return false;
  }
}

export async function listPids(): Promise<number[]> {
  const names = await readdir('/proc');
  return names.filter((n) => /^[0-9]+$/.test(n)).map(Number);
}

/** Command line with NULs as spaces ('' for kernel threads or gone processes). */
export async function cmdlineOf(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0+$/, '').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Controller → cgroup path, from /proc/<pid>/cgroup ('' key = the unified v2 hierarchy). */
export async function cgroupsOf(pid: number): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let text = '';
  try {
    text = await readFile(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const m = /^[0-9]+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const ctrl of m[1].split(',')) out.set(ctrl, m[2]);
  }
  return out;
}

/** Inode identity of a network namespace file ("net:[4026531992]"), or undefined. */
export async function netnsIdOf(path: string): Promise<string | undefined> {
  try {
    return await readlink(path);
  } catch {
    return undefined;
  }
}

/** Clock ticks per second (USER_HZ); 100 on every Linux this runs on. */
export const CLK_TCK = 100;

/** Kernel page size in bytes; 4096 on x86-64 and most arm64 kernels. */
export const PAGE_SIZE = 4096;

/** MemTotal / MemAvailable in bytes. */
export async function memInfo(): Promise<{ total: number; available: number }> {
  const text = await readFile('/proc/meminfo', 'utf8');
  const get = (k: string) => Number(new RegExp(`^${k}:\\s+([0-9]+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { total: get('MemTotal'), available: get('MemAvailable') };
}
