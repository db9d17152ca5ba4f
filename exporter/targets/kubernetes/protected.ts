import type { V1Namespace, V1Pod } from '@kubernetes/client-node';

// What Faultline never touches in a cluster, whatever a selector says:
// - kube-system and Faultline's own namespace (plus any configured as protected);
// - namespaces that did not opt in with the annotation faultline.dev/enabled="true"
//   (unless the exporter is configured not to require it);
// - in namespace-scoped mode (a Role instead of a ClusterRole) every namespace outside its list —
//   there the list itself is the opt-in, since a Role cannot read Namespace objects;
// - pods annotated faultline.dev/protected (any value but "false"), and pods already terminating.

export const OPT_IN_ANNOTATION = 'faultline.dev/enabled';
export const PROTECTED_ANNOTATION = 'faultline.dev/protected';
export const ALWAYS_PROTECTED = ['kube-system'] as const;

export interface SafetyPolicy {
  /** The namespace the exporter runs in: never a target. */
  ownNamespace: string;
  /** Extra protected namespaces (kube-system and ownNamespace are always added). */
  protectedNamespaces: readonly string[];
  /** Require the opt-in annotation on a namespace before any of its pods is a target. */
  requireNamespaceOptIn: boolean;
  /** Namespace-scoped mode: the only namespaces the exporter may see; undefined = cluster scope. */
  scopeNamespaces?: readonly string[];
}

export function isProtectedNamespace(ns: string, policy: SafetyPolicy): boolean {
  return (ALWAYS_PROTECTED as readonly string[]).includes(ns) || ns === policy.ownNamespace || policy.protectedNamespaces.includes(ns);
}

/**
 * Why no pod of namespace `ns` may be a target, or undefined when they may.
 * `nsObject` is the Namespace as read from the API (undefined when it does not exist or, in
 * namespace-scoped mode, cannot be read).
 */
export function namespaceRefusal(ns: string, nsObject: V1Namespace | undefined, policy: SafetyPolicy): string | undefined {
  if (isProtectedNamespace(ns, policy)) return `namespace ${ns} is protected`;
  if (policy.scopeNamespaces) {
    return policy.scopeNamespaces.includes(ns) ? undefined : `namespace ${ns} is outside the exporter's namespaces (${policy.scopeNamespaces.join(', ')})`;
  }
  if (!policy.requireNamespaceOptIn) return undefined;
  if (!nsObject) return `namespace ${ns} does not exist`;
  if (nsObject.metadata?.annotations?.[OPT_IN_ANNOTATION] !== 'true') {
    return `namespace ${ns} has not opted in (annotation ${OPT_IN_ANNOTATION}: "true")`;
  }
  return undefined;
}

/** Why this pod may not be a target, or undefined when it may. */
export function podRefusal(pod: V1Pod): string | undefined {
  const value = pod.metadata?.annotations?.[PROTECTED_ANNOTATION];
  if (value !== undefined && value !== 'false') return `pod is annotated ${PROTECTED_ANNOTATION}`;
  if (pod.metadata?.deletionTimestamp) return 'pod is terminating';
  return undefined;
}
