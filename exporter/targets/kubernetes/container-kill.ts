import { createHash } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import { ApiError } from '../../../api/errors';
import spec from '../../../api/kinds/container-kill';
import { definePodFault, type DaemonRef } from './pod-fault';

// The signal goes to each target container's main process, sent by the Faultline daemon on the
// pod's node: the exporter asks it for a `process-kill` on target {containerId}, and the daemon
// finds the process by scanning /proc/*/cgroup for that id (daemon/sys/containers.ts). No CRI
// socket, no exec into the pod. Recover only ends the daemon's record (a signal cannot be undone).

type Params = Static<typeof spec.params>;
interface State extends Record<string, unknown> {
  daemon: DaemonRef;
  faults: string[];
}

/** Daemon fault ids are DNS labels: derive a short stable one from the fault id and container. */
export function daemonFaultId(faultId: string, container: string): string {
  return `ck-${createHash('sha256').update(`${faultId}/${container}`).digest('hex').slice(0, 20)}`;
}

export default definePodFault<Params, State>({
  spec,
  async inject(ctx) {
    const { target } = ctx;
    if (!target.node) throw ApiError.unprocessable(`pod ${target.id} is not scheduled on a node`, [{ field: '/target', reason: 'pod has no node' }]);
    const running = target.containers.filter((c) => c.containerId);
    if (running.length === 0) {
      throw ApiError.unprocessable(`pod ${target.id} has no running target container`, [{ field: '/target', reason: 'no container has a containerID yet' }]);
    }
    const daemon = await ctx.env.daemonForNode(target.node);
    const faults: string[] = [];
    for (const c of running) {
      const id = daemonFaultId(ctx.id, c.name);
      await ctx.env.daemon.createFault(daemon, {
        id,
        kind: 'process-kill',
        params: { signal: ctx.params.signal ?? 'SIGKILL' },
        target: { containerId: c.containerId },
        leaseSeconds: 60,
      });
      faults.push(id);
    }
    return { daemon, faults };
  },
  async recover(ctx, state) {
    if (!state.daemon) return;
    for (const id of state.faults ?? []) await ctx.env.daemon.deleteFault(state.daemon, id);
  },
});
