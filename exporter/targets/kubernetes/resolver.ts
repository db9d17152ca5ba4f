import { ApiError } from '../../../api/errors';
import type { ExperimentSpec } from '../../../api/experiment';
import { kindSpec } from '../../../api/kinds/index';
import type { TargetCandidate } from '../../../api/targets';
import type { DaemonConfig } from '../../daemons';
import type { Mode } from '../mode';
import type { Resolution, ResolvedTarget, TargetResolver } from '../types';
import type { KubernetesMode } from './index';
import { isProtectedNamespace, namespaceRefusal, podRefusal } from './protected';
import { POD_DAEMON_NAME } from './pod-daemon';
import type { PodTarget } from './select';

const podRef = (p: PodTarget) => ({ namespace: p.namespace, name: p.name, uid: p.uid, containers: p.containers.map((c) => c.name) });

// Kubernetes mode behind the engine's TargetResolver interface (exporter/targets/types.ts):
// - node-level kinds (network, stress, process): one target per pod (network) or per container,
//   placed on the daemon named after the pod's node, with the daemon-level target {containerId};
// - pod kinds (pod-kill, pod-failure, container-kill): one target per pod, {pod: {namespace, name,
//   uid, containers}}, on the exporter's in-process pod daemon `kubernetes-api` (pod-daemon.ts).
// Daemons are the DaemonSet's pods: daemonConfigs() lists them, named after their node.

export { POD_DAEMON_NAME as POD_KIND_DAEMON } from './pod-daemon';

export class KubernetesTargets implements TargetResolver {
  constructor(private readonly k8s: KubernetesMode) {}

  async resolve(namespace: string, spec: ExperimentSpec): Promise<Resolution> {
    const leader = this.k8s.leader;
    if (leader && !leader.isLeader) {
      // Several replicas: only the one holding the Lease plans faults; a standby refuses, so no pod is hit twice.
      throw new ApiError(503, 'not_leader', `this exporter (${this.k8s.config.identity}) is on standby: another replica holds the Lease ${this.k8s.config.namespace}/${this.k8s.config.leaseName}`);
    }
    if (!spec.targets) {
      throw ApiError.invalid('invalid experiment: /spec/targets is required in Kubernetes mode', [{ field: '/spec/targets', reason: 'is required in Kubernetes mode' }]);
    }
    const kind = kindSpec(spec.fault.kind);
    if (!kind) throw ApiError.invalid(`invalid experiment: /spec/fault/kind ${spec.fault.kind} is not a known kind`, [{ field: '/spec/fault/kind', reason: 'is not a known kind' }]);
    const r = await this.k8s.resolve({ selector: spec.targets.selector, mode: spec.targets.mode as Mode, ...(spec.targets.value !== undefined ? { value: spec.targets.value } : {}) }, namespace);
    const selected: ResolvedTarget[] = [];
    const daemonCache = new Map(); // one daemon lookup per node, not per pod
    for (const pod of r.targets) {
      if (kind.scope === 'pod') {
        selected.push({ daemon: POD_DAEMON_NAME, target: { pod: podRef(pod) }, description: pod.id });
        continue;
      }
      for (const t of await this.k8s.nodeTargets(pod, kind.kind, daemonCache)) {
        selected.push({ daemon: t.daemon.node, target: t.target, description: t.description });
      }
    }
    return { selected, candidates: r.eligible };
  }

  /**
   * A peer selector (Chaos Mesh NetworkChaos `target:`) in Kubernetes mode: the selected pods' IPs as the
   * API server reports them (status.podIPs), as Chaos Mesh builds its ipsets. No daemon is asked, so a
   * peer pod on a node without a Faultline daemon counts too; a pod without an IP yet has none to cut.
   * Same selector, modes and safety as a target; errors name /spec/targets (peers.ts renames them).
   */
  async addressesOf(namespace: string, targets: NonNullable<ExperimentSpec['targets']>): Promise<string[]> {
    const r = await this.k8s.resolve({ selector: targets.selector, mode: targets.mode as Mode, ...(targets.value !== undefined ? { value: targets.value } : {}) }, namespace);
    return [...new Set(r.targets.flatMap((p) => p.ips ?? []))];
  }

  /** Pods any selector could pick now (safety applied), for GET /api/v1/targets. */
  async candidates(): Promise<TargetCandidate[]> {
    const { client, policy } = this.k8s;
    // Cluster scope: one list of every pod; namespace-scoped: one list per namespace of the Role.
    const pods = policy.scopeNamespaces
      ? (await Promise.all(policy.scopeNamespaces.map((ns) => client.listPods(ns)))).flat()
      : await client.listAllPods();
    const verdict = new Map<string, boolean>();
    const out: TargetCandidate[] = [];
    for (const p of pods) {
      const ns = p.metadata?.namespace ?? '';
      if (!verdict.has(ns)) {
        const readNs = !policy.scopeNamespaces && policy.requireNamespaceOptIn && !isProtectedNamespace(ns, policy);
        verdict.set(ns, !namespaceRefusal(ns, readNs ? await client.getNamespace(ns) : undefined, policy));
      }
      if (!verdict.get(ns) || podRefusal(p)) continue;
      out.push({ daemon: p.spec?.nodeName ?? '', description: `${ns}/${p.metadata?.name}` });
    }
    return out;
  }

  /** The DaemonSet's running pods as daemon configs, each named after its node (the names targets use). */
  async daemonConfigs(token?: string): Promise<DaemonConfig[]> {
    const { client, config } = this.k8s;
    const pods = await client.listPods(config.namespace, config.daemonSelector);
    return pods
      .filter((p) => p.status?.phase === 'Running' && p.status.podIP && p.spec?.nodeName && !p.metadata?.deletionTimestamp)
      .map((p) => {
        const ip = p.status?.podIP as string;
        return { url: `http://${ip.includes(':') ? `[${ip}]` : ip}:${config.daemonPort}`, name: p.spec?.nodeName as string, ...(token ? { token } : {}) };
      });
  }
}
