import {
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type V1Lease,
  type V1Namespace,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';

// The only Kubernetes API calls Faultline makes, in one place, so the RBAC rules in
// deploy/kubernetes/base/rbac.yaml can be read off this file (see the verb next to each method).

/** An API error with its HTTP status (404 not found, 409 conflict, 403 forbidden...). */
export class KubeError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** client-node errors carry the whole response body in their message; keep the Status message only. */
async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const status = statusOf(err);
    if (status === undefined) throw err;
    let reason = '';
    const body = (err as { body?: unknown }).body;
    try {
      reason = (typeof body === 'string' ? (JSON.parse(body) as { message?: string }) : (body as { message?: string }))?.message ?? '';
    } catch {
      reason = String(body ?? '');
    }
    throw new KubeError(status, `${what}: HTTP ${status}${reason ? `: ${reason}` : ''}`);
  }
}

export const isNotFound = (err: unknown) => err instanceof KubeError && err.status === 404;
export const isConflict = (err: unknown) => err instanceof KubeError && err.status === 409;

export class KubeClient {
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;

  constructor(readonly config: KubeConfig) {
    this.core = config.makeApiClient(CoreV1Api);
    this.coordination = config.makeApiClient(CoordinationV1Api);
  }

  /** A client for one API server URL, trusting `caPem` (as a kubeconfig's certificate-authority-data). */
  static forServer(server: string, token?: string, caPem?: string): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server, skipTLSVerify: false, ...(caPem ? { caData: Buffer.from(caPem).toString('base64') } : {}) }],
      users: [{ name: 'u', ...(token ? { token } : {}) }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return new KubeClient(kc);
  }

  /** pods: list (namespaced) */
  async listPods(namespace: string, labelSelector?: string, fieldSelector?: string): Promise<V1Pod[]> {
    const list = await call(`list pods in ${namespace}`, () =>
      this.core.listNamespacedPod({ namespace, ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) }),
    );
    return list.items;
  }

  /** pods: list (cluster scope only: every namespace, for GET /api/v1/targets) */
  async listAllPods(): Promise<V1Pod[]> {
    return (await call('list pods in all namespaces', () => this.core.listPodForAllNamespaces({}))).items;
  }

  /** pods: get */
  getPod(namespace: string, name: string): Promise<V1Pod> {
    return call(`get pod ${namespace}/${name}`, () => this.core.readNamespacedPod({ namespace, name }));
  }

  /** pods: delete — with the pod's uid as precondition, so a replacement with the same name is never hit. */
  async deletePod(namespace: string, name: string, uid: string, gracePeriodSeconds: number): Promise<void> {
    await call(`delete pod ${namespace}/${name}`, () =>
      this.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds, body: { gracePeriodSeconds, preconditions: { uid } } }),
    );
  }

  /** pods: patch (strategic merge: containers are merged by name). */
  patchPod(namespace: string, name: string, body: object): Promise<V1Pod> {
    return call(`patch pod ${namespace}/${name}`, () =>
      this.core.patchNamespacedPod({ namespace, name, body }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch)),
    );
  }

  /** namespaces: get (cluster scope only: reads the opt-in annotation). undefined when it does not exist. */
  async getNamespace(name: string): Promise<V1Namespace | undefined> {
    try {
      return await call(`get namespace ${name}`, () => this.core.readNamespace({ name }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** nodes: list (cluster scope only: for nodeSelectors). */
  async listNodes(labelSelector?: string): Promise<V1Node[]> {
    const list = await call('list nodes', () => this.core.listNode(labelSelector ? { labelSelector } : {}));
    return list.items;
  }

  /** events: create */
  createEvent(namespace: string, event: CoreV1Event): Promise<CoreV1Event> {
    return call(`create event in ${namespace}`, () => this.core.createNamespacedEvent({ namespace, body: event }));
  }

  /** leases: get (coordination.k8s.io) */
  async getLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    try {
      return await call(`get lease ${namespace}/${name}`, () => this.coordination.readNamespacedLease({ namespace, name }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** leases: create */
  createLease(namespace: string, lease: V1Lease): Promise<V1Lease> {
    return call(`create lease ${namespace}/${lease.metadata?.name}`, () => this.coordination.createNamespacedLease({ namespace, body: lease }));
  }

  /** leases: update — the body's resourceVersion makes it a compare-and-swap (409 when someone else wrote first). */
  replaceLease(namespace: string, lease: V1Lease): Promise<V1Lease> {
    const name = lease.metadata?.name ?? '';
    return call(`update lease ${namespace}/${name}`, () => this.coordination.replaceNamespacedLease({ namespace, name, body: lease }));
  }
}
