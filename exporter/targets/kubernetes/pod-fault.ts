import type { Logger } from 'pino';
import type { KindSpec } from '../../../api/kinds/types';
import type { KubeClient } from './client';
import type { PodTarget } from './select';

// The contract of a pod-scoped fault kind in Kubernetes mode: like the daemon's FaultKind, but it
// acts through the API server (or, for container-kill, through the daemon on the pod's node).
// `inject` returns what `recover` needs; `recover` works from that state alone and is idempotent.

export interface PodFaultContext<P> {
  /** The fault id (experiment + target), used to name daemon faults and annotations. */
  id: string;
  client: KubeClient;
  target: PodTarget;
  params: P;
  log: Logger;
  /** Exporter settings the kinds need (pause image, how to reach a node's daemon). */
  env: PodFaultEnv;
}

export interface DaemonRef {
  /** Base URL of the daemon on the pod's node, e.g. http://10.0.0.5:9471 */
  url: string;
  node: string;
}

export interface PodFaultEnv {
  pauseImage: string;
  /** The daemon on `node` (the DaemonSet pod with the same spec.nodeName). */
  daemonForNode(node: string): Promise<DaemonRef>;
  /** POST /v1/faults and DELETE /v1/faults/:id on a daemon (the exporter's daemon client). */
  daemon: DaemonCaller;
}

export interface DaemonCaller {
  createFault(daemon: DaemonRef, request: Record<string, unknown>): Promise<unknown>;
  deleteFault(daemon: DaemonRef, id: string): Promise<void>;
}

export interface PodFaultKind<P = Record<string, unknown>, S extends Record<string, unknown> = Record<string, unknown>> {
  spec: KindSpec;
  inject(ctx: PodFaultContext<P>): Promise<S>;
  recover(ctx: PodFaultContext<P>, state: Partial<S>): Promise<void>;
}

export function definePodFault<P, S extends Record<string, unknown>>(kind: PodFaultKind<P, S>): PodFaultKind<P, S> {
  return kind;
}
