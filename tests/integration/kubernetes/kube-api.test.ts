import pino from 'pino';
import { ApiError } from '../../../api/errors';
import type { ExperimentSpec } from '../../../api/experiment';
import { KubeClient, KubeError } from '../../../exporter/targets/kubernetes/client';
import { kubernetesConfigFrom, type KubernetesConfig } from '../../../exporter/targets/kubernetes/config';
import { KubernetesMode } from '../../../exporter/targets/kubernetes/index';
import { LeaderElector } from '../../../exporter/targets/kubernetes/leader';
import { ORIGINAL_IMAGES_ANNOTATION } from '../../../exporter/targets/kubernetes/pod-failure';
import type { DaemonCaller } from '../../../exporter/targets/kubernetes/pod-fault';
import { KubernetesTargets, POD_KIND_DAEMON } from '../../../exporter/targets/kubernetes/resolver';
import { startPodDaemon } from '../../../exporter/targets/kubernetes/pod-daemon';
import { DaemonClient, DaemonError, DaemonRegistry } from '../../../exporter/daemons';
import { startKubernetes } from '../../../exporter/targets/kubernetes/setup';
import { startFakeApiServer, type FakeApiServer } from '../../helpers/fake-kube-apiserver';
import { namespace, node, OPTED_IN, pod } from '../../unit/kubernetes/fixtures';

// Faultline's Kubernetes client code (@kubernetes/client-node underneath) against an API-SHAPED
// STAND-IN (tests/helpers/fake-kube-apiserver.ts): no real API server can run on this machine (no
// kube-apiserver, kind or k3s package, no container engine). The stand-in serves the real REST paths
// and JSON shapes and reproduces the behaviour Faultline relies on (selectors, 401/403/404/409/415,
// grace periods, uid preconditions, strategic merge patches, Event validation, Lease
// compare-and-swap). What this cannot show — admission, a real kubelet restarting a container with
// the pause image, a real scheduler — is listed in the README as not tried.

const log = pino({ level: 'silent' });

function config(over: Partial<KubernetesConfig> = {}): KubernetesConfig {
  return { ...kubernetesConfigFrom({ kubernetes: true, kubernetesNamespace: 'faultline' }, {}), identity: 'exporter-0', leaseName: '', ...over };
}

/** Records daemon calls (container-kill is tested against a real daemon in container-pid.test.ts). */
function recordingDaemon(): DaemonCaller & { calls: unknown[] } {
  const calls: unknown[] = [];
  return {
    calls,
    async createFault(d, req) {
      calls.push({ op: 'create', url: d.url, req });
      return {};
    },
    async deleteFault(d, id) {
      calls.push({ op: 'delete', url: d.url, id });
    },
  };
}

function seed(api: FakeApiServer): void {
  api.namespaces.set('shop', namespace('shop', OPTED_IN));
  api.namespaces.set('payments', namespace('payments'));
  api.namespaces.set('kube-system', namespace('kube-system', OPTED_IN));
  api.namespaces.set('faultline', namespace('faultline'));
  api.nodes.set('node-a', node('node-a', { zone: 'z1' }));
  api.nodes.set('node-b', node('node-b', { zone: 'z2' }));
  api.addPod(pod({ name: 'web-1', labels: { app: 'web', tier: 'frontend' }, node: 'node-a' }));
  api.addPod(pod({ name: 'web-2', labels: { app: 'web', tier: 'frontend', track: 'canary' }, node: 'node-b' }));
  api.addPod(pod({ name: 'web-3', labels: { app: 'web', tier: 'frontend' }, node: 'node-b', annotations: { 'faultline.dev/protected': 'true' } }));
  api.addPod(pod({ name: 'api-1', labels: { app: 'api', tier: 'backend' }, node: 'node-a', containers: ['api', 'sidecar'] }));
  api.addPod(pod({ ns: 'payments', name: 'ledger-1', labels: { app: 'ledger' } }));
  api.addPod(pod({ ns: 'kube-system', name: 'coredns-1', labels: { app: 'web' } }));
  const d = pod({ ns: 'faultline', name: 'faultline-daemon-x1', labels: { 'app.kubernetes.io/name': 'faultline-daemon' }, node: 'node-a' });
  d.status!.podIP = '192.168.0.11';
  api.addPod(d);
  const d2 = pod({ ns: 'faultline', name: 'faultline-daemon-x2', labels: { 'app.kubernetes.io/name': 'faultline-daemon' }, node: 'node-b' });
  d2.status!.podIP = '192.168.0.12';
  api.addPod(d2);
}

