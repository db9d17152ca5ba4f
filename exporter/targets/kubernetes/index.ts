import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import pino from 'pino';
import type { DaemonTarget } from '../../../api/daemon';
import { ApiError } from '../../../api/errors';
import { kindSpec } from '../../../api/kinds/index';
import { validate } from '../../../api/validate';
import { KubeClient } from './client';
import type { KubernetesConfig } from './config';
import containerKill from './container-kill';
import { daemonForNode, fetchDaemonCaller } from './daemons';
import { recordPodEvent } from './pod-events';
import { LeaderElector } from './leader';
import type { Mode } from '../mode';
import podFailure from './pod-failure';
import type { DaemonCaller, DaemonRef, PodFaultEnv, PodFaultKind } from './pod-fault';
import podKill from './pod-kill';
import { resolvePods, type Resolution } from './resolve';
import type { SafetyPolicy } from './protected';
import type { PodTarget } from './select';

// Kubernetes mode in one object for the exporter's engine:
//   resolve()     spec.targets (Chaos Mesh selector + mode) → pods, safety applied
//   inject()/recover()  pod-kill, pod-failure, container-kill, with Events on the pod
//   nodeTargets() for every node-level kind (network, stress, process): which daemon, which {containerId}
//   leader        one active exporter among replicas (coordination.k8s.io Lease)

export const POD_KINDS: readonly PodFaultKind[] = [containerKill, podFailure, podKill] as unknown as readonly PodFaultKind[];

export function podFaultKind(kind: string): PodFaultKind | undefined {
  return POD_KINDS.find((k) => k.spec.kind === kind);
}

export interface PodFaultRequest {
  /** Unique per experiment run and target (names daemon faults). */
  id: string;
  kind: string;
  target: PodTarget;
  params: Record<string, unknown>;
  /** Who asked, for the Event message: `experiment shop/kill-web`, `Faultline fault fl-…`. */
  experiment: string;
}

export interface NodeTarget {
  daemon: DaemonRef;
  target: DaemonTarget;
  /** `ns/pod` or `ns/pod/container` */
  description: string;
}

export class KubernetesMode {
  readonly policy: SafetyPolicy;
  readonly leader?: LeaderElector;
  private readonly env: PodFaultEnv;
  private readonly log: Logger;

  constructor(
    readonly config: KubernetesConfig,
    readonly client: KubeClient,
    opts: { log?: Logger; daemon?: DaemonCaller; daemonToken?: string } = {},
  ) {
    this.log = opts.log ?? pino({ level: 'silent' });
    this.policy = {
      ownNamespace: config.namespace,
      protectedNamespaces: config.protectedNamespaces,
      requireNamespaceOptIn: config.requireNamespaceOptIn,
      ...(config.scopeNamespaces ? { scopeNamespaces: config.scopeNamespaces } : {}),
    };
    const locator = { namespace: config.namespace, labelSelector: config.daemonSelector, port: config.daemonPort };
    this.env = {
      pauseImage: config.pauseImage,
      daemonForNode: (node) => daemonForNode(client, locator, node),
      daemon: opts.daemon ?? fetchDaemonCaller(opts.daemonToken),
    };
    if (config.leaseName) {
      this.leader = new LeaderElector(client, { namespace: config.namespace, name: config.leaseName, identity: config.identity, log: this.log });
    }
  }

  /** Builds the client from the config: --kubeconfig, else in-cluster, else $KUBECONFIG / ~/.kube/config. */
  static fromConfig(config: KubernetesConfig, opts: { log?: Logger; daemon?: DaemonCaller; daemonToken?: string } = {}): KubernetesMode {
    const kc = new KubeConfig();
    if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
    else kc.loadFromDefault();
    return new KubernetesMode(config, new KubeClient(kc), opts);
  }

