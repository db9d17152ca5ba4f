import type { V1Pod } from '@kubernetes/client-node';
import type { ExpressionSelector } from '../../../api/kubernetes';

// Label and field selectors two ways: as the query strings the API server takes (so a big cluster
// filters server-side), and as pure predicates the exporter applies again to whatever the server
// returned — the same semantics as k8s.io/apimachinery/pkg/labels, so a test can pin them down
// without an API server. Keys and values were validated by the schema (api/kubernetes.ts): no
// character that is special in a selector string can reach here.

export type Labels = Record<string, string | undefined> | undefined;

export interface LabelSelectorSpec {
  labelSelectors?: Record<string, string>;
  expressionSelectors?: ExpressionSelector[];
}

/** `app=web,tier in (a,b),env notin (prod),canary,!legacy` — the API server's labelSelector syntax. */
export function labelSelectorString(spec: LabelSelectorSpec): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(spec.labelSelectors ?? {})) parts.push(`${k}=${v}`);
  for (const e of spec.expressionSelectors ?? []) {
    const values = [...(e.values ?? [])].sort();
    if (e.operator === 'In') parts.push(`${e.key} in (${values.join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values.join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

/** One requirement against a label set, as apimachinery evaluates it. */
export function matchesExpression(labels: Labels, e: ExpressionSelector): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, e.key) && labels[e.key] !== undefined;
  const value = has ? (labels as Record<string, string>)[e.key] : undefined;
  switch (e.operator) {
    case 'In':
      return has && (e.values ?? []).includes(value as string);
    case 'NotIn':
      // NotIn also matches objects without the key (apimachinery semantics).
      return !has || !(e.values ?? []).includes(value as string);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}

/** All equality labels and all expressions must hold (an empty selector matches everything). */
export function matchesLabelSelector(labels: Labels, spec: LabelSelectorSpec): boolean {
  for (const [k, v] of Object.entries(spec.labelSelectors ?? {})) if (labels?.[k] !== v) return false;
  return (spec.expressionSelectors ?? []).every((e) => matchesExpression(labels, e));
}

/** Annotations must equal each given value exactly. */
export function matchesAnnotations(annotations: Labels, want: Record<string, string> | undefined): boolean {
  return Object.entries(want ?? {}).every(([k, v]) => annotations?.[k] === v);
}

/** The value of a selectable pod field, as the API server compares it (booleans as "true"/"false"). */
export function podFieldValue(pod: V1Pod, field: string): string {
  switch (field) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.restartPolicy':
      return pod.spec?.restartPolicy ?? '';
    case 'spec.schedulerName':
      return pod.spec?.schedulerName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'spec.hostNetwork':
      return String(pod.spec?.hostNetwork ?? false);
    case 'status.phase':
      return pod.status?.phase ?? '';
    case 'status.podIP':
      return pod.status?.podIP ?? '';
    case 'status.nominatedNodeName':
      return pod.status?.nominatedNodeName ?? '';
    default:
      throw new Error(`field ${field} is not selectable on pods`);
  }
}

export function fieldSelectorString(fields: Record<string, string> | undefined): string {
  return Object.entries(fields ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function matchesFields(pod: V1Pod, fields: Record<string, string> | undefined): boolean {
  return Object.entries(fields ?? {}).every(([k, v]) => podFieldValue(pod, k) === v);
}
