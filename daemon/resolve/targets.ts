import { ApiError } from '../../api/errors';
import { compileUserRegex } from '../../api/regex';
import type { DaemonTarget, ResolvedProcess } from '../../api/daemon';
import type { KindSpec } from '../../api/kinds/types';
import * as cgroup from '../sys/cgroup';
import { resolveContainer } from '../sys/containers';
import { pathExists } from '../sys/fs';
import { netnsPathOf } from '../sys/ip';
import { cgroupsOf, cmdlineOf, isKernelThread, listPids, netnsIdOf, readStat, type ProcStat } from '../sys/proc';
import type { ResolvedTarget } from '../faults/types';
import type { Protection } from './protect';

// Turns a wire target ({pid}, {processName}, {cgroup}, {netns}, {interface}) into what a kind acts on:
// processes pinned with their start time, a network namespace path, a cgroup. Everything is checked
// here, before anything is journaled: a bad target is a 400/422 naming the field.

const invalidTarget = (field: string, reason: string) => new ApiError(422, 'unprocessable', `${field} ${reason}`, [{ field, reason }]);

function pin(st: ProcStat): ResolvedProcess {
  return { pid: st.pid, startTime: st.startTime, comm: st.comm };
}

async function byPid(t: DaemonTarget, guard: Protection): Promise<ProcStat> {
  const pid = t.pid as number;
  const st = await readStat(pid);
  if (!st || st.state === 'Z') throw invalidTarget('/target/pid', `process ${pid} does not exist`);
  if (isKernelThread(st)) throw ApiError.invalid(`invalid request: /target/pid ${pid} (${st.comm}) is a kernel thread`, [{ field: '/target/pid', reason: 'is a kernel thread, never a target' }]);
  const why = guard.reasonFor(st);
  if (why) throw new ApiError(422, 'unprocessable', `/target/pid ${why}`, [{ field: '/target/pid', reason: why }]);
  if (t.pidStartTime !== undefined && t.pidStartTime !== st.startTime) {
    throw invalidTarget('/target/pidStartTime', `process ${pid} started at ${st.startTime}, not ${t.pidStartTime}: the pid was reused`);
  }
  return st;
}

async function byName(pattern: string, guard: Protection): Promise<ProcStat[]> {
  // RE2, linear in the command line: a hostile pattern must not block the daemon's event loop (the stop path).
  const re = compileUserRegex(pattern, { anchored: false, field: '/target/processName' });
  const out: ProcStat[] = [];
  let protectedHits = 0;
  for (const pid of await listPids()) {
    const st = await readStat(pid);
    if (!st || st.state === 'Z' || st.pid === 2 || st.ppid === 2) continue; // gone, zombie, kernel thread
    const cmd = await cmdlineOf(pid);
    if (!re.test(st.comm) && !(cmd && re.test(cmd))) continue;
    if (guard.reasonFor(st)) protectedHits++;
    else out.push(st);
  }
  if (out.length === 0) {
    const reason = protectedHits ? `matches only protected processes (${protectedHits})` : 'matches no running process';
    throw invalidTarget('/target/processName', reason);
  }
  return out;
}

async function byCgroup(cg: string, guard: Protection): Promise<{ path: string; procs: ProcStat[] }> {
  let path: string;
  try {
    path = cgroup.normalize(cg);
  } catch (err) {
    throw ApiError.invalid(`invalid request: /target/cgroup ${(err as Error).message}`, [{ field: '/target/cgroup', reason: (err as Error).message }]);
  }
  if ((await cgroup.dirsOf(path)).size === 0) throw invalidTarget('/target/cgroup', `cgroup ${path} does not exist`);
  await refuseOwnCgroup(path, guard);
  const procs: ProcStat[] = [];
  for (const pid of await cgroup.pidsOf(path)) {
    const st = await readStat(pid);
    if (st && st.state !== 'Z' && !isKernelThread(st) && !guard.reasonFor(st)) procs.push(st);
  }
  return { path, procs };
}

/**
 * A cgroup that holds the daemon, its parent or its watchdog (in any hierarchy, directly or in a
 * cgroup beneath it) is never a selection: pausing its processes, or filling it with stressors and
 * their memory, would stop or starve the very processes that revert the fault (a paused exporter
 * pausing itself again, in a loop). Refused with the reason, not silently narrowed.
 */