  resolve(targets: { selector: unknown; mode?: Mode; value?: string }, experimentNamespace: string, random?: () => number): Promise<Resolution> {
    return resolvePods(this.client, targets.selector, {
      experimentNamespace,
      policy: this.policy,
      ...(targets.mode ? { mode: targets.mode } : {}),
      ...(targets.value !== undefined ? { value: targets.value } : {}),
      ...(random ? { random } : {}),
    });
  }

  private kindOf(kind: string): PodFaultKind {
    const k = podFaultKind(kind);
    if (!k) throw ApiError.invalid(`invalid experiment: /spec/fault/kind ${kind} is not a pod kind`, [{ field: '/spec/fault/kind', reason: 'is not a pod kind' }]);
    return k;
  }

  /** Injects a pod kind on one target; records a FaultInjected (or FaultFailed) Event on the pod. */
  async inject(req: PodFaultRequest): Promise<Record<string, unknown>> {
    const kind = this.kindOf(req.kind);
    const params = validate(kindSpec(req.kind)!.params, { ...req.params }, 'experiment', '/spec/fault/params');
    const ctx = { id: req.id, client: this.client, target: req.target, params, log: this.log, env: this.env };
    try {
      const state = await kind.inject(ctx);
      await this.event(req, 'FaultInjected', `${req.kind} injected by ${req.experiment}`);
      return state;
    } catch (err) {
      await this.event(req, 'FaultFailed', `${req.kind} by ${req.experiment} failed: ${(err as Error).message}`);
      throw err;
    }
  }

  async recover(req: PodFaultRequest, state: Record<string, unknown>): Promise<void> {
    const kind = this.kindOf(req.kind);
    const params = validate(kindSpec(req.kind)!.params, { ...req.params }, 'experiment', '/spec/fault/params');
    await kind.recover({ id: req.id, client: this.client, target: req.target, params, log: this.log, env: this.env }, state);
    await this.event(req, 'FaultRecovered', `${req.kind} recovered by ${req.experiment}`);
  }

  /** Events for node-level kinds, which the engine runs through the daemons itself. */
  async event(req: Pick<PodFaultRequest, 'target' | 'kind'>, reason: 'FaultInjected' | 'FaultRecovered' | 'FaultFailed', message: string): Promise<void> {
    if (this.config.events) await recordPodEvent(this.client, req.target, { reason, message, kind: req.kind }, this.log);
  }

  /**
   * Where a node-level kind acts for one pod: the daemon on the pod's node and {containerId}.
   * Network kinds get one target per pod (its containers share the netns); the others one per container.
   */
  async nodeTargets(pod: PodTarget, kind: string, daemonCache?: Map<string, Promise<DaemonRef>>): Promise<NodeTarget[]> {
    const spec = kindSpec(kind);
    if (!spec) throw ApiError.invalid(`invalid experiment: /spec/fault/kind ${kind} is not a known kind`, [{ field: '/spec/fault/kind', reason: 'is not a known kind' }]);
    if (!pod.node) throw ApiError.unprocessable(`pod ${pod.id} is not scheduled on a node`, [{ field: '/target', reason: 'pod has no node' }]);
    const running = pod.containers.filter((c) => c.containerId);
    if (running.length === 0) throw ApiError.unprocessable(`pod ${pod.id} has no running container`, [{ field: '/target', reason: 'no container has a containerID yet' }]);
    const node = pod.node;
    let lookup = daemonCache?.get(node);
    if (!lookup) {
      lookup = this.env.daemonForNode(node);
      daemonCache?.set(node, lookup);
    }
    const daemon = await lookup;
    const picked = spec.scope === 'network' ? running.slice(0, 1) : running;
    return picked.map((c) => ({
      daemon,
      target: { containerId: c.containerId as string },
      description: spec.scope === 'network' ? pod.id : `${pod.id}/${c.name}`,
    }));
  }
}

export { addKubernetesOptions, kubernetesConfigFrom, type KubernetesConfig } from './config';
export { KubeClient } from './client';
export type { PodTarget } from './select';