describe('Kubernetes mode against the API-shaped stand-in', () => {
  let api: FakeApiServer;
  let k8s: KubernetesMode;
  let daemon: ReturnType<typeof recordingDaemon>;

  beforeEach(async () => {
    api = await startFakeApiServer();
    seed(api);
    daemon = recordingDaemon();
    k8s = new KubernetesMode(config(), KubeClient.forServer(api.url, api.token, api.ca), { log, daemon });
  });
  afterEach(async () => {
    await api.close();
  });

  it('lists pods with labelSelector and fieldSelector query parameters and reads the opt-in annotation', async () => {
    const r = await k8s.resolve(
      {
        selector: {
          namespaces: ['shop', 'payments', 'kube-system'],
          labelSelectors: { app: 'web' },
          expressionSelectors: [{ key: 'track', operator: 'DoesNotExist' }],
          fieldSelectors: { 'status.phase': 'Running' },
        },
      },
      'default',
    );
    expect(r.targets.map((t) => t.id)).toEqual(['shop/web-1']);
    const lists = api.requests.filter((q) => q.method === 'GET' && q.path.endsWith('/pods'));
    expect(lists).toEqual([
      { method: 'GET', path: '/api/v1/namespaces/shop/pods', query: { labelSelector: 'app=web,!track', fieldSelector: 'status.phase=Running' } },
    ]);
    // opt-in read for payments (refused: not listed at all); kube-system never even read
    expect(api.requests.filter((q) => q.path.startsWith('/api/v1/namespaces/') && !q.path.includes('/pods')).map((q) => q.path)).toEqual([
      '/api/v1/namespaces/payments',
      '/api/v1/namespaces/shop',
    ]);
    expect(r.excluded).toEqual([
      { pod: 'kube-system/*', reason: 'namespace kube-system is protected' },
      { pod: 'payments/*', reason: 'namespace payments has not opted in (annotation faultline.dev/enabled: "true")' },
      { pod: 'shop/web-3', reason: 'pod is annotated faultline.dev/protected' },
    ]);
    expect(r.targets[0]).toMatchObject({ namespace: 'shop', name: 'web-1', node: 'node-a', containers: [{ name: 'app', containerId: expect.stringMatching(/^containerd:\/\//) }] });
  });

  it('set-based selectors go to the server too; a protected pod the server returns is dropped here', async () => {
    const r = await k8s.resolve({ selector: { expressionSelectors: [{ key: 'tier', operator: 'In', values: ['frontend', 'edge'] }] } }, 'shop');
    expect(api.requests.find((q) => q.path.endsWith('/pods'))?.query).toEqual({ labelSelector: 'tier in (edge,frontend)' });
    expect(r.targets.map((t) => t.id)).toEqual(['shop/web-1', 'shop/web-2']);
    expect(r.excluded).toEqual([{ pod: 'shop/web-3', reason: 'pod is annotated faultline.dev/protected' }]);
  });

  it('nodeSelectors list nodes by label; mode picks its share', async () => {
    const r = await k8s.resolve({ selector: { labelSelectors: { app: 'web' }, nodeSelectors: { zone: 'z2' } } }, 'shop');
    expect(api.requests.find((q) => q.path === '/api/v1/nodes')?.query).toEqual({ labelSelector: 'zone=z2' });
    expect(r.targets.map((t) => t.id)).toEqual(['shop/web-2']);
    const one = await k8s.resolve({ selector: { labelSelectors: { tier: 'frontend' } }, mode: 'one' }, 'shop');
    expect(one.targets).toHaveLength(1);
    expect(one.eligible).toBe(2);
  });

  it('pods (ns → names) reads exactly those pods; a missing one is reported', async () => {
    const r = await k8s.resolve({ selector: { pods: { shop: ['api-1', 'ghost'] }, containerNames: ['sidecar'] } }, 'default');
    expect(r.targets.map((t) => [t.id, t.containers.map((c) => c.name)])).toEqual([['shop/api-1', ['sidecar']]]);
    expect(r.excluded).toEqual([{ pod: 'shop/ghost', reason: 'pod does not exist' }]);
    expect(api.requests.filter((q) => q.path.includes('/pods')).map((q) => q.path)).toEqual(['/api/v1/namespaces/shop/pods/api-1', '/api/v1/namespaces/shop/pods/ghost']);
  });

  it('a selector that matches nothing eligible is a 422 naming /spec/targets/selector with the reasons', async () => {
    const err = await k8s.resolve({ selector: { namespaces: ['payments'] } }, 'shop').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(422);
    expect((err as ApiError).details?.[0]).toEqual({ field: '/spec/targets/selector', reason: expect.stringContaining('payments/* (namespace payments has not opted in') });
    // bad input is a 400 before any API call
    const before = api.requests.length;
    await expect(k8s.resolve({ selector: { labelSelectors: { app: 'a,b' } } }, 'shop')).rejects.toMatchObject({ status: 400 });
    await expect(k8s.resolve({ selector: {}, mode: 'fixed' }, 'shop')).rejects.toMatchObject({ status: 400, details: [{ field: '/spec/targets/value', reason: 'is required for mode fixed' }] });
    expect(api.requests.length).toBe(before);
  });

  it('namespace-scoped mode (a Role): only its namespaces, no cluster-scoped call (the server would answer 403)', async () => {
    const scopedApi = await startFakeApiServer({ scopedTo: ['shop', 'faultline'] });
    try {
      seed(scopedApi);
      const scoped = new KubernetesMode(config({ scopeNamespaces: ['shop'] }), KubeClient.forServer(scopedApi.url, scopedApi.token, scopedApi.ca), { log, daemon });
      const r = await scoped.resolve({ selector: { namespaces: ['shop', 'payments'], labelSelectors: { app: 'web' } } }, 'shop');
      expect(r.targets.map((t) => t.id)).toEqual(['shop/web-1', 'shop/web-2']);
      expect(r.excluded[0]).toEqual({ pod: 'payments/*', reason: "namespace payments is outside the exporter's namespaces (shop)" });
      expect(scopedApi.requests.map((q) => q.path)).toEqual(['/api/v1/namespaces/shop/pods']);
      await expect(scoped.resolve({ selector: { nodeSelectors: { zone: 'z1' } } }, 'shop')).rejects.toMatchObject({
        status: 400,
        details: [{ field: '/spec/targets/selector/nodeSelectors' }],
      });
      // the stand-in enforces the Role: a cluster-scoped call is a 403 KubeError
      await expect(KubeClient.forServer(scopedApi.url, scopedApi.token, scopedApi.ca).listNodes()).rejects.toMatchObject({ status: 403 });
      const targets = new KubernetesTargets(scoped);
      expect((await targets.candidates()).map((c) => c.description)).toEqual(['shop/web-1', 'shop/web-2', 'shop/api-1']);
    } finally {
      await scopedApi.close();
    }
  });

  it('pod-kill deletes with gracePeriodSeconds and the uid precondition, and records Events', async () => {
    const [target] = (await k8s.resolve({ selector: { pods: { shop: ['web-1'] } } }, 'shop')).targets;
    const state = await k8s.inject({ id: 'kill-web-1', kind: 'pod-kill', target, params: { gracePeriodSeconds: 5 }, experiment: 'experiment shop/kill-web' });
    expect(state).toEqual({ deleted: true });
    const del = api.requests.find((q) => q.method === 'DELETE');
    expect(del).toMatchObject({ path: '/api/v1/namespaces/shop/pods/web-1', query: { gracePeriodSeconds: '5' }, body: { gracePeriodSeconds: 5, preconditions: { uid: target.uid } } });
    expect(api.pods.get('shop/web-1')?.metadata.deletionTimestamp).toBeDefined(); // terminating for 5 s
    expect(api.events).toHaveLength(1);
    expect(api.events[0]).toMatchObject({
      involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'shop', uid: target.uid, apiVersion: 'v1' },
      reason: 'FaultInjected',
      type: 'Normal',
      message: 'pod-kill injected by experiment shop/kill-web',
      source: { component: 'faultline' },
      count: 1,
    });
    expect(api.events[0].firstTimestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    await k8s.recover({ id: 'kill-web-1', kind: 'pod-kill', target, params: {}, experiment: 'experiment shop/kill-web' }, state);
    expect(api.events.map((e) => e.reason)).toEqual(['FaultInjected', 'FaultRecovered']);

    // grace period 0 removes it at once; a replacement with the same name (new uid) is never killed
    const [t2] = (await k8s.resolve({ selector: { pods: { shop: ['web-2'] } } }, 'shop')).targets;
    api.addPod({ ...api.pods.get('shop/web-2'), metadata: { ...api.pods.get('shop/web-2')?.metadata, uid: 'replacement-uid' } });
    expect(await k8s.inject({ id: 'k2', kind: 'pod-kill', target: t2, params: {}, experiment: 'experiment shop/x' })).toEqual({ deleted: false });
    expect(api.pods.has('shop/web-2')).toBe(true);
    const [t1] = (await k8s.resolve({ selector: { pods: { shop: ['api-1'] } } }, 'shop')).targets;
    await k8s.inject({ id: 'k3', kind: 'pod-kill', target: t1, params: {}, experiment: 'experiment shop/x' });
    expect(api.requests.filter((q) => q.method === 'DELETE').pop()?.query).toEqual({ gracePeriodSeconds: '0' });
    expect(api.pods.has('shop/api-1')).toBe(false);
  });

  it('pod-failure patches the images to the pause image (strategic merge) and restores them, also from the annotation alone', async () => {
    const [target] = (await k8s.resolve({ selector: { pods: { shop: ['api-1'] } } }, 'shop')).targets;
    const req = { id: 'pf-1', kind: 'pod-failure', target, params: {}, experiment: 'experiment shop/fail-api' };
    const state = await k8s.inject(req);
    const patch = api.requests.find((q) => q.method === 'PATCH');
    expect(patch?.contentType).toBe('application/strategic-merge-patch+json');
    const live = () => api.pods.get('shop/api-1') as { spec: { containers: { name: string; image: string }[] }; metadata: { annotations?: Record<string, string> } };
    expect(live().spec.containers.map((c) => c.image)).toEqual(['registry.k8s.io/pause:3.10', 'registry.k8s.io/pause:3.10']);
    expect(JSON.parse(live().metadata.annotations?.[ORIGINAL_IMAGES_ANNOTATION] ?? '{}')).toEqual({ api: 'registry.example/api:1.2.3', sidecar: 'registry.example/sidecar:1.2.3' });
    expect(state).toMatchObject({ pauseImage: 'registry.k8s.io/pause:3.10', images: { api: 'registry.example/api:1.2.3' } });

    // injecting twice keeps the true originals
    await k8s.inject(req);
    expect(JSON.parse(live().metadata.annotations?.[ORIGINAL_IMAGES_ANNOTATION] ?? '{}').api).toBe('registry.example/api:1.2.3');

    // the exporter lost its state: the annotation alone restores
    await k8s.recover(req, {});
    expect(live().spec.containers.map((c) => c.image)).toEqual(['registry.example/api:1.2.3', 'registry.example/sidecar:1.2.3']);
    expect(live().metadata.annotations?.[ORIGINAL_IMAGES_ANNOTATION]).toBeUndefined();
    const patches = api.requests.filter((q) => q.method === 'PATCH').length;
    await k8s.recover(req, state); // idempotent: nothing left to patch
    expect(api.requests.filter((q) => q.method === 'PATCH').length).toBe(patches);
    expect(api.events.map((e) => e.reason)).toEqual(['FaultInjected', 'FaultInjected', 'FaultRecovered', 'FaultRecovered']);
  });

  it('pod-failure: only the selected containers, a custom pause image; a human change wins; a deleted pod needs nothing', async () => {
    const [target] = (await k8s.resolve({ selector: { pods: { shop: ['api-1'] }, containerNames: ['sidecar'] } }, 'shop')).targets;
    const req = { id: 'pf-2', kind: 'pod-failure', target, params: { pauseImage: 'registry.example/pause:1' }, experiment: 'experiment shop/x' };
    const state = await k8s.inject(req);
    const containers = () => (api.pods.get('shop/api-1')?.spec.containers as { name: string; image: string }[]).map((c) => `${c.name}=${c.image}`);
    expect(containers()).toEqual(['api=registry.example/api:1.2.3', 'sidecar=registry.example/pause:1']);
    (api.pods.get('shop/api-1')?.spec.containers as { image: string }[])[1].image = 'registry.example/sidecar:2.0.0'; // someone rolled it
    await k8s.recover(req, state);
    expect(containers()).toEqual(['api=registry.example/api:1.2.3', 'sidecar=registry.example/sidecar:2.0.0']);

    await expect(k8s.inject({ ...req, params: { pauseImage: 'bad image; rm -rf' } })).rejects.toMatchObject({ status: 400, details: [{ field: '/spec/fault/params/pauseImage' }] });
    api.pods.delete('shop/api-1');
    await expect(k8s.recover(req, state)).resolves.toBeUndefined();
    await expect(k8s.inject(req)).rejects.toMatchObject({ status: 422 });
    expect(api.events.at(-1)).toMatchObject({ reason: 'FaultFailed', type: 'Warning' });
  });

  it('container-kill finds the daemon on the pod\'s node and asks it for process-kill on {containerId}', async () => {
    const k = new KubernetesMode(config({ daemonPort: 9555 }), KubeClient.forServer(api.url, api.token, api.ca), { log, daemon });
    const [target] = (await k.resolve({ selector: { pods: { shop: ['web-2'] } } }, 'shop')).targets;
    const state = await k.inject({ id: 'ck-web-2', kind: 'container-kill', target, params: { signal: 'SIGTERM' }, experiment: 'experiment shop/ck' });
    expect(api.requests.find((q) => q.path === '/api/v1/namespaces/faultline/pods')?.query).toEqual({
      labelSelector: 'app.kubernetes.io/name=faultline-daemon',
      fieldSelector: 'spec.nodeName=node-b',
    });
    expect(daemon.calls).toEqual([
      {
        op: 'create',
        url: 'http://192.168.0.12:9555',
        req: { id: expect.stringMatching(/^ck-[0-9a-f]{20}$/), kind: 'process-kill', params: { signal: 'SIGTERM' }, target: { containerId: target.containers[0].containerId }, leaseSeconds: 60 },
      },
    ]);
    await k.recover({ id: 'ck-web-2', kind: 'container-kill', target, params: {}, experiment: 'experiment shop/ck' }, state);
    expect(daemon.calls[1]).toMatchObject({ op: 'delete', url: 'http://192.168.0.12:9555' });
    // no daemon on the node → 422 that says so
    api.pods.delete('faultline/faultline-daemon-x2');
    await expect(k.inject({ id: 'ck2', kind: 'container-kill', target, params: {}, experiment: 'experiment shop/ck' })).rejects.toMatchObject({
      status: 422,
      details: [{ field: '/target', reason: expect.stringContaining('runs on node node-b') }],
    });
  });

  it('node-level kinds: targets on the daemon named after the node, one per pod for network kinds, per container otherwise', async () => {
    const targets = new KubernetesTargets(k8s);
    const spec = (kind: string) =>
      ({ fault: { kind, params: {} }, duration: '30s', targets: { selector: { pods: { shop: ['api-1'] } }, mode: 'all' } }) as unknown as ExperimentSpec;
    const net = await targets.resolve('shop', spec('network-loss'));
    expect(net.selected).toEqual([{ daemon: 'node-a', target: { containerId: expect.stringMatching(/^containerd:\/\//) }, description: 'shop/api-1' }]);
    const cpu = await targets.resolve('shop', spec('cpu-stress'));
    expect(cpu.selected.map((t) => t.description)).toEqual(['shop/api-1/api', 'shop/api-1/sidecar']);
    const kill = await targets.resolve('shop', spec('pod-kill'));
    expect(kill.selected).toEqual([
      { daemon: POD_KIND_DAEMON, target: { pod: { namespace: 'shop', name: 'api-1', uid: api.pods.get('shop/api-1')?.metadata.uid, containers: ['api', 'sidecar'] } }, description: 'shop/api-1' },
    ]);
    expect(await targets.daemonConfigs('tok')).toEqual([
      { url: 'http://192.168.0.11:9471', name: 'node-a', token: 'tok' },
      { url: 'http://192.168.0.12:9471', name: 'node-b', token: 'tok' },
    ]);
    // candidates (cluster scope): one list of all pods; protected namespaces/pods and not-opted-in namespaces left out
    const c = await targets.candidates();
    expect(c.map((x) => x.description).sort()).toEqual(['shop/api-1', 'shop/web-1', 'shop/web-2']);
  });

  it('startKubernetes: node daemons named after their nodes plus the pod daemon; nodes that join later are added', async () => {
    const setup = await startKubernetes(config(), { log, mode: k8s, daemonToken: 'tok' });
    try {
      expect(setup.daemons.map((d) => d.name)).toEqual(['node-a', 'node-b', 'kubernetes-api']);
      const registry = new DaemonRegistry(setup.daemons, { log });
      const d3 = pod({ ns: 'faultline', name: 'faultline-daemon-x3', labels: { 'app.kubernetes.io/name': 'faultline-daemon' }, node: 'node-c' });
      d3.status!.podIP = '192.168.0.13';
      api.addPod(d3);
      expect(await setup.syncDaemons(registry)).toBe(1);
      expect(registry.byName('node-c')?.base).toBe('http://192.168.0.13:9471');
      expect(await setup.syncDaemons(registry)).toBe(0);
      registry.close();
    } finally {
      await setup.close();
    }
  });

  it('with leader election on, a standby replica refuses to plan targets (503); the leader does', async () => {
    const other = new LeaderElector(KubeClient.forServer(api.url, api.token, api.ca), { namespace: 'faultline', name: 'faultline-exporter', identity: 'exporter-other' });
    expect(await other.tryAcquireOrRenew()).toBe(true);
    const standby = new KubernetesMode(config({ leaseName: 'faultline-exporter', identity: 'exporter-0' }), KubeClient.forServer(api.url, api.token, api.ca), { log, daemon });
    expect(await standby.leader?.tryAcquireOrRenew()).toBe(false);
    const spec = { fault: { kind: 'pod-kill', params: {} }, duration: '30s', targets: { selector: {}, mode: 'all' } } as unknown as ExperimentSpec;
    await expect(new KubernetesTargets(standby).resolve('shop', spec)).rejects.toMatchObject({ status: 503, code: 'not_leader' });
    await other.stop(); // releases the Lease
    expect(await standby.leader?.tryAcquireOrRenew()).toBe(true);
    expect((await new KubernetesTargets(standby).resolve('shop', spec)).selected.length).toBe(3);
  });

  it('API errors keep their status and the server\'s message; no token is a 401', async () => {
    const anon = KubeClient.forServer(api.url, undefined, api.ca);
    await expect(anon.listPods('shop')).rejects.toMatchObject({ status: 401 });
    const err = await k8s.client.getPod('shop', 'nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeError);
    expect((err as KubeError).message).toBe('get pod shop/nope: HTTP 404: pods "nope" not found');
    await expect(k8s.client.patchPod('shop', 'web-1', { spec: { containers: [{ name: 'new', image: 'x' }] } })).rejects.toMatchObject({ status: 422 });
  });
});

describe('the pod daemon: pod kinds behind the node daemon API, driven by the exporter\'s DaemonClient', () => {
  let api: FakeApiServer;
  let k8s: KubernetesMode;
  beforeEach(async () => {
    api = await startFakeApiServer();
    seed(api);
    k8s = new KubernetesMode(config(), KubeClient.forServer(api.url, api.token, api.ca), { log, daemon: recordingDaemon() });
  });
  afterEach(async () => {
    await api.close();
  });
  const ref = (name: string) => ({ namespace: 'shop', name, uid: api.pods.get(`shop/${name}`)?.metadata.uid as string });
  const images = (name: string) => (api.pods.get(`shop/${name}`)?.spec.containers as { image: string }[]).map((c) => c.image);

  it('create, list, idempotent retry, renew, delete; info names the kinds; token required', async () => {
    const pd = await startPodDaemon(k8s, { sweepMs: 50 });
    try {
      const client = new DaemonClient({ url: pd.url, token: pd.token });
      const info = await client.fetchInfo();
      expect(info).toMatchObject({ name: 'kubernetes-api', capabilities: { k8s: { available: true } } });
      expect(info.kinds.map((k) => k.kind).sort()).toEqual(['container-kill', 'pod-failure', 'pod-kill']);
      const req = { id: 'fl-pf-api-1', kind: 'pod-failure', params: {}, target: { pod: ref('api-1') }, leaseSeconds: 30 };
      const first = await client.createFault(req);
      expect(first).toMatchObject({ created: true, fault: { id: 'fl-pf-api-1', phase: 'active' } });
      expect(images('api-1')).toEqual(['registry.k8s.io/pause:3.10', 'registry.k8s.io/pause:3.10']);
      expect((await client.createFault(req)).created).toBe(false); // the engine's retry after a restart: 200, not applied twice
      expect(api.requests.filter((q) => q.method === 'PATCH')).toHaveLength(1);
      await expect(client.createFault({ ...req, params: { pauseImage: 'other:1' } })).rejects.toMatchObject({ status: 409 });
      expect((await client.listFaults()).map((f) => f.id)).toEqual(['fl-pf-api-1']);
      const renewed = await client.renewLease('fl-pf-api-1', 60);
      expect(Date.parse(renewed.leaseExpiresAt)).toBeGreaterThan(Date.now() + 50_000);
      expect(await client.deleteFault('fl-pf-api-1')).toMatchObject({ phase: 'recovered' });
      expect(images('api-1')).toEqual(['registry.example/api:1.2.3', 'registry.example/sidecar:1.2.3']);
      expect(await client.deleteFault('fl-pf-api-1')).toBeUndefined(); // 404 = already gone
      const anon = new DaemonClient({ url: pd.url });
      await expect(anon.listFaults()).rejects.toMatchObject({ status: 401 });
    } finally {
      await pd.close();
    }
  });

  it('a lease that is not renewed reverts the fault (pod-failure gets its images back)', async () => {
    const pd = await startPodDaemon(k8s, { sweepMs: 50 });
    try {
      const client = new DaemonClient({ url: pd.url, token: pd.token });
      await client.createFault({ id: 'fl-lease', kind: 'pod-failure', params: {}, target: { pod: ref('web-1') }, leaseSeconds: 1 });
      expect(images('web-1')).toEqual(['registry.k8s.io/pause:3.10']);
      const deadline = Date.now() + 20_000;
      while ((await client.listFaults()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await client.listFaults()).toEqual([]);
      expect(images('web-1')).toEqual(['registry.example/app:1.2.3']);
      expect(api.events.map((e) => e.reason)).toEqual(['FaultInjected', 'FaultRecovered']);
    } finally {
      await pd.close();
    }
  });

  it('after an exporter crash nothing stays paused: DELETE of an id no longer held finds the pod by its mark; the rest after the grace period', async () => {
    const pd1 = await startPodDaemon(k8s);
    const c1 = new DaemonClient({ url: pd1.url, token: pd1.token });
    await c1.createFault({ id: 'fl-a', kind: 'pod-failure', params: {}, target: { pod: ref('web-1') }, leaseSeconds: 30 });
    await c1.createFault({ id: 'fl-b', kind: 'pod-failure', params: { pauseImage: 'registry.example/pause:9' }, target: { pod: ref('api-1') }, leaseSeconds: 30 });
    expect(JSON.parse(api.pods.get('shop/web-1')?.metadata.annotations['faultline.dev/pod-failure'])).toEqual({ fault: 'fl-a', pauseImage: 'registry.k8s.io/pause:3.10' });
    await pd1.close(); // the exporter died: its leases and state are gone, the pods are still paused

    const pd2 = await startPodDaemon(k8s, { orphanGraceMs: 1500 });
    try {
      const c2 = new DaemonClient({ url: pd2.url, token: pd2.token });
      await c2.createFault({ id: 'fl-c', kind: 'pod-failure', params: {}, target: { pod: ref('web-2') }, leaseSeconds: 30 }); // re-posted: held again
      expect(await c2.deleteFault('fl-a')).toMatchObject({ id: 'fl-a', phase: 'recovered' });
      expect(images('web-1')).toEqual(['registry.example/app:1.2.3']);
      expect(api.pods.get('shop/web-1')?.metadata.annotations?.['faultline.dev/pod-failure']).toBeUndefined();
      const deadline = Date.now() + 20_000;
      while (images('api-1')[0] !== 'registry.example/api:1.2.3' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(images('api-1')).toEqual(['registry.example/api:1.2.3', 'registry.example/sidecar:1.2.3']); // custom pause image, from the mark
      expect(images('web-2')).toEqual(['registry.k8s.io/pause:3.10']); // held: not an orphan
      expect(await c2.deleteFault('fl-nothing')).toBeUndefined(); // 404: nothing anywhere
      await c2.deleteFault('fl-c');
      expect(images('web-2')).toEqual(['registry.example/app:1.2.3']);
    } finally {
      await pd2.close();
    }
  });

  it('refuses what is not a pod kind, a missing pod, a replaced pod, and a pod protected since planning — nothing applied', async () => {
    const pd = await startPodDaemon(k8s);
    try {
      const client = new DaemonClient({ url: pd.url, token: pd.token });
      const fail = (req: Record<string, unknown>) => client.createFault(req as never).catch((e: unknown) => e as DaemonError);
      expect(await fail({ id: 'a', kind: 'network-loss', params: {}, target: { pod: ref('web-1') }, leaseSeconds: 5 })).toMatchObject({ status: 422 });
      expect(await fail({ id: 'b', kind: 'pod-kill', params: {}, leaseSeconds: 5 })).toMatchObject({ status: 400 });
      expect(await fail({ id: 'c', kind: 'pod-kill', params: {}, target: { pod: { ...ref('web-1'), uid: 'someone-else' } }, leaseSeconds: 5 })).toMatchObject({ status: 422 });
      expect(await fail({ id: 'd', kind: 'pod-kill', params: {}, target: { pod: { namespace: 'shop', name: 'ghost', uid: 'x' } }, leaseSeconds: 5 })).toMatchObject({ status: 422 });
      expect(await fail({ id: 'e', kind: 'pod-kill', params: { gracePeriodSeconds: -1 }, target: { pod: ref('web-1') }, leaseSeconds: 5 })).toMatchObject({ status: 400 });
      expect(await fail({ id: 'f', kind: 'pod-kill', params: {}, target: { pod: { ...ref('web-1'), name: 'Web 1; rm' } }, leaseSeconds: 5 })).toMatchObject({ status: 400 });
      api.pods.get('shop/web-1')!.metadata.annotations = { 'faultline.dev/protected': 'true' };
      expect(await fail({ id: 'g', kind: 'pod-kill', params: {}, target: { pod: ref('web-1') }, leaseSeconds: 5 })).toMatchObject({ status: 422 });
      expect(api.requests.filter((q) => q.method === 'DELETE' || q.method === 'PATCH')).toEqual([]);
      expect(await client.listFaults()).toEqual([]);
    } finally {
      await pd.close();
    }
  });
});

describe('leader election with a coordination.k8s.io Lease', () => {
  let api: FakeApiServer;
  let clock = 1_800_000_000_000;
  const now = () => clock;
  beforeEach(async () => {
    api = await startFakeApiServer();
  });
  afterEach(async () => {
    await api.close();
  });
  const elector = (identity: string) =>
    new LeaderElector(KubeClient.forServer(api.url, api.token, api.ca), { namespace: 'faultline', name: 'faultline-exporter', identity, leaseDurationSeconds: 15, renewDeadlineMs: 10_000, now });

  it('one leader; the other takes over only after the lease ran out on its own clock; MicroTime on the wire', async () => {
    const a = elector('exporter-a');
    const b = elector('exporter-b');
    const started: string[] = [];
    a.on('started', () => started.push('a'));
    b.on('started', () => started.push('b'));
    a.on('stopped', () => started.push('a-stopped'));

    expect(await a.tryAcquireOrRenew()).toBe(true); // creates the Lease
    expect(await b.tryAcquireOrRenew()).toBe(false);
    const lease = api.leases.get('faultline/faultline-exporter');
    expect(lease?.spec).toMatchObject({ holderIdentity: 'exporter-a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(lease?.spec.renewTime).toMatch(/\.\d{6}Z$/);

    clock += 5_000;
    expect(await a.tryAcquireOrRenew()).toBe(true); // renew
    clock += 10_000;
    expect(await b.tryAcquireOrRenew()).toBe(false); // b saw a's renewal 10 s ago: not expired
    clock += 16_000; // a stopped renewing (crashed)
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(api.leases.get('faultline/faultline-exporter')?.spec).toMatchObject({ holderIdentity: 'exporter-b', leaseTransitions: 1 });
    expect(await a.tryAcquireOrRenew()).toBe(false); // a comes back: steps down
    expect(started).toEqual(['a', 'b', 'a-stopped']);
    expect(a.isLeader).toBe(false);
    expect(b.isLeader).toBe(true);
  });

  it('two candidates racing for an expired lease: exactly one wins (409 Conflict for the other)', async () => {
    const old = elector('exporter-old');
    await old.tryAcquireOrRenew();
    const candidates = Array.from({ length: 5 }, (_, i) => elector(`exporter-${i}`));
    await Promise.all(candidates.map((c) => c.tryAcquireOrRenew())); // all observe the record
    clock += 20_000;
    const wins = await Promise.all(candidates.map((c) => c.tryAcquireOrRenew()));
    expect(wins.filter(Boolean)).toHaveLength(1);
    // Each candidate that read the expired record tried a compare-and-swap; the server let one through.
    expect(api.requests.filter((q) => q.method === 'PUT').length).toBeGreaterThanOrEqual(1);
    const holder = api.leases.get('faultline/faultline-exporter')?.spec.holderIdentity;
    expect(candidates.find((c) => c.isLeader)?.['opts'].identity).toBe(holder);
  });

  it('stop() releases the lease so a successor need not wait; start() campaigns on a timer', async () => {
    const a = new LeaderElector(KubeClient.forServer(api.url, api.token, api.ca), { namespace: 'faultline', name: 'l2', identity: 'a', retryPeriodMs: 50 });
    a.start();
    const deadline = Date.now() + 20_000;
    while (!a.isLeader && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(a.isLeader).toBe(true);
    await a.stop();
    expect(api.leases.get('faultline/l2')?.spec.holderIdentity).toBe('');
    const b = new LeaderElector(KubeClient.forServer(api.url, api.token, api.ca), { namespace: 'faultline', name: 'l2', identity: 'b' });
    expect(await b.tryAcquireOrRenew()).toBe(true);
  });

  it('a leader that cannot reach the API server steps down after the renew deadline', async () => {
    const a = elector('exporter-a');
    expect(await a.tryAcquireOrRenew()).toBe(true);
    await api.close();
    clock += 5_000;
    expect(await a.tryAcquireOrRenew()).toBe(true); // within the deadline: still leader
    clock += 6_000;
    expect(await a.tryAcquireOrRenew()).toBe(false);
    api = await startFakeApiServer(); // for afterEach
  });
});

describe('--kubernetes flags and FAULTLINE_KUBERNETES_* environment', () => {
  it('defaults', () => {
    const c = kubernetesConfigFrom({}, { POD_NAMESPACE: 'chaos', POD_NAME: 'exporter-7' });
    expect(c).toEqual({
      enabled: false,
      namespace: 'chaos',
      protectedNamespaces: ['kube-public', 'kube-node-lease'],
      requireNamespaceOptIn: true,
      pauseImage: 'registry.k8s.io/pause:3.10',
      daemonSelector: 'app.kubernetes.io/name=faultline-daemon',
      daemonPort: 9471,
      leaseName: 'faultline-exporter',
      identity: 'exporter-7',
      events: true,
    });
  });

  it('flags win over the environment', () => {
    const env = { FAULTLINE_KUBERNETES: 'true', FAULTLINE_KUBERNETES_DAEMON_PORT: '9000', FAULTLINE_KUBERNETES_SCOPE_NAMESPACES: 'a, b', FAULTLINE_KUBERNETES_REQUIRE_OPT_IN: 'false' };
    const c = kubernetesConfigFrom({ kubernetesDaemonPort: '9100', kubernetesNamespace: 'ops' }, env);
    expect(c).toMatchObject({ enabled: true, daemonPort: 9100, namespace: 'ops', scopeNamespaces: ['a', 'b'], requireNamespaceOptIn: false });
  });

  it.each([
    [{ kubernetesDaemonPort: '70000' }, '--kubernetes-daemon-port'],
    [{ kubernetesDaemonPort: 'http' }, '--kubernetes-daemon-port'],
    [{ kubernetesRequireOptIn: 'maybe' }, '--kubernetes-require-opt-in'],
    [{ kubernetes: 'yes please' }, '--kubernetes'],
    [{ kubernetesPauseImage: 'pause;reboot' }, '--kubernetes-pause-image'],
    [{ kubernetesScopeNamespaces: 'shop,Bad_NS' }, '--kubernetes-scope-namespaces'],
    [{ kubernetesNamespace: '-x' }, '--kubernetes-namespace'],
    [{ kubernetesDaemonSelector: 'app in (x)' }, '--kubernetes-daemon-selector'],
    [{ kubernetesLease: 'Lease!' }, '--kubernetes-lease'],
  ])('%j → 400 naming %s', (opts, flag) => {
    try {
      kubernetesConfigFrom(opts as Record<string, unknown>, { POD_NAMESPACE: 'faultline' });
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).details?.map((d) => d.field)).toContain(flag);
    }
  });
});
