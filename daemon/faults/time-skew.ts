import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import spec, { clockMask, MAX_OFFSET_MS, parseOffset, splitOffset } from '../../api/kinds/time-skew';
import { ApiError } from '../../api/errors';
import type { ResolvedProcess } from '../../api/daemon';
import { PACKAGE_ROOT } from '../paths';
import { run, ToolError } from '../sys/exec';
import { isSameProcess, listPids, readStat } from '../sys/proc';
import { requireProcesses } from './pinned-processes';
import { defineFault, type Support } from './types';

// Time skew, as Chaos Mesh's TimeChaos does it: the native helper (daemon/native/timeskew.c, built from
// source at install) ptrace-stops each target process, maps a page of code that adds the offset, and
// points the entries of its vDSO clock functions there. This file runs the helper per process and
// journals what undoing needs: pid + start time before the helper touches anything, then the patched
// vDSO addresses and their original bytes. Recovery hands those back to the helper, which restores
// only a jump of its own (idempotent: a restored or exited process is done).
//
// Dead-man switch: the injected code stops adding the offset once CLOCK_MONOTONIC passes a deadline in its
// page, which this daemon pushes forward while the fault lives. A daemon killed and not restarted leaves
// the jumps in place, but the processes read correct time again within DEADMAN_S; a restarted daemon
// then restores the bytes from the journal.

export const HELPER = path.join(PACKAGE_ROOT, 'daemon', 'native', 'build', 'faultline-timeskew');

/** The helper's exit statuses (see timeskew.c). */
const CANNOT = 3;
const GONE = 4;

interface Patch {
  symbol: string;
  addr: string;
  orig: string;
}

/** One target process: pinned by pid + start time; `patches` once the helper reported them. */
interface Skewed {
  pid: number;
  startTime: number;
  comm?: string;
  page?: string;
  /** Address of the dead-man deadline in the page. */
  until?: string;
  vdso?: string;
  patches?: Patch[];
}

type State = { processes: Skewed[] };

/** Seconds the skew outlives its last renewal (the env knob lets tests wait seconds, not a minute). */
const DEADMAN_S = Math.max(2, Math.min(3600, Number(process.env.FAULTLINE_TIMESKEW_DEADMAN_SECONDS) || 60));

/** CLOCK_MONOTONIC seconds, the clock the injected code compares with (node's hrtime reads it too). */
const monotonicSeconds = () => Number(process.hrtime.bigint() / 1_000_000_000n);

/** Renewal timers of the live faults of this daemon, by fault id. */
const renewals = new Map<string, { timer: NodeJS.Timeout; processes: Skewed[] }>();

/**
 * Writes the new deadline into each process's page: CLOCK_MONOTONIC seconds, then the same moment in
 * CLOCK_REALTIME seconds (two aligned 8-byte stores; the process keeps running).
 */
