import { readFileSync } from 'node:fs';
import { ApiError } from '../../api/errors';
import type { ExperimentSpec } from '../../api/experiment';
import { KIND_SPECS } from '../../api/kinds/index';
import type { DaemonRegistry } from '../daemons';
import type { ResolvedTarget } from '../targets/types';

// The exporter never aims a process fault at itself. Pids are refused by target resolution
// (targets/local.ts: pid 1, the exporter, its parent, local daemons); this refuses a cgroup
// selection that holds one of them, which a pid list cannot show: pausing a cgroup the exporter
// runs in stops the exporter (and with it the only thing that would resume the cgroup). A cgroup
// counts as holding a process when the process's cgroup is that cgroup or below it, in any
// hierarchy; only for daemons on this host (a loopback URL), where those processes live.

const isLoopback = (base: string) => {
  const host = new URL(base).hostname;
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]' || host === '::1';
};

const normalize = (cg: string) => '/' + cg.split('/').filter((p) => p && p !== '.').join('/');

/** Cgroup paths of a process, one per hierarchy ("/" for the root). */
function cgroupsOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => normalize(l.slice(l.indexOf(':', l.indexOf(':') + 1) + 1)));
  } catch {
    return [];
  }
}

const contains = (selected: string, inner: string) => selected === '/' || inner === selected || inner.startsWith(`${selected}/`);

/** 400 naming /spec/targets/selector/cgroups/<i> when a process fault's cgroup holds the exporter, its parent or a local daemon. */
export function refuseSelfTargeting(spec: ExperimentSpec, targets: ResolvedTarget[], daemons: DaemonRegistry): void {
  const kind = KIND_SPECS.find((k) => k.kind === spec.fault.kind);
  const selected = spec.targets?.selector?.cgroups;
  if (kind?.scope !== 'process' || !selected?.length) return;
  const local = targets.filter((t) => t.target.cgroup && isLoopback(daemons.byName(t.daemon)?.base ?? 'http://remote.invalid'));
  if (!local.length) return;
  const guarded: [string, number][] = [
    ['the exporter', process.pid],
    ["the exporter's parent", process.ppid],
    ...daemons.clients.filter((d) => d.info?.pid && isLoopback(d.base)).map((d): [string, number] => [`daemon ${d.name}`, d.info!.pid!]),
  ];
  for (const t of local) {
    const cg = normalize(t.target.cgroup!);
    for (const [who, pid] of guarded) {
      const inside = cgroupsOf(pid).find((c) => contains(cg, c));
      if (inside === undefined) continue;
      const i = Math.max(0, selected.findIndex((s) => normalize(s) === cg));
      const field = `/spec/targets/selector/cgroups/${i}`;
      const reason = `holds ${who} (pid ${pid}, in cgroup ${inside}): a ${spec.fault.kind} there would stop the process that has to end it`;
      throw ApiError.invalid(`invalid experiment: ${field} ${reason}`, [{ field, reason }]);
    }
  }
}
