import type { V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import type { KubernetesSelector } from '../../../api/kubernetes';
import { matchesAnnotations, matchesFields, matchesLabelSelector } from './labels';
import { namespaceRefusal, podRefusal, type SafetyPolicy } from './protected';

// Selector semantics as pure functions over pod, namespace and node objects, so every rule is
// tested without an API server. resolve.ts fetches the objects; this decides.
//
// As in Chaos Mesh: `pods` (namespace → names) picks exactly those pods and ignores the other
// fields; otherwise a pod must be in one of `namespaces` (default: the experiment's namespace) and
// match every given label, expression, annotation, field and phase, and run on one of `nodes` or
// on a node whose labels match `nodeSelectors` (the union of both, when either is given).
// Safety (safety.ts) applies to every pod, `pods` included.

export interface ContainerTarget {
  name: string;
  image: string;
  /** `containerd://<id>` as the pod status reports it; undefined while the container is not started. */
  containerId?: string;
}

export interface PodTarget {
  /** Stable id within an experiment: `<namespace>/<pod>`. */
  id: string;
  namespace: string;
  name: string;
  uid: string;
  node?: string;
  /** The containers the fault acts on (selector.containerNames, default all regular containers). */
  containers: ContainerTarget[];
  /** The pod's addresses (status.podIPs, both families; empty until the pod has one): a peer selector's answer. */
  ips?: string[];
}

export interface Exclusion {
  pod: string;
  reason: string;
}

export interface Selection {
  selected: V1Pod[];
  /** Pods the selector matched but safety refused (with why), so an empty result can be explained. */
  excluded: Exclusion[];
}

/** The namespaces to list pods in. */
export function namespacesToSearch(selector: KubernetesSelector, experimentNamespace: string): string[] {
  if (selector.pods && Object.keys(selector.pods).length) return Object.keys(selector.pods).sort();
  if (selector.namespaces?.length) return [...new Set(selector.namespaces)].sort();
  return [experimentNamespace];
}

/** Node names allowed by `nodes` ∪ `nodeSelectors`; undefined when neither is given (any node). */
export function allowedNodes(selector: KubernetesSelector, nodes: readonly V1Node[]): Set<string> | undefined {
  const byName = selector.nodes ?? [];
  const byLabels = selector.nodeSelectors && Object.keys(selector.nodeSelectors).length ? selector.nodeSelectors : undefined;
  if (byName.length === 0 && !byLabels) return undefined;
  const out = new Set(byName);
  if (byLabels) {
    for (const n of nodes) if (n.metadata?.name && matchesLabelSelector(n.metadata.labels, { labelSelectors: byLabels })) out.add(n.metadata.name);
  }
  return out;
}

const key = (p: V1Pod) => `${p.metadata?.namespace}/${p.metadata?.name}`;

/** Whether the selector (not safety) picks this pod. */
export function selectorMatches(pod: V1Pod, selector: KubernetesSelector, experimentNamespace: string, nodes?: Set<string>): boolean {
  const ns = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  if (selector.pods && Object.keys(selector.pods).length) return (selector.pods[ns] ?? []).includes(name);
  if (!namespacesToSearch(selector, experimentNamespace).includes(ns)) return false;
  if (!matchesLabelSelector(pod.metadata?.labels, selector)) return false;
  if (!matchesAnnotations(pod.metadata?.annotations, selector.annotationSelectors)) return false;
  if (!matchesFields(pod, selector.fieldSelectors)) return false;
  if (selector.podPhaseSelectors?.length && !selector.podPhaseSelectors.includes((pod.status?.phase ?? 'Unknown') as never)) return false;
  if (nodes && !nodes.has(pod.spec?.nodeName ?? '')) return false;
  return true;
}

/** The containers of `pod` the fault acts on; empty when none of `containerNames` exists in it. */
export function containersOf(pod: V1Pod, containerNames?: readonly string[]): ContainerTarget[] {
  const statuses = new Map((pod.status?.containerStatuses ?? []).map((s) => [s.name, s]));
  return (pod.spec?.containers ?? [])
    .filter((c) => !containerNames?.length || containerNames.includes(c.name))
    .map((c) => {
      const id = statuses.get(c.name)?.containerID;
      return { name: c.name, image: c.image ?? '', ...(id ? { containerId: id } : {}) };
    });
}

/**
 * Applies selector and safety to candidate pods (deduplicated by namespace/name, sorted).
 * `namespaces` maps each namespace to its object (undefined = not found / not readable).
 */
export function selectPods(
  pods: readonly V1Pod[],
  selector: KubernetesSelector,
  opts: { experimentNamespace: string; policy: SafetyPolicy; namespaces: Map<string, V1Namespace | undefined>; nodes?: Set<string> },
): Selection {
  const seen = new Set<string>();
  const selected: V1Pod[] = [];
  const excluded: Exclusion[] = [];
  for (const pod of [...pods].sort((a, b) => key(a).localeCompare(key(b)))) {
    const k = key(pod);
    if (seen.has(k)) continue;
    seen.add(k);
    if (!selectorMatches(pod, selector, opts.experimentNamespace, opts.nodes)) continue;
    const ns = pod.metadata?.namespace ?? '';
    const reason =
      namespaceRefusal(ns, opts.namespaces.get(ns), opts.policy) ??
      podRefusal(pod) ??
      (containersOf(pod, selector.containerNames).length === 0 ? `pod has no container named ${selector.containerNames?.join(' or ')}` : undefined);
    if (reason) excluded.push({ pod: k, reason });
    else selected.push(pod);
  }
  return { selected, excluded };
}

/** status.podIPs (dual-stack: one per family), or the older single status.podIP. */
export function podIps(pod: V1Pod): string[] {
  const all = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => Boolean(ip));
  if (pod.status?.podIP && !all.includes(pod.status.podIP)) all.unshift(pod.status.podIP);
  return all;
}

export function toPodTarget(pod: V1Pod, containerNames?: readonly string[]): PodTarget {
  const namespace = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  return {
    id: `${namespace}/${name}`,
    namespace,
    name,
    uid: pod.metadata?.uid ?? '',
    ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
    containers: containersOf(pod, containerNames),
    ips: podIps(pod),
  };
}