async function refuseOwnCgroup(cg: string, guard: Protection): Promise<void> {
  for (const self of guard.selfPids()) {
    for (const mine of new Set((await cgroupsOf(self.pid)).values())) {
      if (mine === cg || cg === '/' || mine.startsWith(cg + '/')) {
        const reason = `contains ${self.what} (pid ${self.pid}, in ${mine})`;
        throw ApiError.unprocessable(`/target/cgroup ${cg} ${reason}`, [{ field: '/target/cgroup', reason }]);
      }
    }
  }
}

async function netnsOf(t: DaemonTarget): Promise<{ path: string; name?: string } | undefined> {
  if (!t.netns) return undefined;
  if (t.netns.startsWith('/proc/')) {
    if (!(await pathExists(t.netns))) throw invalidTarget('/target/netns', `${t.netns} does not exist`);
    return { path: t.netns };
  }
  const path = netnsPathOf(t.netns);
  if (!(await pathExists(path))) throw invalidTarget('/target/netns', `no network namespace named ${t.netns} (under /run/netns)`);
  return { path, name: t.netns };
}

export async function resolveTarget(target: DaemonTarget | undefined, spec: KindSpec, guard: Protection): Promise<ResolvedTarget> {
  const t = target ?? {};
  const selectsProcesses = t.pid !== undefined || t.processName !== undefined || t.cgroup !== undefined || t.containerId !== undefined;
  if (spec.targetRequired && !target) throw ApiError.invalid('invalid request: /target is required for ' + spec.kind, [{ field: '/target', reason: `is required for ${spec.kind}` }]);
  if (spec.scope === 'process' && !selectsProcesses) {
    throw ApiError.invalid(`invalid request: /target needs pid, processName, cgroup or containerId for ${spec.kind}`, [
      { field: '/target', reason: 'needs pid, processName, cgroup or containerId' },
    ]);
  }
  if (t.pidStartTime !== undefined && t.pid === undefined) {
    throw ApiError.invalid('invalid request: /target/pidStartTime needs /target/pid', [{ field: '/target/pidStartTime', reason: 'needs pid' }]);
  }
  if (t.interface !== undefined && spec.scope !== 'network') {
    throw ApiError.invalid(`invalid request: /target/interface does not apply to ${spec.kind}`, [{ field: '/target/interface', reason: `does not apply to ${spec.kind}` }]);
  }

  let procs: ProcStat[] = [];
  let cgPath: string | undefined;
  if (t.pid !== undefined) procs = [await byPid(t, guard)];
  if (t.processName !== undefined) procs = mergeFilter(procs, await byName(t.processName, guard), t.pid !== undefined);
  if (t.cgroup !== undefined) {
    const r = await byCgroup(t.cgroup, guard);
    cgPath = r.path;
    if (spec.scope !== 'host') procs = mergeFilter(procs, r.procs, t.pid !== undefined || t.processName !== undefined);
    if (spec.scope === 'process' && procs.length === 0) throw invalidTarget('/target/cgroup', 'holds no process that may be targeted');
  }

  if (t.containerId !== undefined) {
    // A pod's container (Kubernetes mode): its main process, its cgroup; network kinds follow its netns below.
    const c = await resolveContainer(t.containerId);
    const why = guard.reasonFor(c.main);
    if (why) throw new ApiError(422, 'unprocessable', `/target/containerId ${why}`, [{ field: '/target/containerId', reason: why }]);
    procs = [c.main];
    cgPath ??= c.cgroup;
  }

  const resolved: ResolvedTarget = { processes: procs.map(pin) };
  if (cgPath !== undefined) resolved.cgroup = cgPath;
  if (t.interface) resolved.interface = t.interface;

  if (spec.scope === 'network') {
    const ns = await netnsOf(t);
    if (ns) {
      resolved.netnsPath = ns.path;
      if (ns.name) resolved.netnsName = ns.name;
    } else if (procs.length) {
      // a process target: act in its network namespace (the first one's; they usually share it)
      resolved.netnsPath = `/proc/${procs[0].pid}/ns/net`;
    }
    if (resolved.netnsPath) {
      const id = await netnsIdOf(resolved.netnsPath);
      if (id) resolved.netnsId = id;
    }
  }
  return resolved;
}

/** Several selectors narrow each other (pid AND processName AND cgroup). */
function mergeFilter(current: ProcStat[], next: ProcStat[], narrow: boolean): ProcStat[] {
  if (!narrow) return next;
  const keep = new Set(next.map((p) => p.pid));
  return current.filter((p) => keep.has(p.pid));
}

/** The cgroup a process is in for one controller ('' = unified); for placing stressors beside it. */
export async function cgroupOfProcess(pid: number, controller: string): Promise<string | undefined> {
  return (await cgroupsOf(pid)).get(controller);
}
