import type { V1Namespace } from '@kubernetes/client-node';
import { ApiError } from '../../../api/errors';
import type { KubernetesSelector } from '../../../api/kubernetes';
import {
  fieldSelectorString,
  labelSelectorString,
  matchesExpression,
  matchesFields,
  matchesLabelSelector,
  podFieldValue,
} from '../../../exporter/targets/kubernetes/labels';
import { pickByMode as selectByMode } from '../../../exporter/targets/mode';
import { checkSelector } from '../../../exporter/targets/kubernetes/resolve';
import { namespaceRefusal, podRefusal, type SafetyPolicy } from '../../../exporter/targets/kubernetes/protected';
import { allowedNodes, containersOf, namespacesToSearch, selectPods, toPodTarget } from '../../../exporter/targets/kubernetes/select';
import { namespace, node, OPTED_IN, pod } from './fixtures';

// Selector semantics of Kubernetes mode as pure functions over realistic pod, namespace and node
// objects (tests/unit/kubernetes/fixtures.ts): label selector operators, fields, phases, nodes,
// the pods map, containerNames, safety (protected namespaces, opt-in, protected pods) and modes.

const policy: SafetyPolicy = { ownNamespace: 'faultline', protectedNamespaces: ['kube-public'], requireNamespaceOptIn: true };

const namespaces = new Map<string, V1Namespace | undefined>([
  ['shop', namespace('shop', OPTED_IN)],
  ['blog', namespace('blog', OPTED_IN)],
  ['payments', namespace('payments')], // not opted in
  ['legacy', namespace('legacy', { 'faultline.dev/enabled': 'false' })],
  ['kube-system', namespace('kube-system', OPTED_IN)], // opting in does not help
  ['faultline', namespace('faultline', OPTED_IN)],
]);

const pods = [
  pod({ name: 'web-7d9f-abcde', labels: { app: 'web', tier: 'frontend', track: 'stable' }, node: 'node-a' }),
  pod({ name: 'web-7d9f-fghij', labels: { app: 'web', tier: 'frontend', track: 'canary' }, node: 'node-b' }),
  pod({ name: 'api-5c4b-klmno', labels: { app: 'api', tier: 'backend' }, node: 'node-b', containers: ['api', 'istio-proxy'] }),
  pod({ name: 'db-0', labels: { app: 'db', tier: 'backend' }, node: 'node-c', annotations: { 'faultline.dev/protected': 'true' } }),
  pod({ name: 'batch-xyz', labels: { app: 'batch' }, phase: 'Succeeded', node: 'node-c' }),
  pod({ name: 'web-old-zzz', labels: { app: 'web', tier: 'frontend' }, terminating: true }),
  pod({ ns: 'blog', name: 'wordpress-1', labels: { app: 'wordpress' }, annotations: { team: 'content' }, hostNetwork: true }),
  pod({ ns: 'payments', name: 'ledger-1', labels: { app: 'ledger' } }),
  pod({ ns: 'legacy', name: 'cobol-1', labels: { app: 'cobol' } }),
  pod({ ns: 'kube-system', name: 'coredns-abc', labels: { 'k8s-app': 'kube-dns' } }),
  pod({ ns: 'faultline', name: 'faultline-exporter-1', labels: { 'app.kubernetes.io/name': 'faultline-exporter' } }),
];

