import { readdir } from 'node:fs/promises';
import type { DaemonTargetCandidate } from '../../api/daemon';
import { redactCommandLine } from '../../api/redact';
import type { UserRegex } from '../../api/regex';
import { cgroupsOf, cmdlineOf, listPids, netnsIdOf, readStat } from '../sys/proc';
import type { Protection } from './protect';

// `GET /v1/targets`: what a selector could pick on this host, so the exporter can resolve a process
// selector to pinned pids (pid + start time) before it asks for anything. Read-only: every target is
// resolved and checked again when a fault is created. Protected processes, kernel threads and zombies
// are left out, so a selector never even sees them.

const MAX_CMDLINE = 512;

async function describeProcess(pid: number, protection: Protection, details: boolean, name?: UserRegex): Promise<DaemonTargetCandidate | undefined> {
  const st = await readStat(pid);
  // gone, zombie, or a kernel thread (kthreadd and its children)
  if (!st || st.state === 'Z' || pid === 2 || st.ppid === 2) return undefined;
  if (protection.reasonFor(st)) return undefined;
  const cmdline = await cmdlineOf(pid);
  if (name && !name.test(st.comm) && !name.test(cmdline)) return undefined;
  const c: DaemonTargetCandidate = {
    pid,
    pidStartTime: st.startTime,
    processName: st.comm,
    cmdline: redactCommandLine(cmdline).slice(0, MAX_CMDLINE), // for every caller: secrets never leave the host
    description: `pid ${pid} (${st.comm})`,
  };
  if (details) {
    const cgroups = await cgroupsOf(pid);
    const cgroup = cgroups.get('') ?? cgroups.values().next().value;
    if (cgroup) c.cgroup = cgroup;
    const netns = await netnsIdOf(`/proc/${pid}/ns/net`);
    if (netns) c.netns = netns;
  }
  return c;
}

/**
 * Candidates on this host. Narrowed (what a selector asks, identity only): `pids` lists those (no scan
 * of /proc), `processName` the processes whose comm or command line matches. Otherwise (what a person
 * browsing targets asks) every process with its cgroup and netns, plus the named network namespaces
 * under /run/netns.
 */
export async function listCandidates(protection: Protection, opts: { pids?: number[]; processName?: UserRegex } = {}): Promise<DaemonTargetCandidate[]> {
  const narrowed = !!opts.pids || !!opts.processName;
  const pids = opts.pids ?? (await listPids());
  const found = await Promise.all(pids.map((pid) => describeProcess(pid, protection, !narrowed, opts.processName)));
  const out = found.filter((c): c is DaemonTargetCandidate => !!c);
  if (!narrowed) {
    for (const ns of await readdir('/run/netns').catch(() => [] as string[])) out.push({ netns: ns, description: `network namespace ${ns}` });
  }
  return out;
}