function renew(processes: Skewed[]): void {
  const until = Buffer.alloc(16);
  until.writeBigUInt64LE(BigInt(monotonicSeconds() + DEADMAN_S), 0);
  until.writeBigUInt64LE(BigInt(Math.floor(Date.now() / 1000) + DEADMAN_S), 8);
  for (const p of processes) {
    if (!p.until) continue;
    let fd: number | undefined;
    try {
      fd = openSync(`/proc/${p.pid}/mem`, 'r+');
      writeSync(fd, until, 0, 16, Number(p.until));
    } catch {
      /* gone, or exec'd (a new image has no jump); recovery decides, this only keeps the skew alive */
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}

function startRenewal(id: string, processes: Skewed[]): void {
  stopRenewal(id);
  const timer = setInterval(() => renew(processes), (DEADMAN_S * 1000) / 4);
  timer.unref();
  renewals.set(id, { timer, processes });
}

function stopRenewal(id: string): void {
  const r = renewals.get(id);
  if (r) clearInterval(r.timer);
  renewals.delete(id);
}

async function helper(args: string[]): Promise<{ ok: true; out: string } | { ok: false; code: number | string | null; message: string }> {
  try {
    return { ok: true, out: await run(HELPER, args, { timeoutMs: 20_000 }) };
  } catch (err) {
    if (err instanceof ToolError) return { ok: false, code: err.code, message: err.stderr.trim() || String(err.code) };
    throw err;
  }
}

function offsetOf(text: string): number {
  let ms: number;
  try {
    ms = parseOffset(text);
  } catch (err) {
    throw ApiError.invalid(`invalid params: /params/offset ${(err as Error).message}`, [{ field: '/params/offset', reason: 'must be a signed duration such as -1h, +30m or 90s' }]);
  }
  if (ms === 0) throw ApiError.invalid('invalid params: /params/offset must not be zero', [{ field: '/params/offset', reason: 'must not be zero' }]);
  if (Math.abs(ms) > MAX_OFFSET_MS) throw ApiError.invalid('invalid params: /params/offset is more than ten years', [{ field: '/params/offset', reason: 'must be at most ten years either way' }]);
  return ms;
}

function cannot(p: ResolvedProcess, message: string): ApiError {
  return ApiError.unprocessable(`time-skew cannot work on process ${p.pid} (${p.comm}): ${message}`, [{ field: '/target', reason: message }]);
}

function ptraceScope(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A process's live children (zombies left out), with their start times. */
type ChildrenOf = (pid: number) => Promise<{ pid: number; startTime: number }[]>;

/** Whether this kernel lists each thread's children (CONFIG_PROC_CHILDREN). */
const PROC_CHILDREN = existsSync(`/proc/self/task/${process.pid}/children`);

/**
 * From /proc/<pid>/task/<tid>/children: a few reads for a target that forked little, where a scan of
 * every process on the node took 2.5-5 ms per target here (72 processes) and grows with the node.
 */
const childrenFromProc: ChildrenOf = async (pid) => {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return []; // gone
  }
  const out: { pid: number; startTime: number }[] = [];
  for (const tid of tids) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue; // the thread ended
    }
    for (const child of text.split(' ').filter(Boolean).map(Number)) {
      const st = await readStat(child);
      if (st && st.state !== 'Z') out.push({ pid: child, startTime: st.startTime });
    }
  }
  return out;
};

/** Without that file: every process on the node read once, for the whole recover. */
async function childrenFromScan(): Promise<ChildrenOf> {
  const children = new Map<number, { pid: number; startTime: number }[]>();
  for (const pid of await listPids()) {
    const st = await readStat(pid);
    if (!st || st.state === 'Z') continue;
    const list = children.get(st.ppid) ?? [];
    list.push({ pid, startTime: st.startTime });
    children.set(st.ppid, list);
  }
  return async (pid) => children.get(pid) ?? [];
}

/**
 * Processes forked by `root` (at any depth) since `since` (clock ticks since boot): a fork copies the
 * patched vDSO and the page, so a child started during the fault reads skewed time too, and recovery
 * restores it with the same page address. (A child whose parent already exited is reparented and
 * no longer found here.)
 */