function pick(selector: KubernetesSelector, opts: { nodes?: Set<string>; experimentNamespace?: string; policy?: SafetyPolicy } = {}) {
  const r = selectPods(pods, selector, {
    experimentNamespace: opts.experimentNamespace ?? 'shop',
    policy: opts.policy ?? policy,
    namespaces,
    ...(opts.nodes ? { nodes: opts.nodes } : {}),
  });
  return { names: r.selected.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`), excluded: r.excluded };
}

describe('label selectors (apimachinery semantics)', () => {
  const labels = { app: 'web', tier: 'frontend', empty: '' };

  it.each([
    ['In, value present', { key: 'tier', operator: 'In', values: ['frontend', 'edge'] }, true],
    ['In, other value', { key: 'tier', operator: 'In', values: ['backend'] }, false],
    ['In, key missing', { key: 'zone', operator: 'In', values: ['a'] }, false],
    ['In, empty value', { key: 'empty', operator: 'In', values: [''] }, true],
    ['NotIn, other value', { key: 'tier', operator: 'NotIn', values: ['backend'] }, true],
    ['NotIn, value present', { key: 'tier', operator: 'NotIn', values: ['frontend'] }, false],
    ['NotIn, key missing (matches)', { key: 'zone', operator: 'NotIn', values: ['a'] }, true],
    ['Exists', { key: 'app', operator: 'Exists' }, true],
    ['Exists, empty value counts', { key: 'empty', operator: 'Exists' }, true],
    ['Exists, missing', { key: 'zone', operator: 'Exists' }, false],
    ['DoesNotExist, missing', { key: 'zone', operator: 'DoesNotExist' }, true],
    ['DoesNotExist, present', { key: 'app', operator: 'DoesNotExist' }, false],
  ] as const)('%s', (_name, expr, want) => {
    expect(matchesExpression(labels, expr as never)).toBe(want);
  });

  it('no labels at all: only NotIn and DoesNotExist match', () => {
    expect(matchesExpression(undefined, { key: 'a', operator: 'NotIn', values: ['x'] })).toBe(true);
    expect(matchesExpression(undefined, { key: 'a', operator: 'DoesNotExist' })).toBe(true);
    expect(matchesExpression(undefined, { key: 'a', operator: 'Exists' })).toBe(false);
    expect(matchesExpression({}, { key: 'a', operator: 'In', values: ['x'] })).toBe(false);
  });

  it('equality labels and expressions must all hold; empty selector matches everything', () => {
    expect(matchesLabelSelector(labels, {})).toBe(true);
    expect(matchesLabelSelector(labels, { labelSelectors: { app: 'web', tier: 'frontend' } })).toBe(true);
    expect(matchesLabelSelector(labels, { labelSelectors: { app: 'web', tier: 'backend' } })).toBe(false);
    expect(matchesLabelSelector(labels, { labelSelectors: { app: 'web' }, expressionSelectors: [{ key: 'canary', operator: 'DoesNotExist' }] })).toBe(true);
    expect(matchesLabelSelector(labels, { labelSelectors: { app: 'web' }, expressionSelectors: [{ key: 'tier', operator: 'NotIn', values: ['frontend'] }] })).toBe(false);
  });

  it('renders the API server query string', () => {
    expect(
      labelSelectorString({
        labelSelectors: { app: 'web', 'app.kubernetes.io/part-of': 'shop' },
        expressionSelectors: [
          { key: 'tier', operator: 'In', values: ['frontend', 'edge'] },
          { key: 'env', operator: 'NotIn', values: ['prod'] },
          { key: 'canary', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=web,app.kubernetes.io/part-of=shop,tier in (edge,frontend),env notin (prod),canary,!legacy');
    expect(labelSelectorString({})).toBe('');
    expect(fieldSelectorString({ 'spec.nodeName': 'node-a', 'status.phase': 'Running' })).toBe('spec.nodeName=node-a,status.phase=Running');
  });
});

describe('field selectors', () => {
  const p = pods[6]; // blog/wordpress-1, hostNetwork
  it('reads every selectable field as the API server compares it', () => {
    expect(podFieldValue(p, 'metadata.name')).toBe('wordpress-1');
    expect(podFieldValue(p, 'metadata.namespace')).toBe('blog');
    expect(podFieldValue(p, 'spec.nodeName')).toBe('node-a');
    expect(podFieldValue(p, 'spec.hostNetwork')).toBe('true');
    expect(podFieldValue(pods[0], 'spec.hostNetwork')).toBe('false');
    expect(podFieldValue(p, 'status.phase')).toBe('Running');
    expect(podFieldValue(p, 'status.podIP')).toBe('10.244.1.7');
    expect(podFieldValue(p, 'spec.serviceAccountName')).toBe('default');
    expect(() => podFieldValue(p, 'spec.containers')).toThrow(/not selectable/);
  });

  it('all fields must match', () => {
    expect(matchesFields(p, { 'spec.nodeName': 'node-a', 'status.phase': 'Running' })).toBe(true);
    expect(matchesFields(p, { 'spec.nodeName': 'node-b' })).toBe(false);
    expect(matchesFields(p, undefined)).toBe(true);
  });
});

describe('selecting pods', () => {
  it('defaults to the experiment namespace, skipping protected and terminating pods', () => {
    const r = pick({ labelSelectors: { app: 'web' } });
    expect(r.names).toEqual(['shop/web-7d9f-abcde', 'shop/web-7d9f-fghij']);
    expect(r.excluded).toEqual([{ pod: 'shop/web-old-zzz', reason: 'pod is terminating' }]);
    expect(namespacesToSearch({}, 'shop')).toEqual(['shop']);
  });

  it('expressionSelectors, annotationSelectors, fieldSelectors and podPhaseSelectors narrow together', () => {
    expect(pick({ expressionSelectors: [{ key: 'tier', operator: 'In', values: ['backend'] }] }).names).toEqual(['shop/api-5c4b-klmno']);
    expect(pick({ labelSelectors: { app: 'web' }, expressionSelectors: [{ key: 'track', operator: 'NotIn', values: ['canary'] }] }).names).toEqual([
      'shop/web-7d9f-abcde',
    ]);
    expect(pick({ namespaces: ['blog'], annotationSelectors: { team: 'content' } }).names).toEqual(['blog/wordpress-1']);
    expect(pick({ namespaces: ['blog'], annotationSelectors: { team: 'other' } }).names).toEqual([]);
    expect(pick({ fieldSelectors: { 'spec.nodeName': 'node-b' } }).names).toEqual(['shop/api-5c4b-klmno', 'shop/web-7d9f-fghij']);
    expect(pick({ podPhaseSelectors: ['Succeeded'] }).names).toEqual(['shop/batch-xyz']);
    expect(pick({ podPhaseSelectors: ['Running'], labelSelectors: { app: 'batch' } }).names).toEqual([]);
  });

  it('nodes ∪ nodeSelectors', () => {
    const nodes = [node('node-a', { zone: 'z1' }), node('node-b', { zone: 'z2' }), node('node-c', { zone: 'z2', disk: 'ssd' })];
    expect(allowedNodes({}, nodes)).toBeUndefined();
    expect([...(allowedNodes({ nodeSelectors: { zone: 'z2' } }, nodes) ?? [])].sort()).toEqual(['node-b', 'node-c']);
    const union = allowedNodes({ nodes: ['node-a'], nodeSelectors: { disk: 'ssd' } }, nodes) as Set<string>;
    expect([...union].sort()).toEqual(['node-a', 'node-c']);
    expect(pick({}, { nodes: union }).names).toEqual(['shop/web-7d9f-abcde', 'shop/batch-xyz'].sort());
    // a node selector that matches no node selects no pod (not every pod)
    expect(pick({}, { nodes: allowedNodes({ nodeSelectors: { zone: 'mars' } }, nodes) }).names).toEqual([]);
  });

  it('pods (namespace → names) picks exactly those and ignores the other fields, but not safety', () => {
    const r = pick({
      pods: { shop: ['api-5c4b-klmno', 'db-0'], blog: ['wordpress-1'], 'kube-system': ['coredns-abc'] },
      labelSelectors: { app: 'nothing-has-this' },
    });
    expect(r.names).toEqual(['blog/wordpress-1', 'shop/api-5c4b-klmno']);
    expect(r.excluded).toEqual([
      { pod: 'kube-system/coredns-abc', reason: 'namespace kube-system is protected' },
      { pod: 'shop/db-0', reason: 'pod is annotated faultline.dev/protected' },
    ]);
    expect(namespacesToSearch({ pods: { b: [], a: [] }, namespaces: ['c'] }, 'shop')).toEqual(['a', 'b']);
  });

  it('containerNames: only pods that have one; the target lists only those containers, with their ids', () => {
    const r = pick({ containerNames: ['istio-proxy'] });
    expect(r.names).toEqual(['shop/api-5c4b-klmno']);
    expect(r.excluded.map((e) => e.reason)).toContain('pod has no container named istio-proxy');
    const t = toPodTarget(pods[2], ['istio-proxy']);
    expect(t).toMatchObject({ id: 'shop/api-5c4b-klmno', namespace: 'shop', name: 'api-5c4b-klmno', node: 'node-b' });
    expect(t.uid).toBe(pods[2].metadata?.uid);
    expect(t.containers).toEqual([{ name: 'istio-proxy', image: 'registry.example/istio-proxy:1.2.3', containerId: expect.stringMatching(/^containerd:\/\/[0-9a-f]{64}$/) }]);
    expect(containersOf(pods[2]).map((c) => c.name)).toEqual(['api', 'istio-proxy']);
    // a pending pod's containers have no id yet
    expect(containersOf(pod({ name: 'p', phase: 'Pending' }))[0].containerId).toBeUndefined();
  });

  it('deduplicates a pod listed twice', () => {
    const r = selectPods([pods[0], pods[0]], {}, { experimentNamespace: 'shop', policy, namespaces });
    expect(r.selected).toHaveLength(1);
  });
});

describe('safety', () => {
  it('kube-system, the own namespace and configured ones are protected even when opted in', () => {
    expect(pick({ namespaces: ['kube-system', 'faultline'] }).excluded).toEqual([
      { pod: 'faultline/faultline-exporter-1', reason: 'namespace faultline is protected' },
      { pod: 'kube-system/coredns-abc', reason: 'namespace kube-system is protected' },
    ]);
    expect(namespaceRefusal('kube-public', namespace('kube-public', OPTED_IN), policy)).toMatch(/protected/);
    const noOptIn = { ...policy, requireNamespaceOptIn: false };
    expect(namespaceRefusal('kube-system', undefined, noOptIn)).toMatch(/protected/);
  });

  it('namespaces must opt in with faultline.dev/enabled="true" (unless configured otherwise)', () => {
    const r = pick({ namespaces: ['payments', 'legacy', 'blog'] });
    expect(r.names).toEqual(['blog/wordpress-1']);
    expect(r.excluded).toEqual([
      { pod: 'legacy/cobol-1', reason: 'namespace legacy has not opted in (annotation faultline.dev/enabled: "true")' },
      { pod: 'payments/ledger-1', reason: 'namespace payments has not opted in (annotation faultline.dev/enabled: "true")' },
    ]);
    expect(namespaceRefusal('ghost', undefined, policy)).toBe('namespace ghost does not exist');
    const open = pick({ namespaces: ['payments', 'legacy'] }, { policy: { ...policy, requireNamespaceOptIn: false } });
    expect(open.names).toEqual(['legacy/cobol-1', 'payments/ledger-1']);
  });

  it('namespace-scoped mode sees only its namespaces; the list is the opt-in', () => {
    const scoped: SafetyPolicy = { ...policy, scopeNamespaces: ['payments'] };
    const r = pick({ namespaces: ['payments', 'blog'] }, { policy: scoped });
    expect(r.names).toEqual(['payments/ledger-1']);
    expect(r.excluded[0].reason).toMatch(/outside the exporter's namespaces \(payments\)/);
    expect(namespaceRefusal('kube-system', undefined, { ...scoped, scopeNamespaces: ['kube-system'] })).toMatch(/protected/);
  });

  it('a pod annotated faultline.dev/protected is never a target (any value but "false")', () => {
    const ann = (v: string) => pod({ name: 'x', annotations: { 'faultline.dev/protected': v } });
    expect(podRefusal(ann('true'))).toMatch(/protected/);
    expect(podRefusal(ann(''))).toMatch(/protected/);
    expect(podRefusal(ann('yes'))).toMatch(/protected/);
    expect(podRefusal(ann('false'))).toBeUndefined();
    expect(podRefusal(pod({ name: 'y' }))).toBeUndefined();
  });
});

// Modes are the exporter's (exporter/targets/mode.ts, shared with local mode); pinned here for pods too.
describe('modes (Chaos Mesh semantics)', () => {
  const ten = Array.from({ length: 10 }, (_, i) => i);
  const seq = (...xs: number[]) => {
    let i = 0;
    return () => xs[i++ % xs.length];
  };

  it('one, all, fixed, fixed-percent, random-max-percent pick the right count', () => {
    expect(selectByMode(ten, 'one', undefined)).toHaveLength(1);
    expect(selectByMode(ten, 'all', undefined)).toEqual(ten);
    expect(selectByMode(ten, 'fixed', '3')).toHaveLength(3);
    expect(selectByMode(ten, 'fixed', '30')).toEqual(ten);
    expect(selectByMode(ten, 'fixed-percent', '25')).toHaveLength(2); // floor(2.5)
    expect(selectByMode(ten, 'fixed-percent', '100')).toHaveLength(10);
    expect(selectByMode(ten, 'random-max-percent', '50', () => 0)).toHaveLength(0);
    expect(selectByMode(ten, 'random-max-percent', '50', () => 0.9999)).toHaveLength(5);
    expect(selectByMode(ten, 'random-max-percent', '50', () => 0.5)).toHaveLength(2); // p = floor(0.5 × 51) = 25 → floor(2.5)
    expect(selectByMode([], 'one', undefined)).toEqual([]);
  });

  it('picks distinct items, at random', () => {
    const picked = selectByMode(ten, 'fixed', '5', seq(0.9, 0.1, 0.5, 0.3, 0.7));
    expect(new Set(picked).size).toBe(5);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(selectByMode(ten, 'one', undefined)[0]);
    expect(seen.size).toBe(10);
  });

  it.each([
    ['fixed', undefined, 'is required for mode fixed'],
    ['fixed', '0', 'must be at least 1 for mode fixed'],
    ['fixed', '-1', 'must be a whole number'],
    ['fixed-percent', '101', 'is a percent for mode fixed-percent: 1 to 100'],
    ['fixed-percent', '0', 'is a percent for mode fixed-percent: 1 to 100'],
    ['random-max-percent', '1.5', 'must be a whole number'],
    ['fixed-percent', '', 'is required for mode fixed-percent'],
  ] as const)('%s with value %p → 400 naming /spec/targets/value', (mode, value, reason) => {
    try {
      selectByMode(ten, mode, value);
      throw new Error('no error');
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).details).toEqual([{ field: '/spec/targets/value', reason }]);
    }
  });
});

describe('selector validation (boundary input)', () => {
  const fields = (sel: unknown, p: SafetyPolicy = policy) => {
    try {
      checkSelector(sel, p);
      return [];
    } catch (err) {
      expect((err as ApiError).status).toBe(400);
      return ((err as ApiError).details ?? []).map((d) => d.field);
    }
  };

  it('accepts a full Chaos Mesh selector', () => {
    expect(
      fields({
        namespaces: ['shop'],
        labelSelectors: { app: 'web', 'app.kubernetes.io/name': 'web' },
        expressionSelectors: [{ key: 'tier', operator: 'In', values: ['frontend'] }, { key: 'canary', operator: 'DoesNotExist' }],
        annotationSelectors: { 'example.com/owner': 'team a, b = c' },
        fieldSelectors: { 'spec.nodeName': 'node-a' },
        podPhaseSelectors: ['Running', 'Pending'],
        nodes: ['node-a'],
        nodeSelectors: { 'topology.kubernetes.io/zone': 'eu-1a' },
        pods: { shop: ['web-1'] },
        containerNames: ['app'],
      }),
    ).toEqual([]);
  });

  it.each([
    [{ labelSelectors: { app: 'web,tier=x' } }, '/spec/targets/selector/labelSelectors/app'],
    [{ labelSelectors: { 'bad key': 'x' } }, '/spec/targets/selector/labelSelectors/bad key'],
    [{ namespaces: ['Shop'] }, '/spec/targets/selector/namespaces/0'],
    [{ namespaces: 'shop' }, '/spec/targets/selector/namespaces'],
    [{ expressionSelectors: [{ key: 'a', operator: 'Like', values: ['x'] }] }, '/spec/targets/selector/expressionSelectors/0/operator'],
    [{ expressionSelectors: [{ key: 'a', operator: 'In' }] }, '/spec/targets/selector/expressionSelectors'],
    [{ expressionSelectors: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, '/spec/targets/selector/expressionSelectors'],
    [{ fieldSelectors: { 'spec.containers': 'x' } }, '/spec/targets/selector/fieldSelectors/spec.containers'],
    [{ fieldSelectors: { 'spec.nodeName': 'a,b' } }, '/spec/targets/selector/fieldSelectors/spec.nodeName'],
    [{ podPhaseSelectors: ['Crashing'] }, '/spec/targets/selector/podPhaseSelectors/0'],
    [{ pods: { shop: ['Web_1'] } }, '/spec/targets/selector/pods/shop/0'],
    [{ containerNames: ['a b'] }, '/spec/targets/selector/containerNames/0'],
    [{ processName: 'x' }, '/spec/targets/selector/processName'],
  ])('%j → 400 naming %s', (sel, field) => {
    expect(fields(sel)).toContain(field);
  });

  it('nodeSelectors need cluster scope', () => {
    expect(fields({ nodeSelectors: { zone: 'a' } }, { ...policy, scopeNamespaces: ['shop'] })).toEqual(['/spec/targets/selector/nodeSelectors']);
    expect(fields({ nodes: ['node-a'] }, { ...policy, scopeNamespaces: ['shop'] })).toEqual([]);
  });
});
