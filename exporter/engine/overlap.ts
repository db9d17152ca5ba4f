import type { DaemonTarget } from '../../api/daemon';

// Overlapping faults on one target are refused (409 naming the experiment that holds it), not
// reference-counted. Two holders of one kernel state cannot both be right: a process is stopped
// or it runs, an interface has one root qdisc. With reference counting, the first experiment to end
// would report "recovered" while the process stays stopped for the other, and each experiment's
// report would no longer describe what it did. So a target is held by one experiment at a time:
//   - the same kind on the same target (same daemon, same pid / cgroup / netns + interface / pod);
//   - kinds that share one kernel object count as one kind: the tc kinds share the interface's root
//     qdisc, the process signal kinds the process's run state.
// A Paused experiment holds nothing (its faults are reverted); it is checked again when it resumes.

const SHARED: Record<string, string> = {
  'network-delay': 'qdisc',
  'network-bandwidth': 'qdisc',
  'network-corrupt': 'qdisc',
  'network-duplicate': 'qdisc',
  'network-reorder': 'qdisc',
  'network-netem': 'qdisc',
  'process-pause': 'signal',
};

/** The kernel object class a kind occupies: kinds of one class cannot share a target. */
export function occupancyClass(kind: string): string {
  return SHARED[kind] ?? kind;
}

/** What a fault occupies: daemon, the kernel object class, and the target without selection-only fields. */
export function occupancyKey(daemon: string, kind: string, target: DaemonTarget | Record<string, unknown>): string {
  const t = target as Record<string, unknown>;
  const where = ['pid', 'cgroup', 'netns', 'interface', 'containerId', 'pod', 'processName'].map((k) => (t[k] === undefined ? '' : JSON.stringify(t[k]))).join('|');
  return `${daemon}\u0000${occupancyClass(kind)}\u0000${where}`;
}