async function descendants(childrenOf: ChildrenOf, root: number, since: number): Promise<{ pid: number; startTime: number }[]> {
  const out: { pid: number; startTime: number }[] = [];
  const queue = [root];
  while (queue.length) {
    for (const c of await childrenOf(queue.shift()!)) {
      if (c.startTime < since) continue; // older than the process itself: pid reuse, not its fork
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

/** Restores one skewed process and the processes it forked meanwhile; what could not be restored. */
async function recoverProcess(p: Skewed, childrenOf: ChildrenOf | undefined, log: { debug(o: object, msg: string): void }): Promise<string[]> {
  const failures: string[] = [];
  // children it forked meanwhile carry the same jump into the same page: only that page's jumps
  if (p.page && childrenOf) {
    for (const c of await descendants(childrenOf, p.pid, p.startTime)) {
      const r = await helper(['recover', String(c.pid), `page=${p.page}`]);
      if (!r.ok && r.code !== GONE && (await isSameProcess(c.pid, c.startTime))) failures.push(`process ${c.pid} (forked by ${p.pid}): ${r.message}`);
    }
  }
  // with the page known, only this fault's jumps are undone; without it (a crash before the helper
  // answered) any jump of ours is this fault's, since a second skew of one process is refused
  const r = await helper(['recover', String(p.pid), ...(p.page ? [`page=${p.page}`] : []), ...(p.patches ?? []).map((x) => `${x.addr}=${x.orig}`)]);
  if (!r.ok && r.code !== GONE) failures.push(`process ${p.pid}: ${r.message}`);
  else if (r.ok) log.debug({ pid: p.pid, result: r.out.trim() }, 'time-skew recovered');
  return failures;
}

export default defineFault({
  spec,
  support(caps): Support {
    if (process.platform !== 'linux' || process.arch !== 'x64') return { supported: false, reason: `needs Linux on x86-64 (this is ${process.platform}/${process.arch})` };
    if (!caps.root?.available) return { supported: false, reason: 'needs root (CAP_SYS_PTRACE)' };
    if (ptraceScope() === '3') return { supported: false, reason: 'kernel.yama.ptrace_scope=3 forbids ptrace on this host' };
    if (!existsSync(HELPER)) return { supported: false, reason: `the native helper is not built (${path.relative(PACKAGE_ROOT, HELPER)}): run \`node daemon/native/build.js\` with a C compiler (gcc, libc6-dev)` };
    return { supported: true };
  },
  async precheck(params, target) {
    offsetOf(params.offset);
    requireProcesses(target.processes);
    // What can be known without ptrace (a vDSO with clock_gettime, a program that calls it) is checked
    // for every process before any of them is touched.
    for (const p of target.processes) {
      const r = await helper(['probe', String(p.pid)]);
      if (!r.ok && r.code === CANNOT) throw cannot(p, r.message);
      if (!r.ok && r.code !== GONE) throw new Error(`time-skew helper probe failed: ${r.message}`);
    }
  },
  async inject(ctx) {
    const { sec, nsec } = splitOffset(offsetOf(ctx.params.offset));
    const mask = clockMask(ctx.params.clocks);
    const done: Skewed[] = [];
    for (const p of ctx.target.processes) {
      if (ctx.signal.aborted) break;
      if (!(await isSameProcess(p.pid, p.startTime))) continue;
      const entry: Skewed = { pid: p.pid, startTime: p.startTime, comm: p.comm };
      done.push(entry);
      // journaled before the helper writes anything: a crash mid-way still finds this process
      await ctx.save({ processes: done });
      const r = await helper(['inject', String(p.pid), String(sec), String(nsec), mask.toString(), String(monotonicSeconds() + DEADMAN_S)]);
      if (!r.ok) {
        // GONE and CANNOT come before the helper changes anything (timeskew.c): nothing here to undo,
        // and recovering it could undo another fault's skew of the same process
        if (r.code === GONE || r.code === CANNOT) {
          done.pop();
          await ctx.save({ processes: done });
          if (r.code === GONE) continue;
          throw cannot(p, r.message);
        }
        throw new Error(`time-skew helper failed on process ${p.pid}: ${r.message}`);
      }
      const out = JSON.parse(r.out) as { page: string; until: string; vdso: string; patches: Patch[] };
      Object.assign(entry, { page: out.page, until: out.until, vdso: out.vdso, patches: out.patches });
      await ctx.save({ processes: done });
      startRenewal(ctx.id, done);
    }
    if (done.length === 0) throw ApiError.unprocessable('every target process exited before its clock could be shifted', [{ field: '/target', reason: 'no live process' }]);
    return { processes: done } as State;
  },
  async recover(ctx, state) {
    stopRenewal(ctx.id);
    // a pid now held by another program is not ours to touch; the one we skewed is gone, so done
    const live: Skewed[] = [];
    for (const p of (state.processes ?? []) as Skewed[]) if (await isSameProcess(p.pid, p.startTime)) live.push(p);
    // Each target's forks from its children files, or from one scan of /proc for all targets where
    // the kernel has none. The targets stay one after another: a target's forks can be targets too (a
    // server's workers), and two helpers cannot ptrace one process at once.
    const childrenOf = live.some((p) => p.page) ? (PROC_CHILDREN ? childrenFromProc : await childrenFromScan()) : undefined;
    const failures: string[] = [];
    for (const p of live) failures.push(...(await recoverProcess(p, childrenOf, ctx.log)));
    if (failures.length) throw new Error(`time-skew recovery failed: ${failures.join('; ')}`);
  },
});
