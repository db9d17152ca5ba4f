import type { V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import { ApiError } from '../../../api/errors';
import { KubernetesSelector } from '../../../api/kubernetes';
import { validate } from '../../../api/validate';
import { isNotFound, type KubeClient } from './client';
import { fieldSelectorString, labelSelectorString } from './labels';
import { checkModeValue, pickByMode, type Mode } from '../mode';
import { isProtectedNamespace, namespaceRefusal, type SafetyPolicy } from './protected';
import { allowedNodes, namespacesToSearch, selectPods, toPodTarget, type Exclusion, type PodTarget } from './select';

// Turns `spec.targets` into pods: reads what the selector needs from the API server (namespaces
// for the opt-in annotation, pods with label/field selectors server-side, nodes for nodeSelectors),
// then decides with the pure rules in select.ts and picks the mode's share.

const SELECTOR = '/spec/targets/selector';

export interface ResolveOptions {
  experimentNamespace: string;
  policy: SafetyPolicy;
  mode?: Mode;
  value?: string;
  random?: () => number;
}

export interface Resolution {
  targets: PodTarget[];
  /** Pods (or whole namespaces, as "ns/*") the selector reached but safety refused, with why. */
  excluded: Exclusion[];
  /** How many pods passed selector and safety before the mode picked its share. */
  eligible: number;
}

/** Validates a selector as the wire schema says (400 naming `/spec/targets/selector/...`). */
export function checkSelector(selector: unknown, policy: SafetyPolicy): KubernetesSelector {
  const sel = validate(KubernetesSelector, selector, 'experiment', SELECTOR) as KubernetesSelector;
  if (policy.scopeNamespaces && sel.nodeSelectors && Object.keys(sel.nodeSelectors).length) {
    const field = `${SELECTOR}/nodeSelectors`;
    const reason = 'needs cluster scope (the exporter runs namespace-scoped and cannot list nodes); use nodes';
    throw ApiError.invalid(`invalid experiment: ${field} ${reason}`, [{ field, reason }]);
  }
  for (const e of sel.expressionSelectors ?? []) {
    const needsValues = e.operator === 'In' || e.operator === 'NotIn';
    if (needsValues !== Boolean(e.values?.length)) {
      const field = `${SELECTOR}/expressionSelectors`;
      const reason = needsValues ? `${e.key} ${e.operator} needs values` : `${e.key} ${e.operator} takes no values`;
      throw ApiError.invalid(`invalid experiment: ${field} ${reason}`, [{ field, reason }]);
    }
  }
  return sel;
}

export async function resolvePods(client: KubeClient, rawSelector: unknown, opts: ResolveOptions): Promise<Resolution> {
  const selector = checkSelector(rawSelector, opts.policy);
  const mode = opts.mode ?? 'all';
  checkModeValue(mode, opts.value); // a bad value is a 400 before any API call
  const excluded: Exclusion[] = [];

  // Namespaces: refused ones are never listed (a protected namespace's pods are not even read).
  const namespaces = new Map<string, V1Namespace | undefined>();
  const readable: string[] = [];
  for (const ns of namespacesToSearch(selector, opts.experimentNamespace)) {
    const needObject = !opts.policy.scopeNamespaces && opts.policy.requireNamespaceOptIn && !isProtectedNamespace(ns, opts.policy);
    const obj = needObject ? await client.getNamespace(ns) : undefined;
    namespaces.set(ns, obj);
    const why = namespaceRefusal(ns, obj, opts.policy);
    if (why) excluded.push({ pod: `${ns}/*`, reason: why });
    else readable.push(ns);
  }

  const pods: V1Pod[] = [];
  if (selector.pods && Object.keys(selector.pods).length) {
    for (const ns of readable) {
      for (const name of selector.pods[ns] ?? []) {
        try {
          pods.push(await client.getPod(ns, name));
        } catch (err) {
          if (!isNotFound(err)) throw err;
          excluded.push({ pod: `${ns}/${name}`, reason: 'pod does not exist' });
        }
      }
    }
  } else {
    const labels = labelSelectorString(selector);
    const fields = fieldSelectorString(selector.fieldSelectors);
    for (const ns of readable) pods.push(...(await client.listPods(ns, labels || undefined, fields || undefined)));
  }

  let nodes: V1Node[] = [];
  if (selector.nodeSelectors && Object.keys(selector.nodeSelectors).length) {
    nodes = await client.listNodes(labelSelectorString({ labelSelectors: selector.nodeSelectors }));
  }

  const selection = selectPods(pods, selector, {
    experimentNamespace: opts.experimentNamespace,
    policy: opts.policy,
    namespaces,
    nodes: allowedNodes(selector, nodes),
  });
  excluded.push(...selection.excluded);
  if (selection.selected.length === 0) {
    const reason = excluded.length
      ? `matches no pod that may be a target: ${excluded.map((e) => `${e.pod} (${e.reason})`).join('; ')}`
      : 'matches no pod';
    throw ApiError.unprocessable(`invalid experiment: ${SELECTOR} ${reason}`, [{ field: SELECTOR, reason }]);
  }
  const picked = pickByMode(selection.selected, mode, opts.value, opts.random);
  return { targets: picked.map((p) => toPodTarget(p, selector.containerNames)), excluded, eligible: selection.selected.length };
}
